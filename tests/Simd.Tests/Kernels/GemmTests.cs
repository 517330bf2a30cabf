using System.Numerics;
using Simd.Kernels;
using Simd.Tests.Support;

namespace Simd.Tests.Kernels;

/// <summary>
/// The three GEMM layouts on every ISA path, against a double-precision reference, with the
/// rounding-error bound of <see cref="Reference.DotBound{T}"/> per element. Shapes include 0, 1,
/// primes, every remainder of the tiles, and the network's real shapes.
/// </summary>
public class GemmTests
{
    public static TheoryData<IsaPath> Paths => Reference.Paths();

    /// <summary>(m, k, n) triples: empty, tiny, primes, tile remainders and the network's products.</summary>
    public static readonly (int M, int K, int N)[] Shapes =
    [
        (0, 0, 0), (0, 7, 3), (3, 0, 4), (4, 5, 0), (1, 1, 1), (1, 17, 1), (2, 3, 5), (7, 13, 11), (13, 29, 37),
        (17, 31, 19), (31, 1, 67), (6, 64, 16), (12, 40, 32), (14, 9, 48), (5, 100, 129), (3, 3, 257),
        (100, 784, 50), (100, 50, 10), (50, 100, 10), (784, 100, 50), (100, 10, 50), (256, 784, 50),
    ];

    [Theory]
    [MemberData(nameof(Paths))]
    public void NN_float(IsaPath isa) => CheckNN<float>(isa);

    [Theory]
    [MemberData(nameof(Paths))]
    public void NN_double(IsaPath isa) => CheckNN<double>(isa);

    [Theory]
    [MemberData(nameof(Paths))]
    public void TN_float(IsaPath isa) => CheckTN<float>(isa);

    [Theory]
    [MemberData(nameof(Paths))]
    public void TN_double(IsaPath isa) => CheckTN<double>(isa);

    [Theory]
    [MemberData(nameof(Paths))]
    public void NT_float(IsaPath isa) => CheckNT<float>(isa);

    [Theory]
    [MemberData(nameof(Paths))]
    public void NT_double(IsaPath isa) => CheckNT<double>(isa);

    [Fact]
    public void Short_spans_are_rejected()
    {
        var a = new float[5];
        var b = new float[6];
        var c = new float[6];
        Assert.Throws<ArgumentException>(() => GemmNN.Multiply<float>(IsaPath.Scalar, a, b, default, 2, 3, 2, c));
        Assert.Throws<ArgumentException>(() => GemmNT.Multiply<float>(IsaPath.Scalar, a, b, 2, 3, 2, c));
        Assert.Throws<ArgumentOutOfRangeException>(() => GemmTN.Multiply<float>(IsaPath.Scalar, a, 1, b, 2, 3, 2, c));
    }

