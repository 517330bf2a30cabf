using System.Text;
using System.Text.Json;
using Simd.Cli;
using Simd.Cli.Commands;
using Simd.Mnist;
using Simd.Tests.Support;
using StbImageWriteSharp;

namespace Simd.Tests.Cli;

/// <summary>A small network trained once for the predict tests (ReLU, 1500 steps: about 95% on the test set), deleted after them.</summary>
public sealed class PredictModelFixture : IDisposable
{
    private readonly TempDirectory _dir = new();

    public PredictModelFixture()
    {
        Path = _dir.File("model.npz");
        (int code, _, string error) = CliRunner.Run("train", "--iters", "1500", "--activation", "relu", "--init", "he", "--hidden", "64", "--save", Path, "--data", MnistFixture.Directory);
        Assert.True(code == 0, error);
    }

    public string Path { get; }

    public void Dispose() => _dir.Dispose();
}

/// <summary>simd predict and the MNIST-style preparation of pictures, on pictures the tests draw.</summary>
public class PredictCommandTests(PredictModelFixture model) : IClassFixture<PredictModelFixture>
{
    private string ModelPath => model.Path;

    /// <summary>MNIST test image <paramref name="index"/> drawn 3x larger, dark ink on white, in a 110 x 120 picture off centre.</summary>
    private static (byte[] Gray, int Width, int Height, int Label) Picture(int index)
    {
        MnistSplit test = MnistFixture.Data.Test;
        ReadOnlySpan<byte> image = test.Images.Span.Slice(index * 784, 784);
        const int Width = 110, Height = 120;
        byte[] gray = [.. Enumerable.Repeat((byte)250, Width * Height)];
        for (int y = 0; y < 28 * 3; y++)
        {
            for (int x = 0; x < 28 * 3; x++)
            {
                gray[((y + 20) * Width) + x + 7] = (byte)(250 - (image[((y / 3) * 28) + (x / 3)] * 240 / 255));
            }
        }

        return (gray, Width, Height, test.Labels.Span[index]);
    }

    [Fact]
    public void A_picture_is_prepared_as_mnist_was()
    {
        (byte[] gray, int width, int height, _) = Picture(0);
        DigitImage digit = DigitImage.FromGrayscale(gray, width, height);
        Assert.True(digit.Inverted);
        byte[] p = digit.Pixels;
        int left = 28, right = -1, top = 28, bottom = -1;
        double mass = 0, cx = 0, cy = 0;
        for (int y = 0; y < 28; y++)
        {
            for (int x = 0; x < 28; x++)
            {
                if (p[(y * 28) + x] >= DigitImage.InkLevel)
                {
                    (left, right, top, bottom) = (Math.Min(left, x), Math.Max(right, x), Math.Min(top, y), Math.Max(bottom, y));
                }

                mass += p[(y * 28) + x];
                cx += (x + 0.5) * p[(y * 28) + x];
                cy += (y + 0.5) * p[(y * 28) + x];
            }
        }

        Assert.Equal(20, Math.Max(right - left + 1, bottom - top + 1)); // the larger side is 20 pixels
        Assert.InRange(cx / mass, 13.0, 15.0);                          // centre of mass at the centre, to the pixel
        Assert.InRange(cy / mass, 13.0, 15.0);
        Assert.Equal(255, p.Max());                                     // contrast stretched as MNIST's
    }

    [Fact]
    public void A_thin_bar_keeps_its_aspect_and_a_blank_picture_is_refused()
    {
        byte[] bar = new byte[60 * 60];
        for (int y = 10; y < 50; y++)
        {
            for (int x = 25; x < 35; x++)
            {
                bar[(y * 60) + x] = 200; // light on dark: no inversion
            }
        }

        DigitImage digit = DigitImage.FromGrayscale(bar, 60, 60);
        Assert.False(digit.Inverted);
        Assert.Equal((25, 10, 10, 40), digit.Box);
        int columns = Enumerable.Range(0, 28).Count(x => Enumerable.Range(0, 28).Any(y => digit.Pixels[(y * 28) + x] >= DigitImage.InkLevel));
        int rows = Enumerable.Range(0, 28).Count(y => Enumerable.Range(0, 28).Any(x => digit.Pixels[(y * 28) + x] >= DigitImage.InkLevel));
        Assert.Equal((5, 20), (columns, rows));
        Assert.Throws<ArgumentException>(() => DigitImage.FromGrayscale(Enumerable.Repeat((byte)90, 400).ToArray(), 20, 20));
    }

