using System.Buffers.Binary;
using System.IO.Compression;
using System.Text.RegularExpressions;
using Simd.Cli;
using Simd.Tests.Support;

namespace Simd.Tests.Cli;

/// <summary>simd misclassified (ch08/misclassified_mnist.py): the book's printout, the SVG grid, the PNG, bad options.</summary>
public class MisclassifiedCommandTests
{
    private static (int Code, string Output, string Error) RunSmall(params string[] args) => CliRunner.Run([.. args, "--data", SmallMnist.Directory]);

    private static string TrainedModel(TempDirectory dir)
    {
        // A few steps of a small convnet: many of the 500 test images are still wrong.
        (int code, _, string error) = RunSmall("train", "--layers", "conv2x3p1-relu-pool2-affine10", "--iters", "3", "--batch", "10", "--save", dir.File("m.npz"));
        Assert.True(code == 0, error);
        return dir.File("m.npz");
    }

    /// <summary>
    /// The book's ch08 weights: misclassified_mnist.py run with the book's numpy code on these weights and the test set
    /// (its load_mnist swapped for a reader of the same gzipped IDX files) printed accuracy 0.9797 and these 20 pairs.
    /// </summary>
    [Simd.Tests.Training.BookFileFact("ch08/deep_convnet_params.pkl")]
    public void The_books_ch08_weights_give_the_pairs_its_numpy_code_prints()
    {
        using var dir = new TempDirectory();
        (int code, string output, string error) = CliRunner.Run("misclassified", "--model", Simd.Tests.Training.BookPickleTests.BookFile("ch08/deep_convnet_params.pkl"),
            "--net", "deep-convnet", "--data", MnistFixture.Directory, "-o", dir.File("m.svg"));
        Assert.True(code == 0, error);
        Assert.Contains("test accuracy: 0.9797 (203 of 10000 images misclassified)", output, StringComparison.Ordinal);
        Assert.Contains("{1: (9, 8), 2: (9, 8), 3: (9, 8), 4: (6, 0), 5: (8, 5), 6: (9, 8), 7: (2, 7), 8: (6, 0), 9: (4, 1), 10: (4, 9), 11: (3, 2), " +
            "12: (8, 2), 13: (8, 2), 14: (1, 8), 15: (3, 9), 16: (7, 2), 17: (1, 7), 18: (5, 8), 19: (4, 9), 20: (4, 9)}", output, StringComparison.Ordinal);
    }