    private static void CheckNN<T>(IsaPath isa)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        foreach ((int m, int k, int n) in Shapes)
        {
            foreach (bool withBias in (bool[])[false, true])
            {
                foreach (bool accumulate in (bool[])[false, true])
                {
                    ulong seed = (ulong)((m * 1000003) + (k * 1009) + n);
                    T[] a = Reference.Random<T>(m * k, seed);
                    T[] b = Reference.Random<T>(k * n, seed + 1);
                    T[] bias = withBias ? Reference.Random<T>(n, seed + 2) : [];
                    T[] c = WithGuard(Reference.Random<T>(m * n, seed + 3));
                    double[] initial = Reference.ToDouble<T>(c);
                    GemmNN.Multiply<T>(isa, a, b, bias, m, k, n, c, accumulate);

                    for (int i = 0; i < m; i++)
                    {
                        for (int j = 0; j < n; j++)
                        {
                            double init = (accumulate ? initial[(i * n) + j] : 0) + (withBias ? double.CreateTruncating(bias[j]) : 0);
                            double exact = init, magnitude = Math.Abs(init);
                            for (int p = 0; p < k; p++)
                            {
                                double product = double.CreateTruncating(a[(i * k) + p]) * double.CreateTruncating(b[(p * n) + j]);
                                exact += product;
                                magnitude += Math.Abs(product);
                            }

                            AssertWithin(c[(i * n) + j], exact, Reference.DotBound<T>(k + 2, magnitude), $"NN {isa} {typeof(T).Name} m={m} k={k} n={n} bias={withBias} acc={accumulate} C[{i},{j}]");
                        }
                    }

                    AssertGuard(c, m * n, $"NN {isa} m={m} k={k} n={n}");
                }
            }
        }
    }

    private static void CheckTN<T>(IsaPath isa)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        foreach ((int m, int k, int n) in Shapes)
        {
            foreach (int extraColumns in (int[])[0, 3])
            {
                foreach (bool accumulate in (bool[])[false, true])
                {
                    int lda = m + extraColumns;
                    ulong seed = (ulong)((m * 7919) + (k * 104729) + n + extraColumns);
                    T[] a = Reference.Random<T>(k * lda, seed); // [k, lda], columns [0, m) used
                    T[] b = Reference.Random<T>(k * n, seed + 1);
                    T[] c = WithGuard(Reference.Random<T>(m * n, seed + 2));
                    double[] initial = Reference.ToDouble<T>(c);
                    GemmTN.Multiply<T>(isa, a, lda, b, m, k, n, c, accumulate);

                    for (int i = 0; i < m; i++)
                    {
                        for (int j = 0; j < n; j++)
                        {
                            double exact = accumulate ? initial[(i * n) + j] : 0, magnitude = Math.Abs(exact);
                            for (int p = 0; p < k; p++)
                            {
                                double product = double.CreateTruncating(a[(p * lda) + i]) * double.CreateTruncating(b[(p * n) + j]);
                                exact += product;
                                magnitude += Math.Abs(product);
                            }

                            AssertWithin(c[(i * n) + j], exact, Reference.DotBound<T>(k + 1, magnitude), $"TN {isa} {typeof(T).Name} m={m} k={k} n={n} lda={lda} acc={accumulate} C[{i},{j}]");
                        }
                    }

                    AssertGuard(c, m * n, $"TN {isa} m={m} k={k} n={n}");
                }
            }
        }
    }

    private static void CheckNT<T>(IsaPath isa)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        foreach ((int m, int k, int n) in Shapes)
        {
            foreach (bool accumulate in (bool[])[false, true])
            {
                ulong seed = (ulong)((m * 31) + (k * 131) + (n * 1031));
                T[] a = Reference.Random<T>(m * k, seed);
                T[] b = Reference.Random<T>(n * k, seed + 1); // [n, k]
                T[] c = WithGuard(Reference.Random<T>(m * n, seed + 2));
                double[] initial = Reference.ToDouble<T>(c);
                GemmNT.Multiply<T>(isa, a, b, m, k, n, c, accumulate);

                for (int i = 0; i < m; i++)
                {
                    for (int j = 0; j < n; j++)
                    {
                        double exact = accumulate ? initial[(i * n) + j] : 0, magnitude = Math.Abs(exact);
                        for (int p = 0; p < k; p++)
                        {
                            double product = double.CreateTruncating(a[(i * k) + p]) * double.CreateTruncating(b[(j * k) + p]);
                            exact += product;
                            magnitude += Math.Abs(product);
                        }

                        AssertWithin(c[(i * n) + j], exact, Reference.DotBound<T>(k + 1, magnitude), $"NT {isa} {typeof(T).Name} m={m} k={k} n={n} acc={accumulate} C[{i},{j}]");
                    }
                }

                AssertGuard(c, m * n, $"NT {isa} m={m} k={k} n={n}");
            }
        }
    }

    private const int GuardLength = 32;
    private const double GuardValue = 12345.0;

    /// <summary>Appends sentinel elements after the matrix: a kernel writing past C overwrites them.</summary>
    private static T[] WithGuard<T>(T[] values)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var result = new T[values.Length + GuardLength];
        values.CopyTo(result, 0);
        result.AsSpan(values.Length).Fill(T.CreateTruncating(GuardValue));
        return result;
    }

    private static void AssertGuard<T>(T[] values, int length, string what)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = length; i < values.Length; i++)
        {
            Assert.True(values[i] == T.CreateTruncating(GuardValue), $"{what}: wrote past the end of C at {i}");
        }
    }

    private static void AssertWithin<T>(T actual, double expected, double bound, string what)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        double value = double.CreateTruncating(actual);
        if (!(Math.Abs(value - expected) <= bound))
        {
            Assert.Fail($"{what}: got {value:R}, expected {expected:R} ± {bound:E2}");
        }
    }
}