    /// <summary>The same digit as PNG, JPEG, BMP, binary and text PGM: each read, and all predicted as the label.</summary>
    [Fact]
    public void Every_format_reads_and_predicts_the_label()
    {
        using var dir = new TempDirectory();
        (byte[] gray, int width, int height, int label) = Picture(0);
        var writer = new ImageWriter();
        using (var png = File.Create(dir.File("digit.png")))
        {
            writer.WritePng(gray, width, height, StbImageWriteSharp.ColorComponents.Grey, png);
        }

        using (var jpg = File.Create(dir.File("digit.jpg")))
        {
            writer.WriteJpg(gray, width, height, StbImageWriteSharp.ColorComponents.Grey, jpg, 90);
        }

        using (var bmp = File.Create(dir.File("digit.bmp")))
        {
            writer.WriteBmp(gray, width, height, StbImageWriteSharp.ColorComponents.Grey, bmp);
        }

        File.WriteAllBytes(dir.File("digit.pgm"), [.. Encoding.ASCII.GetBytes($"P5\n# a comment\n{width} {height}\n255\n"), .. gray]);
        File.WriteAllText(dir.File("digit-text.pgm"), $"P2\n{width} {height}\n255\n" + string.Join(' ', gray));
        string[] files = ["digit.png", "digit.jpg", "digit.bmp", "digit.pgm", "digit-text.pgm"];
        (int code, string output, string error) = CliRunner.Run(["predict", "--model", ModelPath, "--json", .. files.Select(dir.File)]);
        Assert.True(code == 0, error);
        using JsonDocument json = JsonDocument.Parse(output);
        Assert.Equal(files.Length, json.RootElement.GetArrayLength());
        foreach (JsonElement result in json.RootElement.EnumerateArray())
        {
            Assert.Equal(label, result.GetProperty("prediction").GetInt32());
            Assert.Equal(1.0, result.GetProperty("probabilities").EnumerateArray().Sum(p => p.GetDouble()), 1e-9);
        }

        (code, output, error) = CliRunner.Run("predict", "--model", ModelPath, dir.File("digit.png"));
        Assert.True(code == 0, error);
        Assert.Contains("110x120 pixels, light background (inverted)", output, StringComparison.Ordinal);
        Assert.Contains($"prediction: {label}", output, StringComparison.Ordinal);
        Assert.Equal(16, output.Split('\n').Count(l => l.StartsWith('│') || l.StartsWith('┌') || l.StartsWith('└'))); // 14 lines of art, framed
    }

    [Fact]
    public void An_mnist_image_by_index_shows_its_label()
    {
        (int code, string output, string error) = CliRunner.Run("predict", "--model", ModelPath, "--index", "0", "--data", MnistFixture.Directory);
        Assert.True(code == 0, error);
        Assert.Contains($"mnist test #0: label {MnistFixture.Data.Test.Labels.Span[0]}", output, StringComparison.Ordinal);
        Assert.Matches(@"prediction: \d \((correct|wrong: the label is \d)\)", output);
    }

    [Theory]
    [InlineData("corrupt", "a damaged PNG: the file is cut short (no IEND chunk)")]
    [InlineData("truncated-pgm", "a damaged PGM: the samples are cut short")]
    [InlineData("blank", "no digit found: the image is blank")]
    [InlineData("missing", "no such file")]
    [InlineData("huge-pgm", "pixels (at most 16,777,216)")]
    public void Bad_pictures_are_refused_with_one_line_and_exit_code_2(string kind, string expected)
    {
        using var dir = new TempDirectory();
        string path = dir.File(kind + ".img");
        switch (kind)
        {
            case "corrupt": File.WriteAllBytes(path, [0x89, (byte)'P', (byte)'N', (byte)'G', 1, 2, 3]); break;
            case "truncated-pgm": File.WriteAllBytes(path, [.. "P5 10 10 255\n"u8, 1, 2, 3]); break;
            case "blank": File.WriteAllBytes(path, [.. "P5 10 10 255\n"u8, .. Enumerable.Repeat((byte)128, 100)]); break;
            case "huge-pgm": File.WriteAllBytes(path, [.. "P5 100000 100000 255\n"u8]); break;
        }

        (int code, _, string error) = CliRunner.Run("predict", "--model", ModelPath, path);
        Assert.Equal(ExitCodes.DataError, code);
        Assert.StartsWith($"simd: {path}: ", error, StringComparison.Ordinal);
        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.Single(error.TrimEnd().Split('\n'));
    }

    [Theory]
    [InlineData("predict", "--model", "M", "x.png", "--index", "1")]
    [InlineData("predict", "--model", "M")]
    [InlineData("predict", "--model", "M", "--index", "10000")]
    public void Pictures_and_an_index_are_one_or_the_other(params string[] args)
    {
        (int code, _, string error) = CliRunner.Run([.. args.Select(a => a == "M" ? ModelPath : a), "--data", MnistFixture.Directory]);
        Assert.Equal(ExitCodes.UsageError, code);
        Assert.Single(error.TrimEnd().Split('\n'));
    }

    [Fact]
    public void The_text_art_draws_two_pixel_rows_a_line()
    {
        byte[] pixels = new byte[784];
        pixels[0] = 255;            // (0, 0): upper half of line 1, column 1
        pixels[28 + 1] = 255;       // (1, 1): lower half of line 1, column 2
        pixels[2] = pixels[28 + 2] = 255; // both halves, column 3
        string[] lines = PredictCommand.Art(pixels).Split('\n');
        Assert.Equal("│▀▄█" + new string(' ', 25) + "│", lines[1]);
    }
}
