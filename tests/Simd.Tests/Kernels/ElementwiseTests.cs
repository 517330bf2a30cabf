using System.Numerics;
using Simd.Kernels;
using Simd.Tests.Support;

namespace Simd.Tests.Kernels;

/// <summary>
/// Sigmoid, ReLU and the SGD update on every ISA path and every length 0-256 (so every vector
/// remainder), against the scalar reference evaluated in double. Tolerances (relative):
/// sigmoid 4e-7 float / 1e-15 double (a few ulps: exp and a division), backward 4e-7 / 1e-15,
/// ReLU and SGD exact (one comparison; one product and one difference, rounded as the reference).
/// </summary>
public class ElementwiseTests
{
    public static TheoryData<IsaPath> Paths => Reference.Paths();

    private const int MaxLength = 256;

    [Theory]
    [MemberData(nameof(Paths))]
    public void Sigmoid_forward_and_backward(IsaPath isa)
    {
        CheckSigmoid<float>(isa, 4e-7);
        CheckSigmoid<double>(isa, 1e-15);
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Relu_forward_and_backward(IsaPath isa)
    {
        CheckRelu<float>(isa);
        CheckRelu<double>(isa);
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Sgd_update(IsaPath isa)
    {
        CheckSgd<float>(isa);
        CheckSgd<double>(isa);
    }

    /// <summary>Exact on every path: all 256 byte values, and every length 0-256 (so every vector remainder).</summary>
    [Theory]
    [MemberData(nameof(Paths))]
    public void Normalize_bytes_divides_in_float32_exactly(IsaPath isa)
    {
        byte[] all = [.. Enumerable.Range(0, 256).Select(b => (byte)b)];
        var singles = new float[256];
        var doubles = new double[256];
        NormalizeBytes.Divide<float>(isa, all, 255f, singles);
        NormalizeBytes.Divide<double>(isa, all, 255f, doubles);
        for (int b = 0; b < 256; b++)
        {
            Assert.Equal(b / 255f, singles[b]);
            Assert.Equal((double)(b / 255f), doubles[b]);
        }

        for (int length = 0; length <= MaxLength; length++)
        {
            byte[] x = [.. Enumerable.Range(0, length).Select(i => (byte)((i * 37) + 11))];
            var y = new double[length + 1];
            y[length] = -1;
            NormalizeBytes.Divide<double>(isa, x, 255f, y.AsSpan(0, length));
            Assert.Equal([.. x.Select(v => (double)(v / 255f)), -1.0], y);
        }
    }

    /// <summary>
    /// Any divisor gives the division's bits, whether its float64 reciprocal passes the check (then the 512-
    /// and 256-bit paths multiply) or not (then they divide 4 lanes at a time): 400 random float divisors
    /// across 2^-20..2^127, the large ones making float32 subnormal quotients where rounding twice could show.
    /// </summary>
    [Theory]
    [MemberData(nameof(Paths))]
    public void Normalize_bytes_is_exact_for_any_divisor(IsaPath isa)
    {
        Assert.True(NormalizeBytes.ReciprocalIsExact(255f));
        byte[] all = [.. Enumerable.Range(0, 256).Select(b => (byte)b)];
        var singles = new float[256];
        var random = new Random(17);
        for (int trial = 0; trial < 400; trial++)
        {
            float divisor = (float)Math.ScaleB(1 + random.NextDouble(), random.Next(-20, 127));
            NormalizeBytes.Divide<float>(isa, all, divisor, singles);
            for (int b = 0; b < 256; b++)
            {
                Assert.Equal(BitConverter.SingleToInt32Bits(b / divisor), BitConverter.SingleToInt32Bits(singles[b]));
            }
        }
    }

    [Fact]
    public void Sigmoid_of_extremes_saturates_without_nan()
    {
        float[] x = [-1000f, -100f, -88f, 0f, 88f, 100f, 1000f, float.NegativeInfinity, float.PositiveInfinity];
        foreach (IsaPath isa in Isa.Supported)
        {
            var y = new float[x.Length];
            Sigmoid.Forward<float>(isa, x, y);
            Assert.Equal(0f, y[0]);
            Assert.Equal(0.5f, y[3]);
            Assert.Equal(1f, y[6]);
            Assert.Equal(0f, y[7]);
            Assert.Equal(1f, y[8]);
            Assert.All(y, v => Assert.InRange(v, 0f, 1f));
        }
    }

    private static void CheckSigmoid<T>(IsaPath isa, double relative)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int length = 0; length <= MaxLength; length++)
        {
            T[] x = Reference.Random<T>(length, (ulong)length, -20, 20);
            T[] dy = Reference.Random<T>(length, (ulong)length + 1000);
            T[] y = new T[length];
            T[] dx = new T[length];
            Sigmoid.Forward<T>(isa, x, y);
            Sigmoid.Backward<T>(isa, y, dy, dx);
            for (int i = 0; i < length; i++)
            {
                double expected = Sigmoid.ForwardReference(double.CreateTruncating(x[i]));
                AssertRelative(y[i], expected, relative, $"sigmoid {isa} {typeof(T).Name} n={length} [{i}] x={x[i]}");
                double expectedDx = Sigmoid.BackwardReference(double.CreateTruncating(y[i]), double.CreateTruncating(dy[i]));
                AssertRelative(dx[i], expectedDx, relative, $"sigmoid' {isa} {typeof(T).Name} n={length} [{i}]");
            }
        }
    }

    private static void CheckRelu<T>(IsaPath isa)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int length = 0; length <= MaxLength; length++)
        {
            T[] x = Reference.Random<T>(length, (ulong)length);
            if (length > 3)
            {
                x[1] = T.Zero;
                x[2] = T.NegativeZero;
            }

            T[] dy = Reference.Random<T>(length, (ulong)length + 1000);
            T[] y = new T[length];
            T[] dx = new T[length];
            Relu.Forward<T>(isa, x, y);
            Relu.Backward<T>(isa, y, dy, dx);
            for (int i = 0; i < length; i++)
            {
                Assert.Equal(Relu.ForwardReference(x[i]), y[i]);
                Assert.Equal(Relu.BackwardReference(y[i], dy[i]), dx[i]);
                Assert.True(x[i] > T.Zero ? dx[i] == dy[i] : dx[i] == T.Zero, $"relu' {isa} n={length} [{i}]");
            }
        }
    }

    private static void CheckSgd<T>(IsaPath isa)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T learningRate = T.CreateTruncating(0.1);
        for (int length = 0; length <= MaxLength; length++)
        {
            T[] p = Reference.Random<T>(length, (ulong)length);
            T[] g = Reference.Random<T>(length, (ulong)length + 1000);
            T[] expected = [.. p.Select((v, i) => SgdUpdate.Reference(v, g[i], learningRate))];
            SgdUpdate.Apply<T>(isa, g, learningRate, p);
            Assert.Equal(expected, p);
        }
    }

    private static void AssertRelative<T>(T actual, double expected, double relative, string what)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        double value = double.CreateTruncating(actual);
        double bound = (relative * Math.Abs(expected)) + (typeof(T) == typeof(float) ? 1e-38 : 1e-300);
        if (!(Math.Abs(value - expected) <= bound))
        {
            Assert.Fail($"{what}: got {value:R}, expected {expected:R} (relative tolerance {relative:E1})");
        }
    }
}
