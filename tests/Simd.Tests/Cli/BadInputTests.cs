using System.Diagnostics;
using CsCheck;
using System.Text;
using System.Text.Json;
using Simd.Cli;
using Simd.Cli.Plotting;
using Simd.Kernels;
using Simd.Tests.Support;
using Simd.Training;
using Simd.Training.Models;
using StbImageWriteSharp;

namespace Simd.Tests.Cli;

/// <summary>
/// Inputs that used to end in a stack trace, an endless loop or a misleading message (issue 16): each is now one
/// line and a documented exit code, or works.
/// </summary>
public class BadInputTests(PredictModelFixture model) : IClassFixture<PredictModelFixture>
{
    private static (int Code, string Output, string Error) Run(params string[] args) =>
        CliRunner.Run([.. args, "--data", MnistFixture.Directory]);

    private static string OneLine(string error)
    {
        string line = Assert.Single(error.TrimEnd().Split('\n'));
        Assert.DoesNotContain('\0', line);
        return line;
    }

    [Theory]
    [InlineData(2.3, 2.3000000000000003)] // one ulp apart: this looped forever, allocating
    [InlineData(2.3, 2.3)]
    [InlineData(0, 0)]
    [InlineData(-1e-300, 1e-300)]
    [InlineData(-1.7e308, 1.7e308)]
    [InlineData(double.NaN, 1)]
    [InlineData(1e15, 1e15 + 0.25)]
    public void Ticks_are_few_and_finite_for_any_range(double min, double max)
    {
        double[] ticks = SvgChart.Ticks(ref min, ref max);
        Assert.InRange(ticks.Length, 2, 13);
        Assert.All(ticks, t => Assert.True(double.IsFinite(t)));
        Assert.True(min < max, $"{min} .. {max}");
    }

    [Fact]
    public void Ticks_of_random_ranges_are_few_finite_and_cover_the_range()
    {
        Gen.Select(Gen.Double, Gen.Double).Sample((a, b) =>
        {
            (double min, double max) = (Math.Min(a, b), Math.Max(a, b));
            (double lo, double hi) = (min, max);
            double[] ticks = SvgChart.Ticks(ref lo, ref hi);
            Assert.InRange(ticks.Length, 2, 13);
            Assert.All(ticks, t => Assert.True(double.IsFinite(t)));
            if (double.IsFinite(min) && double.IsFinite(max) && max - min > Math.Max(Math.Abs(min), Math.Abs(max)) * 1e-9)
            {
                double slack = (hi - lo) * 1e-6; // a bound a rounding away from a round tick is snapped to it
                Assert.True(lo <= min + slack && hi >= max - slack, $"[{lo}, {hi}] does not cover [{min}, {max}]");
            }
        }, iter: 2000);
    }

