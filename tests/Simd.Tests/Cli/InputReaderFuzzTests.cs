using System.Diagnostics;
using CsCheck;
using Simd.Cli;
using Simd.Cli.Commands;
using Simd.Tests.Support;
using StbImageWriteSharp;

namespace Simd.Tests.Cli;

/// <summary>
/// Property tests (CsCheck) of the metrics reader and the picture readers, as the IDX and .npz readers have: damaged
/// and random inputs either read or raise the one documented <see cref="InputDataException"/> (exit 2, one line
/// naming the file), quickly and with little memory.
/// </summary>
public class InputReaderFuzzTests
{
    private const int CasesPerRun = 300;

    private static readonly TimeSpan Moment = TimeSpan.FromSeconds(2);

    private static readonly string[] ValidMetrics =
    [
        MetricsFile.CsvHeader, "step,0,,2.302,,", "step,1,,2.25,,", "eval,0,0,2.3,0.1,0.11", "eval,600,1,NaN,0.5,0.52", "eval,1000,end,0.4,0.9,0.91",
    ];

    private static readonly string[] ValidJsonMetrics =
    [
        "{\"kind\":\"step\",\"iteration\":0,\"loss\":2.3}", "{\"kind\":\"eval\",\"iteration\":0,\"epoch\":\"0\",\"loss\":\"NaN\",\"train_acc\":0.1,\"test_acc\":0.1}",
    ];

    private static readonly Lazy<byte[]> ValidPng = new(() =>
    {
        using var stream = new MemoryStream();
        byte[] pixels = [.. Enumerable.Range(0, 40 * 40).Select(i => (byte)(i % 40 is > 10 and < 30 && i / 40 is > 5 and < 35 ? 0 : 255))];
        new ImageWriter().WritePng(pixels, 40, 40, ColorComponents.Grey, stream);
        return stream.ToArray();
    });

    private static void Check(string path, Action read)
    {
        long before = GC.GetAllocatedBytesForCurrentThread(), start = Stopwatch.GetTimestamp();
        try
        {
            read();
        }
        catch (InputDataException e)
        {
            Assert.StartsWith(path, e.Message, StringComparison.Ordinal);
            Assert.DoesNotContain('\n', e.Message);
        }

        Assert.True(Stopwatch.GetElapsedTime(start) < Moment, $"{path}: took {Stopwatch.GetElapsedTime(start).TotalMilliseconds:F0} ms");
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before, size = new FileInfo(path).Length;
        Assert.True(allocated < (64 * size) + (16 << 20), $"{path}: allocated {allocated} bytes for {size}");
    }

    [Fact]
    public void Damaged_metrics_files_read_or_fail_with_one_line()
    {
        using var dir = new TempDirectory();
        int counter = 0;
        Gen.Select(Gen.Bool, Gen.Int[0, 5], Gen.Int[0, 200], Gen.Char.Array[0, 12]).Sample((json, line, at, junk) =>
        {
            string[] lines = [.. json ? ValidJsonMetrics : ValidMetrics];
            int l = line % lines.Length;
            string text = lines[l];
            int cut = Math.Min(at, text.Length);
            lines[l] = text[..cut] + new string(junk) + text[cut..];
            string path = dir.File($"m{Interlocked.Increment(ref counter)}.{(json ? "jsonl" : "csv")}");
            File.WriteAllText(path, string.Join('\n', lines));
            Check(path, () => MetricsFile.Read(path));
        }, iter: CasesPerRun, threads: 1);
    }

    [Fact]
    public void Random_bytes_as_metrics_read_or_fail_with_one_line()
    {
        using var dir = new TempDirectory();
        int counter = 0;
        Gen.Byte.Array[0, 4000].Select(Gen.Bool).Sample((bytes, json) =>
        {
            string path = dir.File($"r{Interlocked.Increment(ref counter)}.{(json ? "jsonl" : "csv")}");
            File.WriteAllBytes(path, bytes);
            Check(path, () => MetricsFile.Read(path));
        }, iter: CasesPerRun, threads: 1);
    }

    /// <summary>
    /// The case the fuzz test below found (seed 8_dcrkPRbRp1): a graymap header claiming 4120 x 4072 pixels over 83 bytes of
    /// samples. It fails as cut short before its 16.8 MB of pixels are allocated; in text form too.
    /// </summary>
    [Theory]
    [InlineData("P5 4120 4072 255\n")]
    [InlineData("P5 4120 4072 65535\n")]
    [InlineData("P2 4120 4072 255\n")]
    public void A_graymap_claiming_more_pixels_than_its_bytes_fails_before_allocating_them(string header)
    {
        using var dir = new TempDirectory();
        string path = dir.File("claims.pgm");
        File.WriteAllBytes(path, [.. System.Text.Encoding.ASCII.GetBytes(header), .. new byte[83]]);
        long before = GC.GetAllocatedBytesForCurrentThread();
        InputDataException e = Assert.Throws<InputDataException>(() => PredictCommand.FromPicture(path));
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1 << 20, "the pixels were allocated");
        Assert.Contains("cut short", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void Damaged_pictures_read_or_fail_with_one_line()
    {
        using var dir = new TempDirectory();
        int counter = 0;
        Gen.Select(Gen.Int[0, 3], Gen.Int[0, int.MaxValue], Gen.Int).Sample((damage, a, seed) =>
        {
            byte[] bytes = [.. ValidPng.Value];
            var random = new Random(seed);
            switch (damage)
            {
                case 0: bytes = bytes[..(a % bytes.Length)]; break;                          // cut short
                case 1: bytes[a % bytes.Length] ^= (byte)(1 << random.Next(8)); break;       // a bit flipped
                case 2: bytes[8 + (a % 25)] = (byte)random.Next(256); break;                 // the header
                default: bytes = [.. "P5 "u8, .. System.Text.Encoding.ASCII.GetBytes($"{a % 5000} {seed % 5000} 255\n"), .. bytes[..(a % bytes.Length)]]; break; // a PGM
            }

            string path = dir.File($"p{Interlocked.Increment(ref counter)}.png");
            File.WriteAllBytes(path, bytes);
            Check(path, () => PredictCommand.FromPicture(path));
        }, iter: CasesPerRun, threads: 1);
    }
}
