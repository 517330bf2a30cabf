using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Simd.Kernels;

/// <summary>
/// C = Aᵀ·B (+ C): the weight-gradient product (dW = Xᵀ·dZ).
/// A is stored [k, lda] row-major and its first m columns are used, so a caller can hand a
/// column block of a wider matrix (a worker's rows of dW) without copying.
/// B: [k, n] row-major, C: [m, n] row-major.
/// </summary>
public static class GemmTN
{
    /// <summary>C[i, j] = (accumulate ? C[i, j] : 0) + Σ_p A[p, i]·B[p, j]. Any m, n, k &gt;= 0.</summary>
    public static void Multiply<T>(
        IsaPath isa,
        ReadOnlySpan<T> a, int lda, // [k, lda], columns [0, m) used
        ReadOnlySpan<T> b,          // [k, n]
        int m, int k, int n,
        Span<T> c,                  // [m, n]
        bool accumulate = false)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Validate(a, lda, b, m, k, n, c);
        if (m == 0 || n == 0)
        {
            return;
        }

        // A(i, p) = a[p·lda + i]: the micro-kernel's (aRow, aK) = (1, lda).
        TileInit init = accumulate ? TileInit.Accumulate : TileInit.None;
        ref T a0 = ref MemoryMarshal.GetReference(a);
        ref T b0 = ref MemoryMarshal.GetReference(b);
        ref T c0 = ref MemoryMarshal.GetReference(c);
        switch (Isa.Effective(isa))
        {
            case IsaPath.Vector512:
                GemmDriver.Run<T, V512<T>>(ref a0, 1, lda, ref b0, n, ref Unsafe.NullRef<T>(), m, k, n, ref c0, n, init, GemmBlocking.Rows512, GemmBlocking.Vectors512);
                break;
            case IsaPath.Vector256:
                GemmDriver.Run<T, V256<T>>(ref a0, 1, lda, ref b0, n, ref Unsafe.NullRef<T>(), m, k, n, ref c0, n, init, GemmBlocking.Rows256, GemmBlocking.Vectors256);
                break;
            case IsaPath.Vector128:
                GemmDriver.Run<T, V128<T>>(ref a0, 1, lda, ref b0, n, ref Unsafe.NullRef<T>(), m, k, n, ref c0, n, init, GemmBlocking.Rows128, GemmBlocking.Vectors128);
                break;
            default:
                Scalar(a, lda, b, m, k, n, c, accumulate);
                break;
        }
    }

    /// <summary>The plain loop nest: the scalar ISA path.</summary>
    internal static void Scalar<T>(
        ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int m, int k, int n, Span<T> c, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < m; i++)
        {
            Span<T> cRow = c.Slice(i * n, n);
            if (!accumulate)
            {
                cRow.Clear();
            }

            for (int p = 0; p < k; p++)
            {
                T api = a[p * lda + i];
                ReadOnlySpan<T> bRow = b.Slice(p * n, n);
                for (int j = 0; j < n; j++)
                {
                    cRow[j] += api * bRow[j];
                }
            }
        }
    }

    /// <summary>The algorithmic reference: one dot product per element, k in order.</summary>
    public static void Reference<T>(
        ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int m, int k, int n, Span<T> c, bool accumulate = false)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Validate(a, lda, b, m, k, n, c);
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                T sum = T.Zero;
                for (int p = 0; p < k; p++)
                {
                    sum += a[p * lda + i] * b[p * n + j];
                }

                c[i * n + j] = (accumulate ? c[i * n + j] : T.Zero) + sum;
            }
        }
    }

    private static void Validate<T>(ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int m, int k, int n, Span<T> c)
    {
        ShapeCheck.NonNegative(m, nameof(m));
        ShapeCheck.NonNegative(k, nameof(k));
        ShapeCheck.NonNegative(n, nameof(n));
        if (lda < m)
        {
            throw new ArgumentOutOfRangeException(nameof(lda), lda, $"must be >= m ({m})");
        }

        // The last row of A only needs its first m columns.
        ShapeCheck.AtLeast(a, k == 0 ? 0 : ((long)(k - 1) * lda) + m, nameof(a));
        ShapeCheck.AtLeast(b, (long)k * n, nameof(b));
        ShapeCheck.AtLeast(c, (long)m * n, nameof(c));
    }
}
