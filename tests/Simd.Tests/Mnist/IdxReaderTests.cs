using Simd.Mnist;
using Simd.Tests.Support;

namespace Simd.Tests.Mnist;

/// <summary>The IDX reader and the MNIST loader: good files raw and gzipped, and every kind of bad file with its documented error.</summary>
public class IdxReaderTests
{
    [Fact]
    public void Raw_and_gzipped_files_read_the_same()
    {
        using var dir = new TempDirectory();
        byte[] content = IdxBuilder.Images(4);
        File.WriteAllBytes(dir.File("raw"), content);
        File.WriteAllBytes(dir.File("zipped"), IdxBuilder.Gzip(content));

        IdxFile raw = IdxReader.Read(dir.File("raw"), IdxKind.Images);
        IdxFile zipped = IdxReader.Read(dir.File("zipped"), IdxKind.Images);
        Assert.Equal([4, 28, 28], raw.Dimensions);
        Assert.Equal(raw.Dimensions, zipped.Dimensions);
        Assert.Equal(content.AsSpan(16).ToArray(), raw.Data.ToArray());
        Assert.Equal(raw.Data.ToArray(), zipped.Data.ToArray());
    }

    [Fact]
    public void Gzip_is_detected_by_content_not_by_name()
    {
        using var dir = new TempDirectory();
        byte[] content = IdxBuilder.Labels(6);
        File.WriteAllBytes(dir.File("labels.gz"), content);          // raw, misleadingly named
        File.WriteAllBytes(dir.File("labels.bin"), IdxBuilder.Gzip(content)); // gzip, no .gz
        Assert.Equal(6, IdxReader.Read(dir.File("labels.gz"), IdxKind.Labels).Count);
        Assert.Equal(6, IdxReader.Read(dir.File("labels.bin"), IdxKind.Labels).Count);
    }

    [Fact]
    public void Wrong_magic_is_reported()
    {
        var e = Assert.Throws<MnistDataException>(() => IdxReader.Parse(IdxBuilder.Labels(3), "labels", IdxKind.Images));
        Assert.Equal("labels", e.File);
        Assert.Equal("wrong magic number 0x00000801 (expected 0x00000803 for IDX unsigned-byte images)", e.Problem);
    }