    [Fact]
    public void Plot_of_losses_one_ulp_apart_draws()
    {
        using var dir = new TempDirectory();
        File.WriteAllLines(dir.File("flat.csv"), [MetricsFile.CsvHeader, "step,0,,2.3,,", "step,1,,2.3000000000000003,,", "eval,0,0,2.3,0.1,0.1"]);
        (int code, string output, string error) = CliRunner.Run("plot", dir.File("flat.csv"), "-o", dir.File("flat.svg"));
        Assert.True(code == 0, error);
        Assert.StartsWith("wrote ", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("missing.csv", null, "missing.csv: no such file")]
    [InlineData("dir.csv", null, "dir.csv: is a directory")]
    [InlineData("run.txt", "step,0,,2.3,,", "run.txt: not a metrics file: the name must end in .csv or .jsonl (as 'simd train --metrics' writes them)")]
    [InlineData("keys.jsonl", "{\"kind\":\"step\",\"iteration\":0}", "keys.jsonl, line 1: not a metrics record of simd train --metrics (no \"loss\" field)")]
    [InlineData("kind.jsonl", "[1,2]", "kind.jsonl, line 1: not a metrics record of simd train --metrics (a JSON array, not an object)")]
    [InlineData("number.csv", "step,0,,two,,", "number.csv, line 1: not a metrics record of simd train --metrics ('two' is not a number)")]
    public void Plot_of_a_bad_metrics_file_is_a_data_error_without_option_names(string name, string? content, string expected)
    {
        using var dir = new TempDirectory();
        if (name == "dir.csv")
        {
            Directory.CreateDirectory(dir.File(name));
        }
        else if (content is not null)
        {
            File.WriteAllText(dir.File(name), content + "\n");
        }

        (int code, _, string error) = CliRunner.Run("plot", dir.File(name), "-o", dir.File("x.svg"));
        Assert.Equal(ExitCodes.DataError, code);
        string line = OneLine(error);
        Assert.Equal($"simd: {dir.Path}/{expected}", line);
        Assert.DoesNotContain("--metrics", line.Replace("simd train --metrics", "", StringComparison.Ordinal), StringComparison.Ordinal);
    }

    /// <summary>A model whose weights of 3e38 overflow the forward pass: finite parameters, a NaN loss and NaN probabilities.</summary>
    private static string OverflowingModel(TempDirectory dir)
    {
        using var network = new MultiLayerNet<float>(new NetworkShape(784, [4], 10), Activation.Relu, Isa.Best, seed: 1, maxBatch: 1);
        network.Parameters.Fill(3e38f);
        return ModelFile.Save(dir.File("huge.npz"), network);
    }

    [Fact]
    public void Eval_and_predict_json_write_null_for_numbers_json_cannot_hold()
    {
        using var dir = new TempDirectory();
        string path = OverflowingModel(dir);
        (int code, string output, string error) = Run("eval", "--model", path, "--json");
        Assert.True(code == 0, error);
        using (JsonDocument json = JsonDocument.Parse(output))
        {
            Assert.Equal(JsonValueKind.Null, json.RootElement.GetProperty("test").GetProperty("loss").ValueKind);
        }

        (code, output, error) = Run("predict", "--model", path, "--index", "0", "--json");
        Assert.True(code == 0, error);
        using (JsonDocument json = JsonDocument.Parse(output))
        {
            Assert.Contains(json.RootElement[0].GetProperty("probabilities").EnumerateArray(), p => p.ValueKind == JsonValueKind.Null);
        }
    }

    [Fact]
    public void Predict_refuses_devices_fifos_and_huge_files_at_once()
    {
        using var dir = new TempDirectory();
        using (Process mkfifo = Process.Start("mkfifo", [dir.File("pipe.png")])!)
        {
            mkfifo.WaitForExit();
        }

        using (var sparse = File.Create(dir.File("huge.png")))
        {
            sparse.SetLength(2L << 30); // 2 GiB that take no disk
        }

        long start = Stopwatch.GetTimestamp();
        foreach ((string path, string expected) in new[]
        {
            ("/dev/zero", "/dev/zero: is a device, FIFO or socket, not a regular file"),
            (dir.File("pipe.png"), "pipe.png: is a device, FIFO or socket, not a regular file"),
            (dir.File("huge.png"), "huge.png: 2,147,483,648 bytes is more than a picture of a digit needs (at most 67,108,864)"),
        })
        {
            (int code, _, string error) = CliRunner.Run("predict", "--model", model.Path, path);
            Assert.Equal(ExitCodes.DataError, code);
            Assert.EndsWith(expected, OneLine(error), StringComparison.Ordinal);
        }

        (int modelCode, _, string modelError) = CliRunner.Run("eval", "--model", dir.File("pipe.png"));
        Assert.Equal(ExitCodes.DataError, modelCode);
        Assert.EndsWith("pipe.png: is a device, FIFO or socket, not a regular file", OneLine(modelError), StringComparison.Ordinal);
        Assert.True(Stopwatch.GetElapsedTime(start) < TimeSpan.FromSeconds(5));
    }

    /// <summary>MNIST test image 0 (a 7), 3x larger, as black ink whose coverage is the alpha channel over nothing at all.</summary>
    private static string TransparentDigit(TempDirectory dir, bool grayAlpha)
    {
        ReadOnlySpan<byte> image = MnistFixture.Data.Test.Images.Span[..784];
        const int Side = 100;
        int channels = grayAlpha ? 2 : 4;
        var pixels = new byte[Side * Side * channels]; // every pixel (0, 0, 0, 0): transparent black
        for (int y = 0; y < 84; y++)
        {
            for (int x = 0; x < 84; x++)
            {
                pixels[((((y + 8) * Side) + x + 8) * channels) + channels - 1] = image[((y / 3) * 28) + (x / 3)];
            }
        }

        string path = dir.File(grayAlpha ? "ga.png" : "rgba.png");
        using var file = File.Create(path);
        new ImageWriter().WritePng(pixels, Side, Side, grayAlpha ? ColorComponents.GreyAlpha : ColorComponents.RedGreenBlueAlpha, file);
        return path;
    }

    [Fact]
    public void A_digit_on_a_transparent_background_is_composited_over_white()
    {
        using var dir = new TempDirectory();
        (int code, string output, string error) = CliRunner.Run("predict", "--model", model.Path, "--json", TransparentDigit(dir, false), TransparentDigit(dir, true));
        Assert.True(code == 0, error);
        using JsonDocument json = JsonDocument.Parse(output);
        Assert.All(json.RootElement.EnumerateArray(), e => Assert.Equal(MnistFixture.Data.Test.Labels.Span[0], e.GetProperty("prediction").GetInt32()));
    }

    [Fact]
    public void Damaged_and_oversized_pngs_say_what_they_are()
    {
        using var dir = new TempDirectory();
        using (var png = File.Create(dir.File("whole.png")))
        {
            new ImageWriter().WritePng(Enumerable.Range(0, 64 * 64).Select(i => (byte)(i * 7)).ToArray(), 64, 64, ColorComponents.Grey, png);
        }

        byte[] whole = File.ReadAllBytes(dir.File("whole.png"));
        File.WriteAllBytes(dir.File("half.png"), whole[..(whole.Length / 2)]);
        byte[] huge = [.. whole];
        huge[16] = 0; huge[17] = 0; huge[18] = 0x13; huge[19] = 0x88; // width 5000
        huge[20] = 0; huge[21] = 0; huge[22] = 0x13; huge[23] = 0x88; // height 5000
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(huge.AsSpan(29), System.IO.Hashing.Crc32.HashToUInt32(huge.AsSpan(12, 17))); // IHDR's CRC: a valid header
        File.WriteAllBytes(dir.File("huge.png"), huge);

        (int code, _, string error) = CliRunner.Run("predict", "--model", model.Path, dir.File("half.png"));
        Assert.Equal(ExitCodes.DataError, code);
        Assert.Matches(@"half\.png: a damaged PNG: chunk 'IDAT' claims [\d,]+ bytes, past the end of the file \(cut short or corrupt\)$", OneLine(error));
        Assert.DoesNotContain("SOI", error, StringComparison.Ordinal);

        (code, _, error) = CliRunner.Run("predict", "--model", model.Path, dir.File("huge.png"));
        Assert.Equal(ExitCodes.DataError, code);
        Assert.EndsWith("huge.png: 5000x5000 pixels is more than a digit needs (at most 16,777,216 pixels)", OneLine(error), StringComparison.Ordinal);
    }

    [Fact]
    public void An_index_that_is_not_a_number_and_a_name_with_a_newline_are_one_line()
    {
        (int code, _, string error) = CliRunner.Run("predict", "--model", model.Path, "--index", "abc");
        Assert.Equal(ExitCodes.UsageError, code);
        Assert.StartsWith("simd: --index must be a whole number, 0 or more (got 'abc')", OneLine(error), StringComparison.Ordinal);

        using var dir = new TempDirectory();
        (code, _, error) = CliRunner.Run("predict", "--model", model.Path, dir.File("two\nlines.png"));
        Assert.Equal(ExitCodes.DataError, code);
        Assert.EndsWith("two\\nlines.png: no such file", OneLine(error), StringComparison.Ordinal);
    }

    [Fact]
    public void Predict_takes_the_isa_path_it_is_given()
    {
        (int code, _, string error) = Run("predict", "--model", model.Path, "--index", "3", "--isa", "bogus");
        Assert.Equal(ExitCodes.UsageError, code);
        Assert.Contains("unknown ISA path 'bogus'", error, StringComparison.Ordinal);

        (code, string scalar, error) = Run("predict", "--model", model.Path, "--index", "3", "--isa", "scalar", "--json");
        Assert.True(code == 0, error);
        (code, string best, error) = Run("predict", "--model", model.Path, "--index", "3", "--json");
        Assert.True(code == 0, error);
        using JsonDocument a = JsonDocument.Parse(scalar), b = JsonDocument.Parse(best);
        double[] pa = [.. a.RootElement[0].GetProperty("probabilities").EnumerateArray().Select(p => p.GetDouble())];
        double[] pb = [.. b.RootElement[0].GetProperty("probabilities").EnumerateArray().Select(p => p.GetDouble())];
        Assert.All(pa.Zip(pb), p => Assert.Equal(p.First, p.Second, 1e-5));
    }

    [Fact]
    public void A_long_bad_value_in_a_model_file_is_quoted_short()
    {
        using var dir = new TempDirectory();
        using var network = new MultiLayerNet<float>(new NetworkShape(784, [4], 10), Activation.Relu, Isa.Best, seed: 1, maxBatch: 1);
        Npz.Write(dir.File("m.npz"), [.. ModelFile.ParameterArrays(network), NpyArray.Text(ModelFile.ActivationName, new string('x', 65_536))]);
        (int code, _, string error) = CliRunner.Run("eval", "--model", dir.File("m.npz"));
        Assert.Equal(ExitCodes.DataError, code);
        string line = OneLine(error);
        Assert.Contains("(65536 characters)' (sigmoid or relu)", line, StringComparison.Ordinal);
        Assert.True(line.Length < 400, $"{line.Length} characters");
    }
}
