using System.Numerics;
using Simd.Kernels;
using Simd.Tests.Support;

namespace Simd.Tests.Kernels;

/// <summary>
/// The three GEMM layouts on every ISA path, against a double-precision reference, with the
/// rounding-error bound of <see cref="Reference.DotBound{T}"/> per element (the tolerance for every
/// GEMM: about 2(k+4)·u·Σ|a·b|, u = 2^-24 in float, 2^-53 in double). Shapes cover 0, 1, primes,
/// every remainder of the tiles (rows mod 8 and 6, columns mod 16, 8, 4 and 2, several column panels),
/// the dot-product, swapped and padded leftover-column paths, and the network's real shapes.
/// A guard after C catches any write past its end.
/// </summary>
public class GemmTests
{
    public static TheoryData<IsaPath> Paths => Reference.Paths();

    /// <summary>(m, k, n): empty, tiny, primes and the network's products.</summary>
    public static readonly (int M, int K, int N)[] Shapes =
    [
        (0, 0, 0), (0, 7, 3), (3, 0, 4), (4, 5, 0), (1, 1, 1), (1, 17, 1), (2, 3, 5), (7, 13, 11), (13, 29, 37),
        (17, 31, 19), (31, 1, 67), (6, 64, 16), (12, 40, 32), (14, 9, 48), (5, 100, 129), (3, 3, 257),
        (100, 784, 50), (100, 50, 10), (50, 100, 10), (784, 100, 50), (100, 10, 50), (256, 784, 50),
        (100, 4320, 100), (100, 100, 4320), (9, 257, 35), (3, 513, 16),
    ];

    /// <summary>Every tile remainder: rows 1-9, 16, 17 x columns 1-34 x k of 1, 7 and 70 (70 takes the dot-product tail).</summary>
    public static IEnumerable<(int M, int K, int N)> Remainders()
    {
        foreach (int m in (int[])[1, 2, 3, 4, 5, 6, 7, 8, 9, 16, 17])
        {
            for (int n = 1; n <= 34; n++)
            {
                foreach (int k in (int[])[1, 7, 70])
                {
                    yield return (m, k, n);
                }
            }
        }
    }

