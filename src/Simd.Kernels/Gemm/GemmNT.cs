using System.Numerics;

namespace Simd.Kernels;

/// <summary>
/// C = A·Bᵀ (+ C): the hidden-layer gradient product (dA1 = dY·W2ᵀ).
/// A: [m, k] row-major, B stored [n, k] row-major, C: [m, n] row-major.
/// </summary>
public static class GemmNT
{
    /// <summary>C[i, j] = (accumulate ? C[i, j] : 0) + Σ_p A[i, p]·B[j, p]. Any m, n, k &gt;= 0.</summary>
    public static void Multiply<T>(
        IsaPath isa,
        ReadOnlySpan<T> a, // [m, k]
        ReadOnlySpan<T> b, // [n, k]
        int m, int k, int n,
        Span<T> c,         // [m, n]
        bool accumulate = false)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Validate(a, b, m, k, n, c);
        if (m == 0 || n == 0)
        {
            return;
        }

        IsaPath path = Isa.Effective(isa);
        if (path == IsaPath.Scalar)
        {
            Scalar(a, b, m, k, n, c, accumulate);
            return;
        }

        // Pack Bᵀ [k, n] once (for the network, W2ᵀ: 10 x 50), then it is C = A·Bᵀ as a plain A·B.
        Span<T> bt = GemmScratch<T>.PackedB(k * n);
        for (int j = 0; j < n; j++)
        {
            ReadOnlySpan<T> bRow = b.Slice(j * k, k);
            for (int p = 0; p < k; p++)
            {
                bt[(p * n) + j] = bRow[p];
            }
        }

        GemmNN.Multiply<T>(path, a, bt, default, m, k, n, c, accumulate);
    }

    /// <summary>One dot product per element: the scalar ISA path.</summary>
    internal static void Scalar<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, int m, int k, int n, Span<T> c, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < m; i++)
        {
            ReadOnlySpan<T> aRow = a.Slice(i * k, k);
            for (int j = 0; j < n; j++)
            {
                ReadOnlySpan<T> bRow = b.Slice(j * k, k);
                T sum = T.Zero;
                for (int p = 0; p < k; p++)
                {
                    sum += aRow[p] * bRow[p];
                }

                c[i * n + j] = (accumulate ? c[i * n + j] : T.Zero) + sum;
            }
        }
    }

    /// <summary>The algorithmic reference (the same dot products, written with plain indices).</summary>
    public static void Reference<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, int m, int k, int n, Span<T> c, bool accumulate = false)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Validate(a, b, m, k, n, c);
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                T sum = T.Zero;
                for (int p = 0; p < k; p++)
                {
                    sum += a[i * k + p] * b[j * k + p];
                }

                c[i * n + j] = (accumulate ? c[i * n + j] : T.Zero) + sum;
            }
        }
    }

    /// <summary>The shapes of C[m, n] = A[m, k]·B[n, k]ᵀ: sizes not negative, every buffer large enough.</summary>
    internal static void Validate<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, int m, int k, int n, Span<T> c)
    {
        ShapeCheck.NonNegative(m, nameof(m));
        ShapeCheck.NonNegative(k, nameof(k));
        ShapeCheck.NonNegative(n, nameof(n));
        ShapeCheck.AtLeast(a, (long)m * k, nameof(a));
        ShapeCheck.AtLeast(b, (long)n * k, nameof(b));
        ShapeCheck.AtLeast(c, (long)m * n, nameof(c));
    }
}