    [Fact]
    public void It_prints_the_books_pairs_and_draws_that_many_images_as_svg()
    {
        using var dir = new TempDirectory();
        string model = TrainedModel(dir);
        (int code, string output, string error) = RunSmall("misclassified", "--model", model, "--count", "7", "-o", dir.File("m.svg"));
        Assert.True(code == 0, error);
        Match accuracy = Regex.Match(output, @"test accuracy: (0\.\d{4}) \((\d+) of 500 images misclassified\)");
        Assert.True(accuracy.Success, output);
        int wrong = int.Parse(accuracy.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(500 - wrong, (int)Math.Round(double.Parse(accuracy.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) * 500));
        Assert.True(wrong >= 7, $"the test needs at least 7 mistakes, the model made {wrong}");

        // The pairs are (label, prediction) of images whose prediction differs, and the SVG captions say the same.
        MatchCollection pairs = Regex.Matches(output.Split('\n').Single(l => l.StartsWith("{1:", StringComparison.Ordinal)), @"(\d+): \((\d), (\d)\)");
        Assert.Equal(7, pairs.Count);
        string svg = File.ReadAllText(dir.File("m.svg"));
        Assert.Equal(7, Regex.Count(svg, "<image "));
        for (int i = 0; i < 7; i++)
        {
            Assert.Equal((i + 1).ToString(System.Globalization.CultureInfo.InvariantCulture), pairs[i].Groups[1].Value);
            Assert.NotEqual(pairs[i].Groups[2].Value, pairs[i].Groups[3].Value);
        }

        Assert.Equal(pairs.Select(p => $"label {p.Groups[2].Value} → {p.Groups[3].Value}"), Regex.Matches(svg, @"label \d → \d").Select(m => m.Value));
        Assert.Contains($"the first 7 of {wrong} misclassified test images", svg, StringComparison.Ordinal);
    }

    [Fact]
    public void Png_is_a_valid_grayscale_picture_of_the_grid()
    {
        using var dir = new TempDirectory();
        string model = TrainedModel(dir);
        (int code, string output, string error) = RunSmall("misclassified", "--model", model, "--count", "6", "--png", "-o", dir.File("m.png"));
        Assert.True(code == 0, error);
        Assert.Contains($"wrote {dir.File("m.png")}: 6 images", output, StringComparison.Ordinal);

        byte[] png = File.ReadAllBytes(dir.File("m.png"));
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A], png[..8]);
        int at = 8, width = 0, height = 0;
        var idat = new MemoryStream();
        var types = new List<string>();
        while (at < png.Length)
        {
            int length = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(at));
            string type = System.Text.Encoding.ASCII.GetString(png, at + 4, 4);
            ReadOnlySpan<byte> body = png.AsSpan(at + 8, length);
            Assert.Equal(BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(at + 8 + length)), Crc32(png.AsSpan(at + 4, length + 4)));
            if (type == "IHDR")
            {
                (width, height) = (BinaryPrimitives.ReadInt32BigEndian(body), BinaryPrimitives.ReadInt32BigEndian(body[4..]));
                Assert.Equal([8, 0, 0, 0, 0], body[8..].ToArray()); // 8-bit grayscale, deflate, no interlace
            }
            else if (type == "IDAT")
            {
                idat.Write(body);
            }

            types.Add(type);
            at += 12 + length;
        }

        Assert.Equal(["IHDR", "IDAT", "IEND"], types);
        idat.Position = 0;
        using var inflate = new ZLibStream(idat, CompressionMode.Decompress);
        using var rows = new MemoryStream();
        inflate.CopyTo(rows);
        Assert.Equal(height * (width + 1), rows.Length); // a filter byte and the pixels, row after row
        Assert.Equal(2, (height - 16) / (84 + 20)); // 6 images, 5 to a row: two rows of cells
        Assert.Contains(rows.ToArray(), b => b == 0); // ink and captions are black

        // A real decoder reads the same picture.
        StbImageSharp.ImageResult decoded = StbImageSharp.ImageResult.FromMemory(png, StbImageSharp.ColorComponents.Grey);
        Assert.Equal((width, height), (decoded.Width, decoded.Height));
        byte[] raw = rows.ToArray();
        Assert.Equal(Enumerable.Range(0, height).SelectMany(y => raw.Skip((y * (width + 1)) + 1).Take(width)), decoded.Data);
    }

    [Theory]
    [InlineData("--output x.png: the name must end in .svg (or give --png for a .png)", "-o", "x.png")]
    [InlineData("--output x.svg: the name must end in .png", "--png", "-o", "x.svg")]
    [InlineData("--count must be a positive integer (got 0)", "--count", "0")]
    public void Bad_options_are_one_usage_line(string expected, params string[] options)
    {
        using var dir = new TempDirectory();
        string[] args = [.. options.Select(o => o.EndsWith(".png", StringComparison.Ordinal) || o.EndsWith(".svg", StringComparison.Ordinal) ? dir.File(o) : o)];
        (int code, _, string error) = RunSmall(["misclassified", "--model", dir.File("none.npz"), .. args]);
        Assert.Equal(ExitCodes.UsageError, code);
        string line = Assert.Single(error.Trim().Split('\n'));
        Assert.Contains(expected.Replace("x.", dir.File("x."), StringComparison.Ordinal), line, StringComparison.Ordinal);
    }

    private static uint Crc32(ReadOnlySpan<byte> bytes)
    {
        uint crc = 0xFFFFFFFFu;
        foreach (byte b in bytes)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++)
            {
                crc = (crc & 1) != 0 ? 0xEDB88320u ^ (crc >> 1) : crc >> 1;
            }
        }

        return crc ^ 0xFFFFFFFFu;
    }
}