    [Fact]
    public void Truncated_data_is_reported()
    {
        var e = Assert.Throws<MnistDataException>(() => IdxReader.Parse(IdxBuilder.Images(2, missingBytes: 10), "images", IdxKind.Images));
        Assert.Equal("truncated: the header says 2 x 28 x 28 = 1568 bytes of data, the file has 1558", e.Problem);

        var header = Assert.Throws<MnistDataException>(() => IdxReader.Parse(IdxBuilder.Images(2)[..9], "images", IdxKind.Images));
        Assert.Equal("truncated: 9 bytes, the IDX header needs 16", header.Problem);

        var tiny = Assert.Throws<MnistDataException>(() => IdxReader.Parse([0, 0], "images", IdxKind.Images));
        Assert.StartsWith("truncated: 2 bytes", tiny.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Bytes_after_the_data_are_reported()
    {
        var e = Assert.Throws<MnistDataException>(() => IdxReader.Parse(IdxBuilder.Images(1, extraBytes: 5), "images", IdxKind.Images));
        Assert.Equal("5 unexpected bytes after the 1 x 28 x 28 data", e.Problem);
    }

    [Fact]
    public void Non_positive_dimension_is_reported()
    {
        byte[] content = IdxBuilder.Build(0x00000803, [0, 28, 28], 0, seed: 1);
        var e = Assert.Throws<MnistDataException>(() => IdxReader.Parse(content, "images", IdxKind.Images));
        Assert.Equal("dimension 0 is 0, must be positive", e.Problem);
    }

    [Fact]
    public void Corrupt_gzip_is_reported()
    {
        using var dir = new TempDirectory();
        byte[] gz = IdxBuilder.Gzip(IdxBuilder.Images(3));
        for (int i = 12; i < gz.Length - 8; i += 7)
        {
            gz[i] ^= 0x5a;
        }

        File.WriteAllBytes(dir.File("bad.gz"), gz);
        var e = Assert.Throws<MnistDataException>(() => IdxReader.Read(dir.File("bad.gz"), IdxKind.Images));
        Assert.StartsWith("corrupt gzip data", e.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Truncated_gzip_is_reported_as_corrupt_or_truncated()
    {
        using var dir = new TempDirectory();
        byte[] gz = IdxBuilder.Gzip(IdxBuilder.Images(3));
        File.WriteAllBytes(dir.File("cut.gz"), gz[..(gz.Length / 2)]);
        var e = Assert.Throws<MnistDataException>(() => IdxReader.Read(dir.File("cut.gz"), IdxKind.Images));
        Assert.True(e.Problem.StartsWith("corrupt gzip data", StringComparison.Ordinal) || e.Problem.StartsWith("truncated", StringComparison.Ordinal), e.Problem);
    }

    [Fact]
    public void Missing_file_is_reported()
    {
        using var dir = new TempDirectory();
        var e = Assert.Throws<MnistDataException>(() => IdxReader.Read(dir.File("nope"), IdxKind.Labels));
        Assert.Equal("not found", e.Problem);
    }

    [Fact]
    public void Loader_accepts_a_consistent_set_raw_or_gzipped()
    {
        foreach (bool gzipped in (bool[])[false, true])
        {
            using var dir = new TempDirectory();
            IdxBuilder.WriteSmallSet(dir.Path, gzipped);
            MnistData data = MnistData.Load(dir.Path);
            Assert.Equal(5, data.Train.Count);
            Assert.Equal(3, data.Test.Count);
            Assert.Equal(5 * 784, data.Train.Images.Length);
            Assert.All(data.Train.Labels.ToArray(), l => Assert.InRange(l, (byte)0, (byte)9));
        }
    }

    [Fact]
    public void Loader_reports_count_mismatch()
    {
        using var dir = new TempDirectory();
        IdxBuilder.WriteSmallSet(dir.Path, gzipped: false);
        IdxBuilder.Write(dir.Path, "train-labels-idx1-ubyte", IdxBuilder.Labels(4), gzipped: false);
        var e = Assert.Throws<MnistDataException>(() => MnistData.Load(dir.Path));
        Assert.Equal(dir.File("train-labels-idx1-ubyte"), e.File);
        Assert.Equal($"count mismatch: 4 labels for 5 images in {dir.File("train-images-idx3-ubyte")}", e.Problem);
    }

    [Fact]
    public void Loader_reports_a_label_above_9()
    {
        using var dir = new TempDirectory();
        IdxBuilder.WriteSmallSet(dir.Path, gzipped: true);
        byte[] labels = IdxBuilder.Labels(3);
        labels[8 + 1] = 10;
        IdxBuilder.Write(dir.Path, "t10k-labels-idx1-ubyte", labels, gzipped: true);
        var e = Assert.Throws<MnistDataException>(() => MnistData.Load(dir.Path));
        Assert.Equal(dir.File("t10k-labels-idx1-ubyte.gz"), e.File);
        Assert.Equal("label 10 at index 1 is out of range 0-9", e.Problem);
    }

    [Fact]
    public void Loader_reports_images_that_are_not_28_by_28()
    {
        using var dir = new TempDirectory();
        IdxBuilder.WriteSmallSet(dir.Path, gzipped: false);
        IdxBuilder.Write(dir.Path, "t10k-images-idx3-ubyte", IdxBuilder.Images(3, 32, 32), gzipped: false);
        var e = Assert.Throws<MnistDataException>(() => MnistData.Load(dir.Path));
        Assert.Equal("images are 32 x 32, expected 28 x 28", e.Problem);
    }

    [Fact]
    public void Loader_reports_a_missing_file_with_what_to_do()
    {
        using var dir = new TempDirectory();
        IdxBuilder.WriteSmallSet(dir.Path, gzipped: false);
        File.Delete(dir.File("t10k-images-idx3-ubyte"));
        var e = Assert.Throws<MnistDataException>(() => MnistData.Load(dir.Path));
        Assert.Contains("not found (neither t10k-images-idx3-ubyte nor t10k-images-idx3-ubyte.gz)", e.Problem, StringComparison.Ordinal);
        Assert.Contains("simd data fetch", e.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Real_mnist_loads_with_the_known_label_counts()
    {
        MnistData data = MnistFixture.Data;
        Assert.Equal(60_000, data.Train.Count);
        Assert.Equal(10_000, data.Test.Count);
        Assert.Equal([5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949], Histogram(data.Train.Labels.Span));
        Assert.Equal([980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009], Histogram(data.Test.Labels.Span));
    }

    [Fact]
    public void Real_mnist_verifies_against_the_published_checksums()
    {
        IReadOnlyList<MnistFileCheck> checks = MnistVerifier.CheckAll(MnistFixture.Directory);
        Assert.All(checks, c => Assert.True(c.Ok, $"{c.File.Name}: {c.Problem}"));
        Assert.Equal(["60000 x 28 x 28", "60000", "10000 x 28 x 28", "10000"], checks.Select(c => c.Shape));
    }

    [Fact]
    public void Verifier_reports_a_checksum_mismatch_and_a_missing_file()
    {
        using var dir = new TempDirectory();
        IdxBuilder.WriteSmallSet(dir.Path, gzipped: false);
        File.Delete(dir.File("train-labels-idx1-ubyte"));
        IReadOnlyList<MnistFileCheck> checks = MnistVerifier.CheckAll(dir.Path);
        Assert.StartsWith("SHA-256 mismatch: expected ba891046", checks[0].Problem, StringComparison.Ordinal);
        Assert.Equal("5 x 28 x 28", checks[0].Shape);
        Assert.Equal("missing (neither train-labels-idx1-ubyte nor train-labels-idx1-ubyte.gz)", checks[1].Problem);
    }

    private static int[] Histogram(ReadOnlySpan<byte> labels)
    {
        var counts = new int[10];
        foreach (byte label in labels)
        {
            counts[label]++;
        }

        return counts;
    }
}