    public enum Layout
    {
        NN,
        TN,
        NT,
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Shapes_float(IsaPath isa)
    {
        foreach ((int m, int k, int n) in Shapes)
        {
            CheckAllVariants<float>(isa, m, k, n);
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Shapes_double(IsaPath isa)
    {
        foreach ((int m, int k, int n) in Shapes)
        {
            CheckAllVariants<double>(isa, m, k, n);
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Every_tile_remainder_float(IsaPath isa)
    {
        int i = 0;
        foreach ((int m, int k, int n) in Remainders())
        {
            // One variant per shape, rotating, keeps the grid quick while every variant meets every remainder class.
            Check<float>((Layout)(i % 3), isa, m, k, n, withBias: i % 2 == 0, accumulate: i % 4 < 2, extraColumns: i % 5);
            i++;
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Every_tile_remainder_double(IsaPath isa)
    {
        int i = 0;
        foreach ((int m, int k, int n) in Remainders())
        {
            Check<double>((Layout)(i % 3), isa, m, k, n, withBias: i % 2 == 1, accumulate: i % 4 >= 2, extraColumns: i % 3);
            i++;
        }
    }

    /// <summary>
    /// A B larger than <see cref="GemmBlocking.DepthBlockMinBytes"/> is multiplied in blocks of k that continue each
    /// element's chain of multiply-adds through C: the same bits as one pass, which the accumulate form (never blocked,
    /// adding C = 0 after the products) still makes. Each shape's B is over the threshold; the last has 20 blocks.
    /// </summary>
    [Theory]
    [MemberData(nameof(Paths))]
    public void Depth_blocks_give_the_bits_of_one_pass(IsaPath isa)
    {
        foreach ((int m, int k, int n) in (ReadOnlySpan<(int, int, int)>)[(100, 4320, 100), (9, 2600, 101), (1, 5000, 60), (17, 20 * GemmBlocking.DepthBlock, 52)])
        {
            Assert.True((long)k * n * sizeof(float) > GemmBlocking.DepthBlockMinBytes, $"({m}, {k}, {n}) is not blocked");
            float[] a = Reference.Random<float>(m * k, 1), b = Reference.Random<float>(k * n, 2), bias = Reference.Random<float>(n, 3);
            var blocked = new float[m * n];
            var onePass = new float[m * n];
            GemmNN.Multiply<float>(isa, a, b, default, m, k, n, blocked);
            GemmNN.Multiply<float>(isa, a, b, default, m, k, n, onePass, accumulate: true);
            Assert.True(blocked.AsSpan().SequenceEqual(onePass), $"{isa} ({m}, {k}, {n})");

            // With a bias the blocks add it after the last block, as one pass adds it after the products.
            var onePassWithBias = new float[m * n];
            GemmNN.Multiply<float>(isa, a, b, bias, m, k, n, blocked);
            GemmNN.Multiply<float>(isa, a, b, bias, m, k, n, onePassWithBias, accumulate: true);
            Assert.True(blocked.AsSpan().SequenceEqual(onePassWithBias), $"{isa} ({m}, {k}, {n}) with bias");
        }
    }

    /// <summary>C = A·Bᵀ packs Bᵀ a block of <see cref="GemmBlocking.TransposedColumns"/> columns at a time: the bits of A·(Bᵀ packed whole).</summary>
    [Theory]
    [MemberData(nameof(Paths))]
    public void Transposed_blocks_give_the_bits_of_one_product(IsaPath isa)
    {
        foreach ((int m, int k, int n) in (ReadOnlySpan<(int, int, int)>)[(100, 100, 4320), (7, 70, 300), (9, 9, 2 * GemmBlocking.TransposedColumns + 5), (1, 3, 257)])
        {
            float[] a = Reference.Random<float>(m * k, 4), b = Reference.Random<float>(n * k, 5), bt = new float[k * n];
            for (int j = 0; j < n; j++)
            {
                for (int p = 0; p < k; p++)
                {
                    bt[(p * n) + j] = b[(j * k) + p];
                }
            }

            var blocks = new float[m * n];
            var whole = new float[m * n];
            GemmNT.Multiply<float>(isa, a, b, m, k, n, blocks);
            GemmNN.Multiply<float>(isa, a, bt, default, m, k, n, whole);
            Assert.True(blocks.AsSpan().SequenceEqual(whole), $"{isa} ({m}, {k}, {n})");
        }
    }

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

    private static void CheckAllVariants<T>(IsaPath isa, int m, int k, int n)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        foreach (bool accumulate in (bool[])[false, true])
        {
            Check<T>(Layout.NN, isa, m, k, n, withBias: false, accumulate, 0);
            Check<T>(Layout.NN, isa, m, k, n, withBias: true, accumulate, 0);
            Check<T>(Layout.TN, isa, m, k, n, withBias: false, accumulate, 0);
            Check<T>(Layout.TN, isa, m, k, n, withBias: false, accumulate, 3);
            Check<T>(Layout.NT, isa, m, k, n, withBias: false, accumulate, 0);
        }
    }

    /// <summary>One product in one layout against the double reference, element by element, plus the guard.</summary>
    private static void Check<T>(Layout layout, IsaPath isa, int m, int k, int n, bool withBias, bool accumulate, int extraColumns)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        withBias &= layout == Layout.NN;
        int lda = layout == Layout.TN ? m + extraColumns : k;
        ulong seed = (ulong)((m * 1000003) + (k * 1009) + (n * 31) + (int)layout);
        T[] a = Reference.Random<T>(layout == Layout.TN ? k * lda : m * k, seed);
        T[] b = Reference.Random<T>(k * n, seed + 1);   // [k, n], or [n, k] for NT
        T[] bias = withBias ? Reference.Random<T>(n, seed + 2) : [];
        T[] c = WithGuard(Reference.Random<T>(m * n, seed + 3));
        double[] initial = Reference.ToDouble<T>(c);
        switch (layout)
        {
            case Layout.NN:
                GemmNN.Multiply<T>(isa, a, b, bias, m, k, n, c, accumulate);
                break;
            case Layout.TN:
                GemmTN.Multiply<T>(isa, a, lda, b, m, k, n, c, accumulate);
                break;
            default:
                GemmNT.Multiply<T>(isa, a, b, m, k, n, c, accumulate);
                break;
        }

        string what = $"{layout} {isa} {typeof(T).Name} m={m} k={k} n={n} bias={withBias} acc={accumulate} lda={lda}";
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double old = accumulate ? initial[(i * n) + j] : 0, biasValue = withBias ? double.CreateTruncating(bias[j]) : 0;
                double exact = old + biasValue, magnitude = Math.Abs(old) + Math.Abs(biasValue);
                for (int p = 0; p < k; p++)
                {
                    T aValue = layout == Layout.TN ? a[(p * lda) + i] : a[(i * k) + p];
                    T bValue = layout == Layout.NT ? b[(j * k) + p] : b[(p * n) + j];
                    double product = double.CreateTruncating(aValue) * double.CreateTruncating(bValue);
                    exact += product;
                    magnitude += Math.Abs(product);
                }

                double value = double.CreateTruncating(c[(i * n) + j]);
                double bound = Reference.DotBound<T>(k + 2, magnitude);
                if (!(Math.Abs(value - exact) <= bound))
                {
                    Assert.Fail($"{what} C[{i},{j}]: got {value:R}, expected {exact:R} ± {bound:E2}");
                }
            }
        }

        for (int i = m * n; i < c.Length; i++)
        {
            Assert.True(c[i] == T.CreateTruncating(GuardValue), $"{what}: wrote past the end of C at {i}");
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
}
