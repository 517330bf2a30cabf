using System.Buffers.Binary;
using System.Diagnostics;
using CsCheck;
using Simd.Mnist;
using Simd.Tests.Support;

namespace Simd.Tests.Mnist;

/// <summary>
/// Property tests of the IDX reader (CsCheck): small valid files, raw and gzipped, cut short, with bits
/// flipped, header values replaced (counts, dimensions, magic), bytes appended, and the gzip stream
/// itself damaged. Every input either loads consistently or raises the one documented
/// <see cref="MnistDataException"/>; none allocates more than a small multiple of its own size; none
/// takes more than a moment. A bounded number of random cases per run (CsCheck prints the seed of a
/// failure, so it can be replayed).
/// </summary>
public class IdxFuzzTests
{
    private const int CasesPerRun = 300;

    /// <summary>"A moment": far above the ~1 ms a case takes, far below a decompression bomb's seconds.</summary>
    private static readonly TimeSpan Moment = TimeSpan.FromSeconds(2);

    /// <summary>Header values worth trying besides random ones.</summary>
    private static readonly int[] InterestingValues = [0, 1, -1, 28, 3, 60_000, int.MaxValue, int.MinValue, 0x00000803, 0x00000801, 0x00000808, 1 << 24];

    private enum Wrapping
    {
        Raw,
        MutateThenGzip,
        GzipThenMutate,
    }

    private enum Damage
    {
        Truncate,
        FlipBits,
        ReplaceHeaderValue,
        AppendBytes,
    }

    private sealed record Case(IdxKind Kind, Wrapping Wrapping, Damage Damage, int A, int B)
    {
        public override string ToString() => $"{Kind} {Wrapping} {Damage} a={A} b={B}";
    }

    private static readonly Gen<Case> Cases =
        Gen.Select(Gen.Enum<IdxKind>(), Gen.Enum<Wrapping>(), Gen.Enum<Damage>(), Gen.Int[0, int.MaxValue], Gen.Int,
            (kind, wrapping, damage, a, b) => new Case(kind, wrapping, damage, a, b));

    [Fact]
    public void Damaged_files_load_or_fail_with_the_data_exception_cheaply()
    {
        using var dir = new TempDirectory();
        int counter = 0;
        Cases.Sample(c =>
        {
            byte[] bytes = Build(c);
            string path = dir.File($"case{Interlocked.Increment(ref counter)}");
            File.WriteAllBytes(path, bytes);
            long before = GC.GetAllocatedBytesForCurrentThread();
            long start = Stopwatch.GetTimestamp();
            try
            {
                IdxFile file = IdxReader.Read(path, c.Kind);
                long elements = file.Dimensions.Aggregate(1L, (product, size) => product * size);
                Assert.Equal(elements, file.Data.Length);
            }
            catch (MnistDataException e)
            {
                Assert.Equal(path, e.File);
                Assert.DoesNotContain('\n', e.Message);
            }

            TimeSpan took = Stopwatch.GetElapsedTime(start);
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.True(took < Moment, $"{c}: took {took.TotalMilliseconds:F0} ms");
            long budget = AllocationBudget(bytes.Length, Base(c.Kind).Length);
            Assert.True(allocated <= budget, $"{c}: allocated {allocated} bytes for a {bytes.Length}-byte file (budget {budget})");
            File.Delete(path);
        }, iter: CasesPerRun, threads: 1);
    }

    /// <summary>The fetcher's in-memory path (a downloaded .gz) under the same damage.</summary>
    [Fact]
    public void Damaged_downloads_gunzip_or_fail_with_the_data_exception_cheaply()
    {
        Cases.Where(c => c.Wrapping != Wrapping.Raw).Sample(c =>
        {
            byte[] bytes = Build(c);
            if (!IdxReader.IsGzip(bytes))
            {
                return;
            }

            long before = GC.GetAllocatedBytesForCurrentThread();
            try
            {
                IdxReader.Parse(IdxReader.Gunzip(bytes, "download"), "download", c.Kind);
            }
            catch (MnistDataException e)
            {
                Assert.Equal("download", e.File);
            }

            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            long budget = AllocationBudget(bytes.Length, Base(c.Kind).Length);
            Assert.True(allocated <= budget, $"{c}: allocated {allocated} bytes for {bytes.Length} bytes (budget {budget})");
        }, iter: CasesPerRun, threads: 1);
    }

    /// <summary>
    /// A few MB of gzipped zeros named like MNIST (the report's 2 GiB bomb, smaller): the header is read
    /// first, so it is rejected after a few bytes, quickly and with little memory.
    /// </summary>
    [Fact]
    public void A_gzip_bomb_is_rejected_by_its_header_without_decompressing_it()
    {
        using var dir = new TempDirectory();
        byte[] bomb = IdxBuilder.Gzip(new byte[64 << 20]); // 64 MiB of zeros, ~64 KB gzipped
        string path = dir.File("train-images-idx3-ubyte.gz");
        File.WriteAllBytes(path, bomb);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<MnistDataException>(() => IdxReader.Read(path, IdxKind.Images));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal("wrong magic number 0x00000000 (expected 0x00000803 for IDX unsigned-byte images)", e.Problem);
        Assert.True(allocated < 2 << 20, $"allocated {allocated} bytes");
    }

