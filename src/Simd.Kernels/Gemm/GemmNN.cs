using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Simd.Kernels;

/// <summary>
/// C = A·B (+ bias) (+ C): the forward-pass and evaluation product.
/// A: [m, k] row-major, B: [k, n] row-major, bias: [n] or empty, C: [m, n] row-major.
/// </summary>
public static class GemmNN
{
    /// <summary>
    /// C[i, j] = (accumulate ? C[i, j] : 0) + bias[j] + Σ_k A[i, k]·B[k, j].
    /// Pass an empty <paramref name="bias"/> for none. Any m, n, k &gt;= 0; no padding needed.
    /// </summary>
    public static void Multiply<T>(
        IsaPath isa,
        ReadOnlySpan<T> a,    // [m, k]
        ReadOnlySpan<T> b,    // [k, n]
        ReadOnlySpan<T> bias, // [n] or empty
        int m, int k, int n,
        Span<T> c,            // [m, n]
        bool accumulate = false)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Validate(a, b, bias, m, k, n, c);
        if (m == 0 || n == 0)
        {
            return;
        }

        TileInit init = (accumulate ? TileInit.Accumulate : TileInit.None) | (bias.IsEmpty ? TileInit.None : TileInit.Bias);
        ref T a0 = ref MemoryMarshal.GetReference(a);
        ref T b0 = ref MemoryMarshal.GetReference(b);
        ref T c0 = ref MemoryMarshal.GetReference(c);
        ref T bias0 = ref bias.IsEmpty ? ref Unsafe.NullRef<T>() : ref MemoryMarshal.GetReference(bias);
        if (!RunVectors(Isa.Effective(isa), ref a0, ref b0, ref bias0, m, k, n, ref c0, n, init))
        {
            Scalar(a, b, bias, m, k, n, c, accumulate);
        }
    }

    /// <summary>
    /// The rows of C one register tile of <paramref name="isa"/>'s path holds (GemmNN, GemmNT and GemmTN use the same
    /// tiles): work split at multiples of it adds no edge tile. 1 on the scalar path, which has no tiles.
    /// </summary>
    public static int RowTile(IsaPath isa) => Isa.Effective(isa) switch
    {
        IsaPath.Vector512 => GemmBlocking.Rows512,
        IsaPath.Vector256 => GemmBlocking.Rows256,
        IsaPath.Vector128 => GemmBlocking.Rows128,
        _ => 1,
    };

    /// <summary>C = A·B (+ C) (+ bias), A row-major [m, k], B [k, n], C rows <paramref name="ldc"/> apart, on a vector path; false on the scalar one.</summary>
    private static bool RunVectors<T>(IsaPath path, ref T a0, ref T b0, ref T bias0, int m, int k, int n, ref T c0, int ldc, TileInit init)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        switch (path)
        {
            case IsaPath.Vector512:
                GemmDriver.Run<T, V512<T>>(ref a0, k, 1, ref b0, n, ref bias0, m, k, n, ref c0, ldc, init, GemmBlocking.Rows512, GemmBlocking.Vectors512);
                return true;
            case IsaPath.Vector256:
                GemmDriver.Run<T, V256<T>>(ref a0, k, 1, ref b0, n, ref bias0, m, k, n, ref c0, ldc, init, GemmBlocking.Rows256, GemmBlocking.Vectors256);
                return true;
            case IsaPath.Vector128:
                GemmDriver.Run<T, V128<T>>(ref a0, k, 1, ref b0, n, ref bias0, m, k, n, ref c0, ldc, init, GemmBlocking.Rows128, GemmBlocking.Vectors128);
                return true;
            default:
                return false;
        }
    }

    /// <summary>C[i, j] = (accumulate ? C[i, j] : 0) + Σ_p A[i, p]·B[p, j] into columns of a wider C (rows <paramref name="ldc"/> apart); vector paths only.</summary>
    internal static void MultiplyColumns<T>(IsaPath path, ReadOnlySpan<T> a, ReadOnlySpan<T> b, int m, int k, int n, Span<T> c, int ldc, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ShapeCheck.AtLeast(a, (long)m * k, nameof(a));
        ShapeCheck.AtLeast(b, (long)k * n, nameof(b));
        ShapeCheck.AtLeast(c, m == 0 ? 0 : ((long)(m - 1) * ldc) + n, nameof(c));
        if (m == 0 || n == 0)
        {
            return;
        }

        TileInit init = accumulate ? TileInit.Accumulate : TileInit.None;
        if (!RunVectors(path, ref MemoryMarshal.GetReference(a), ref MemoryMarshal.GetReference(b), ref Unsafe.NullRef<T>(), m, k, n, ref MemoryMarshal.GetReference(c), ldc, init))
        {
            throw new ArgumentException($"{path} is not a vector path", nameof(path));
        }
    }

    /// <summary>The plain i-k-j loop nest: the scalar ISA path.</summary>
    internal static void Scalar<T>(
        ReadOnlySpan<T> a, ReadOnlySpan<T> b, ReadOnlySpan<T> bias, int m, int k, int n, Span<T> c, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < m; i++)
        {
            Span<T> cRow = c.Slice(i * n, n);
            InitializeRow(cRow, bias, accumulate);
            ReadOnlySpan<T> aRow = a.Slice(i * k, k);
            for (int p = 0; p < k; p++)
            {
                T aip = aRow[p];
                ReadOnlySpan<T> bRow = b.Slice(p * n, n);
                for (int j = 0; j < n; j++)
                {
                    cRow[j] += aip * bRow[j];
                }
            }
        }
    }

    /// <summary>The algorithmic reference: one dot product per element, k in order.</summary>
    public static void Reference<T>(
        ReadOnlySpan<T> a, ReadOnlySpan<T> b, ReadOnlySpan<T> bias, int m, int k, int n, Span<T> c, bool accumulate = false)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Validate(a, b, bias, m, k, n, c);
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                T sum = T.Zero;
                for (int p = 0; p < k; p++)
                {
                    sum += a[i * k + p] * b[p * n + j];
                }

                T init = (accumulate ? c[i * n + j] : T.Zero) + (bias.IsEmpty ? T.Zero : bias[j]);
                c[i * n + j] = init + sum;
            }
        }
    }

    internal static void InitializeRow<T>(Span<T> cRow, ReadOnlySpan<T> bias, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (!accumulate && bias.IsEmpty)
        {
            cRow.Clear();
        }
        else if (!accumulate)
        {
            bias[..cRow.Length].CopyTo(cRow);
        }
        else if (!bias.IsEmpty)
        {
            for (int j = 0; j < cRow.Length; j++)
            {
                cRow[j] += bias[j];
            }
        }
    }

    private static void Validate<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, ReadOnlySpan<T> bias, int m, int k, int n, Span<T> c)
    {
        ShapeCheck.NonNegative(m, nameof(m));
        ShapeCheck.NonNegative(k, nameof(k));
        ShapeCheck.NonNegative(n, nameof(n));
        ShapeCheck.AtLeast(a, (long)m * k, nameof(a));
        ShapeCheck.AtLeast(b, (long)k * n, nameof(b));
        ShapeCheck.AtLeast(c, (long)m * n, nameof(c));
        if (!bias.IsEmpty)
        {
            ShapeCheck.AtLeast(bias, n, nameof(bias));
        }
    }
}
