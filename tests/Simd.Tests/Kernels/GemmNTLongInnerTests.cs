using System.Numerics;
using Simd.Kernels;
using Simd.Tests.Support;

namespace Simd.Tests.Kernels;

/// <summary>
/// The small-output, long-inner A·Bᵀ on every ISA path against a double reference, within the GEMM tests' bound
/// (<see cref="Reference.DotBound{T}"/>): full 4 x 4 tiles, edge rows and columns, inner sizes that are and are not
/// whole vectors, the convolution's real shapes, accumulating or not, and a guard after C.
/// </summary>
public class GemmNTLongInnerTests
{
    public static TheoryData<IsaPath> Paths => Reference.Paths();

    private static readonly (int M, int K, int N)[] Shapes =
    [
        (0, 5, 3), (3, 0, 2), (1, 1, 1), (4, 16, 4), (5, 17, 3), (7, 33, 9), (3, 100, 8), (8, 15, 8), (30, 576, 25), (6, 576, 16), (16, 144, 54), (2, 3, 5),
    ];

    [Theory]
    [MemberData(nameof(Paths))]
    public void Matches_the_reference_in_float(IsaPath path) => Check<float>(path);

    [Theory]
    [MemberData(nameof(Paths))]
    public void Matches_the_reference_in_double(IsaPath path) => Check<double>(path);

    private static void Check<T>(IsaPath path)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        foreach ((int m, int k, int n) in Shapes)
        {
            foreach (bool accumulate in (bool[])[false, true])
            {
                T[] a = Reference.Random<T>(m * k, (ulong)(m + k)), b = Reference.Random<T>(n * k, (ulong)(n + (3 * k)));
                T[] c = [.. Reference.Random<T>(m * n, 5), T.CreateTruncating(42)]; // a guard after C
                double[] before = Reference.ToDouble<T>(c);
                GemmNTLongInner.Multiply<T>(path, a, b, m, k, n, c, accumulate);
                Assert.Equal(T.CreateTruncating(42), c[^1]);
                for (int i = 0; i < m; i++)
                {
                    for (int j = 0; j < n; j++)
                    {
                        double exact = accumulate ? before[(i * n) + j] : 0, absolute = Math.Abs(exact);
                        for (int p = 0; p < k; p++)
                        {
                            double product = double.CreateTruncating(a[(i * k) + p]) * double.CreateTruncating(b[(j * k) + p]);
                            exact += product;
                            absolute += Math.Abs(product);
                        }

                        double actual = double.CreateTruncating(c[(i * n) + j]);
                        Assert.True(Math.Abs(actual - exact) <= Reference.DotBound<T>(k + 1, absolute),
                            $"{path} {typeof(T).Name} ({m}, {k}, {n}) accumulate {accumulate}: C[{i}, {j}] = {actual}, expected {exact}");
                    }
                }
            }
        }
    }
}