    /// <summary>A valid header for 10 images followed by 64 MiB of zeros: read to the header's size plus one byte, then refused.</summary>
    [Fact]
    public void Data_past_the_header_size_is_refused_after_one_byte()
    {
        using var dir = new TempDirectory();
        byte[] header = IdxBuilder.Images(10)[..16];
        byte[] content = new byte[header.Length + (64 << 20)];
        header.CopyTo(content, 0);
        string path = dir.File("images.gz");
        File.WriteAllBytes(path, IdxBuilder.Gzip(content));
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<MnistDataException>(() => IdxReader.Read(path, IdxKind.Images));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal("unexpected bytes after the 10 x 28 x 28 data (the header says 7,840 bytes of data)", e.Problem);
        Assert.True(allocated < 2 << 20, $"allocated {allocated} bytes");

        File.WriteAllBytes(dir.File("images"), IdxBuilder.Images(10, extraBytes: 3));
        Assert.Equal("3 unexpected bytes after the 10 x 28 x 28 data (the header says 7,840 bytes of data)",
            Assert.Throws<MnistDataException>(() => IdxReader.Read(dir.File("images"), IdxKind.Images)).Problem);
    }

    /// <summary>A header that promises 2 GB of data in a file of a few bytes: truncated, and the buffer stays small.</summary>
    [Fact]
    public void A_header_promising_more_than_the_file_holds_allocates_only_what_arrives()
    {
        using var dir = new TempDirectory();
        byte[] content = IdxBuilder.Images(3);
        BinaryPrimitives.WriteInt32BigEndian(content.AsSpan(4), 2_000_000);
        foreach ((string name, byte[] bytes) in (ReadOnlySpan<(string, byte[])>)[("raw", content), ("gz", IdxBuilder.Gzip(content))])
        {
            File.WriteAllBytes(dir.File(name), bytes);
            long before = GC.GetAllocatedBytesForCurrentThread();
            var e = Assert.Throws<MnistDataException>(() => IdxReader.Read(dir.File(name), IdxKind.Images));
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.StartsWith("truncated: the header says 2000000 x 28 x 28", e.Problem, StringComparison.Ordinal);
            Assert.True(allocated < 1 << 20, $"{name}: allocated {allocated} bytes");
        }

        BinaryPrimitives.WriteInt32BigEndian(content.AsSpan(4), int.MaxValue);
        File.WriteAllBytes(dir.File("huge"), content);
        Assert.StartsWith("the header's dimensions (2147483647 x 28 x 28) need more than",
            Assert.Throws<MnistDataException>(() => IdxReader.Read(dir.File("huge"), IdxKind.Images)).Problem, StringComparison.Ordinal);
    }

    /// <summary>What a case may allocate: a fixed 2 MiB (buffers, exception text) plus 16 times the file and the content it came from.</summary>
    private static long AllocationBudget(int fileLength, int baseLength) => (2L << 20) + (16L * (fileLength + baseLength));

    private static byte[] Base(IdxKind kind) => kind == IdxKind.Images ? IdxBuilder.Images(3) : IdxBuilder.Labels(11);

    private static byte[] Build(Case c)
    {
        byte[] content = Base(c.Kind);
        return c.Wrapping switch
        {
            Wrapping.Raw => Apply(content, c, headerAware: true),
            Wrapping.MutateThenGzip => IdxBuilder.Gzip(Apply(content, c, headerAware: true)),
            _ => Apply(IdxBuilder.Gzip(content), c, headerAware: false),
        };
    }

    private static byte[] Apply(byte[] bytes, Case c, bool headerAware)
    {
        var random = new Random(c.A);
        switch (c.Damage)
        {
            case Damage.Truncate:
                return bytes[..(c.A % (bytes.Length + 1))];
            case Damage.FlipBits:
                byte[] flipped = (byte[])bytes.Clone();
                for (int i = 0, count = 1 + (c.B & 7); i < count; i++)
                {
                    // Half the flips land in the first 24 bytes: the IDX header, or gzip's header and first block.
                    int at = random.Next(2) == 0 ? random.Next(Math.Min(24, flipped.Length)) : random.Next(flipped.Length);
                    flipped[at] ^= (byte)(1 << random.Next(8));
                }

                return flipped;
            case Damage.ReplaceHeaderValue:
                byte[] replaced = (byte[])bytes.Clone();
                // IDX: the magic or a dimension; gzip: its header, or the CRC / ISIZE trailer.
                int offset = headerAware
                    ? 4 * random.Next(Math.Min(4, replaced.Length / 4))
                    : random.Next(2) == 0 ? 4 * random.Next(3) : replaced.Length - (4 * (1 + random.Next(2)));
                int value = random.Next(2) == 0 ? InterestingValues[random.Next(InterestingValues.Length)] : c.B;
                BinaryPrimitives.WriteInt32BigEndian(replaced.AsSpan(offset), value);
                return replaced;
            default:
                byte[] longer = new byte[bytes.Length + 1 + (c.A % 100)];
                bytes.CopyTo(longer, 0);
                random.NextBytes(longer.AsSpan(bytes.Length));
                return longer;
        }
    }
}
