using System.Diagnostics;
using CsCheck;
using Simd.Kernels;
using Simd.Tests.Support;
using Simd.Training;
using Simd.Training.Models;

namespace Simd.Tests.Training;

/// <summary>
/// Property tests of the model reader (CsCheck), beside the IDX reader's: a small valid model file, cut
/// short, with bits flipped, bytes replaced or appended, in the zip's structure as much as in the arrays.
/// Every input either reads as a consistent model or raises the one documented
/// <see cref="ModelFileException"/> (one line, naming the file); none allocates more than a small
/// multiple of its own size or takes more than a moment.
/// </summary>
public class ModelFileFuzzTests
{
    private const int CasesPerRun = 400;

    private static readonly TimeSpan Moment = TimeSpan.FromSeconds(2);

    private enum Damage
    {
        Truncate,
        FlipBits,
        ReplaceByte,
        AppendBytes,
        ClaimLargeShape,
    }

    private sealed record Case(Damage Damage, int A, int B)
    {
        public override string ToString() => $"{Damage} a={A} b={B}";
    }

    private static readonly Lazy<byte[]> Valid = new(() =>
    {
        using var dir = new TempDirectory();
        using var network = new MultiLayerNet<float>(new NetworkShape(6, [4, 3], 2), Activation.Relu, IsaPath.Scalar, seed: 2, maxBatch: 1);
        ModelFile.Save(dir.File("m.npz"), network, "fuzz");
        return File.ReadAllBytes(dir.File("m.npz"));
    });

    [Fact]
    public void Damaged_model_files_read_or_fail_with_the_model_exception_cheaply()
    {
        using var dir = new TempDirectory();
        int counter = 0;
        Gen.Select(Gen.Enum<Damage>(), Gen.Int[0, int.MaxValue], Gen.Int, (damage, a, b) => new Case(damage, a, b)).Sample(c =>
        {
            byte[] bytes = Build(c);
            string path = dir.File($"case{Interlocked.Increment(ref counter)}.npz");
            File.WriteAllBytes(path, bytes);
            long before = GC.GetAllocatedBytesForCurrentThread();
            long start = Stopwatch.GetTimestamp();
            try
            {
                Model model = ModelFile.Read(path);
                Assert.Equal(model.Shape.ParameterCount, model.Parameters.Sum(p => p.Count));
            }
            catch (ModelFileException e)
            {
                Assert.StartsWith(path, e.Message, StringComparison.Ordinal);
                Assert.DoesNotContain('\n', e.Message);
            }

            TimeSpan took = Stopwatch.GetElapsedTime(start);
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.True(took < Moment, $"{c}: took {took.TotalMilliseconds:F0} ms");
            long budget = (64 * bytes.Length) + (1 << 20); // the zip reader's buffers and the parsed arrays
            Assert.True(allocated <= budget, $"{c}: allocated {allocated} bytes for a {bytes.Length}-byte file (budget {budget})");
            File.Delete(path);
        }, iter: CasesPerRun, threads: 1);
    }

    private static byte[] Build(Case c)
    {
        byte[] valid = Valid.Value;
        var rng = new Random(c.B);
        switch (c.Damage)
        {
            case Damage.Truncate:
                return valid[..(c.A % valid.Length)];
            case Damage.FlipBits:
            {
                byte[] bytes = [.. valid];
                for (int i = 0; i <= c.A % 4; i++)
                {
                    bytes[rng.Next(bytes.Length)] ^= (byte)(1 << rng.Next(8));
                }

                return bytes;
            }

            case Damage.ReplaceByte:
            {
                byte[] bytes = [.. valid];
                bytes[c.A % bytes.Length] = (byte)c.B;
                return bytes;
            }

            case Damage.AppendBytes:
                return [.. valid, .. Enumerable.Range(0, (c.A % 200) + 1).Select(_ => (byte)rng.Next(256))];
            default:
            {
                // A shape digit replaced inside a header: (6, 4) → (9, 4) and the like, the data unchanged.
                byte[] bytes = [.. valid];
                int at = IndexOf(bytes, "'shape': ("u8, c.A % 4);
                if (at >= 0)
                {
                    bytes[at + 10] = (byte)('1' + (c.B & 7));
                }

                return bytes;
            }
        }
    }

    private static int IndexOf(byte[] bytes, ReadOnlySpan<byte> pattern, int occurrence)
    {
        int from = 0;
        for (int n = 0; ; n++)
        {
            int at = bytes.AsSpan(from).IndexOf(pattern);
            if (at < 0)
            {
                return -1;
            }

            if (n == occurrence)
            {
                return from + at;
            }

            from += at + 1;
        }
    }
}
