using System.Numerics;
using System.Runtime.InteropServices;

namespace Simd.Kernels;

/// <summary>
/// C (+)= A·Bᵀ when C is small and the inner size long: a convolution's weight gradient dW[FN, K] = dY[FN, P]·colᵀ
/// (30 x 25 over P = 576 for the book's ch. 7 layer), where <see cref="GemmNT"/>'s transpose-and-pack of B and its
/// leftover columns cost more than the products. Here each 4 x 4 block of C is 16 vector accumulators running along
/// the inner size (4 + 4 loads for 16 multiply-adds), summed across lanes at the end; the edge rows and columns go four
/// dot products at a time (four independent accumulators: one dot product alone waits on each multiply-add, and the
/// book's 30 x 25 has 78 edge elements against 42 blocks). Every element sums its products in a fixed order, whatever
/// the caller's threads.
/// A: [m, k] row-major, B: [n, k] row-major, C: [m, n] row-major.
/// </summary>
public static class GemmNTLongInner
{
    private const int Tile = 4;

    /// <summary>C[i, j] = (accumulate ? C[i, j] : 0) + Σ_p A[i, p]·B[j, p].</summary>
    public static void Multiply<T>(
        IsaPath isa,
        ReadOnlySpan<T> a, // [m, k]
        ReadOnlySpan<T> b, // [n, k]
        int m, int k, int n,
        Span<T> c,         // [m, n]
        bool accumulate = false)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        GemmNT.Validate(a, b, m, k, n, c);
        switch (Isa.Effective(isa))
        {
            case IsaPath.Vector512 when k >= V512<T>.Lanes:
                Blocks<T, V512<T>>(a, b, m, k, n, c, accumulate);
                break;
            case IsaPath.Vector256 or IsaPath.Vector512 when k >= V256<T>.Lanes:
                Blocks<T, V256<T>>(a, b, m, k, n, c, accumulate);
                break;
            case IsaPath.Vector128 or IsaPath.Vector256 or IsaPath.Vector512 when k >= V128<T>.Lanes:
                Blocks<T, V128<T>>(a, b, m, k, n, c, accumulate);
                break;
            default:
                GemmNT.Scalar(a, b, m, k, n, c, accumulate);
                break;
        }
    }

    private static void Blocks<T, TV>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, int m, int k, int n, Span<T> c, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TV : struct, IVector<TV, T>
    {
        ref T a0 = ref MemoryMarshal.GetReference(a);
        ref T b0 = ref MemoryMarshal.GetReference(b);
        int fullRows = m - (m % Tile), fullColumns = n - (n % Tile);
        for (int i = 0; i < fullRows; i += Tile)
        {
            for (int j = 0; j < fullColumns; j += Tile)
            {
                Tile4x4<T, TV>(ref a0, ref b0, i, j, k, n, c, accumulate);
            }

            for (int j = fullColumns; j < n; j++)
            {
                // Rows i..i+3 against column j.
                (T s0, T s1, T s2, T s3) = Four<T, TV>(ref a0, ref b0, (i, j), (i + 1, j), (i + 2, j), (i + 3, j), k);
                Store(c, (i * n) + j, s0, accumulate);
                Store(c, ((i + 1) * n) + j, s1, accumulate);
                Store(c, ((i + 2) * n) + j, s2, accumulate);
                Store(c, ((i + 3) * n) + j, s3, accumulate);
            }
        }

        for (int i = fullRows; i < m; i++)
        {
            for (int j = 0; j < fullColumns; j += Tile)
            {
                // Row i against columns j..j+3.
                (T s0, T s1, T s2, T s3) = Four<T, TV>(ref a0, ref b0, (i, j), (i, j + 1), (i, j + 2), (i, j + 3), k);
                Store(c, (i * n) + j, s0, accumulate);
                Store(c, (i * n) + j + 1, s1, accumulate);
                Store(c, (i * n) + j + 2, s2, accumulate);
                Store(c, (i * n) + j + 3, s3, accumulate);
            }

            for (int j = fullColumns; j < n; j++)
            {
                Store(c, (i * n) + j, Dot<T, TV>(ref a0, ref b0, i, j, k), accumulate);
            }
        }
    }

    /// <summary>C[i..i+4, j..j+4]: 16 accumulators along k, whole vectors then the last one masked.</summary>
    private static void Tile4x4<T, TV>(ref T a0, ref T b0, int i, int j, int k, int n, Span<T> c, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TV : struct, IVector<TV, T>
    {
        nint ra0 = (nint)i * k, ra1 = ra0 + k, ra2 = ra1 + k, ra3 = ra2 + k;
        nint rb0 = (nint)j * k, rb1 = rb0 + k, rb2 = rb1 + k, rb3 = rb2 + k;
        TV c00 = TV.Zero, c01 = TV.Zero, c02 = TV.Zero, c03 = TV.Zero;
        TV c10 = TV.Zero, c11 = TV.Zero, c12 = TV.Zero, c13 = TV.Zero;
        TV c20 = TV.Zero, c21 = TV.Zero, c22 = TV.Zero, c23 = TV.Zero;
        TV c30 = TV.Zero, c31 = TV.Zero, c32 = TV.Zero, c33 = TV.Zero;
        int lanes = TV.Lanes, whole = k - (k % lanes);
        for (int p = 0; p <= k - 1; p += lanes)
        {
            TV x0, x1, x2, x3, y0, y1, y2, y3;
            if (p < whole)
            {
                (x0, x1, x2, x3) = (TV.Load(ref a0, ra0 + p), TV.Load(ref a0, ra1 + p), TV.Load(ref a0, ra2 + p), TV.Load(ref a0, ra3 + p));
                (y0, y1, y2, y3) = (TV.Load(ref b0, rb0 + p), TV.Load(ref b0, rb1 + p), TV.Load(ref b0, rb2 + p), TV.Load(ref b0, rb3 + p));
            }
            else
            {
                int left = k - p; // the masked last vector: its other lanes are 0 and add nothing
                (x0, x1, x2, x3) = (TV.LoadFirst(ref a0, ra0 + p, left, TV.Zero), TV.LoadFirst(ref a0, ra1 + p, left, TV.Zero), TV.LoadFirst(ref a0, ra2 + p, left, TV.Zero), TV.LoadFirst(ref a0, ra3 + p, left, TV.Zero));
                (y0, y1, y2, y3) = (TV.LoadFirst(ref b0, rb0 + p, left, TV.Zero), TV.LoadFirst(ref b0, rb1 + p, left, TV.Zero), TV.LoadFirst(ref b0, rb2 + p, left, TV.Zero), TV.LoadFirst(ref b0, rb3 + p, left, TV.Zero));
            }

            c00 = TV.MultiplyAdd(x0, y0, c00); c01 = TV.MultiplyAdd(x0, y1, c01); c02 = TV.MultiplyAdd(x0, y2, c02); c03 = TV.MultiplyAdd(x0, y3, c03);
            c10 = TV.MultiplyAdd(x1, y0, c10); c11 = TV.MultiplyAdd(x1, y1, c11); c12 = TV.MultiplyAdd(x1, y2, c12); c13 = TV.MultiplyAdd(x1, y3, c13);
            c20 = TV.MultiplyAdd(x2, y0, c20); c21 = TV.MultiplyAdd(x2, y1, c21); c22 = TV.MultiplyAdd(x2, y2, c22); c23 = TV.MultiplyAdd(x2, y3, c23);
            c30 = TV.MultiplyAdd(x3, y0, c30); c31 = TV.MultiplyAdd(x3, y1, c31); c32 = TV.MultiplyAdd(x3, y2, c32); c33 = TV.MultiplyAdd(x3, y3, c33);
        }

        int row = i * n;
        Store(c, row + j, TV.Sum(c00), accumulate); Store(c, row + j + 1, TV.Sum(c01), accumulate); Store(c, row + j + 2, TV.Sum(c02), accumulate); Store(c, row + j + 3, TV.Sum(c03), accumulate);
        row += n;
        Store(c, row + j, TV.Sum(c10), accumulate); Store(c, row + j + 1, TV.Sum(c11), accumulate); Store(c, row + j + 2, TV.Sum(c12), accumulate); Store(c, row + j + 3, TV.Sum(c13), accumulate);
        row += n;
        Store(c, row + j, TV.Sum(c20), accumulate); Store(c, row + j + 1, TV.Sum(c21), accumulate); Store(c, row + j + 2, TV.Sum(c22), accumulate); Store(c, row + j + 3, TV.Sum(c23), accumulate);
        row += n;
        Store(c, row + j, TV.Sum(c30), accumulate); Store(c, row + j + 1, TV.Sum(c31), accumulate); Store(c, row + j + 2, TV.Sum(c32), accumulate); Store(c, row + j + 3, TV.Sum(c33), accumulate);
    }

    /// <summary>Four edge elements (row of A, row of B) at once, each Σ_p A[i, p]·B[j, p] in its own vector accumulator, the last vector masked.</summary>
    private static (T, T, T, T) Four<T, TV>(ref T a0, ref T b0, (int I, int J) e0, (int I, int J) e1, (int I, int J) e2, (int I, int J) e3, int k)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TV : struct, IVector<TV, T>
    {
        nint ra0 = (nint)e0.I * k, ra1 = (nint)e1.I * k, ra2 = (nint)e2.I * k, ra3 = (nint)e3.I * k;
        nint rb0 = (nint)e0.J * k, rb1 = (nint)e1.J * k, rb2 = (nint)e2.J * k, rb3 = (nint)e3.J * k;
        TV s0 = TV.Zero, s1 = TV.Zero, s2 = TV.Zero, s3 = TV.Zero;
        int p = 0;
        for (; p <= k - TV.Lanes; p += TV.Lanes)
        {
            s0 = TV.MultiplyAdd(TV.Load(ref a0, ra0 + p), TV.Load(ref b0, rb0 + p), s0);
            s1 = TV.MultiplyAdd(TV.Load(ref a0, ra1 + p), TV.Load(ref b0, rb1 + p), s1);
            s2 = TV.MultiplyAdd(TV.Load(ref a0, ra2 + p), TV.Load(ref b0, rb2 + p), s2);
            s3 = TV.MultiplyAdd(TV.Load(ref a0, ra3 + p), TV.Load(ref b0, rb3 + p), s3);
        }

        if (p < k)
        {
            int left = k - p;
            s0 = TV.MultiplyAdd(TV.LoadFirst(ref a0, ra0 + p, left, TV.Zero), TV.LoadFirst(ref b0, rb0 + p, left, TV.Zero), s0);
            s1 = TV.MultiplyAdd(TV.LoadFirst(ref a0, ra1 + p, left, TV.Zero), TV.LoadFirst(ref b0, rb1 + p, left, TV.Zero), s1);
            s2 = TV.MultiplyAdd(TV.LoadFirst(ref a0, ra2 + p, left, TV.Zero), TV.LoadFirst(ref b0, rb2 + p, left, TV.Zero), s2);
            s3 = TV.MultiplyAdd(TV.LoadFirst(ref a0, ra3 + p, left, TV.Zero), TV.LoadFirst(ref b0, rb3 + p, left, TV.Zero), s3);
        }

        return (TV.Sum(s0), TV.Sum(s1), TV.Sum(s2), TV.Sum(s3));
    }

    /// <summary>One edge element: Σ_p A[i, p]·B[j, p] in one vector accumulator, the last vector masked.</summary>
    private static T Dot<T, TV>(ref T a0, ref T b0, int i, int j, int k)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TV : struct, IVector<TV, T>
    {
        nint ra = (nint)i * k, rb = (nint)j * k;
        TV sum = TV.Zero;
        int p = 0;
        for (; p <= k - TV.Lanes; p += TV.Lanes)
        {
            sum = TV.MultiplyAdd(TV.Load(ref a0, ra + p), TV.Load(ref b0, rb + p), sum);
        }

        if (p < k)
        {
            sum = TV.MultiplyAdd(TV.LoadFirst(ref a0, ra + p, k - p, TV.Zero), TV.LoadFirst(ref b0, rb + p, k - p, TV.Zero), sum);
        }

        return TV.Sum(sum);
    }

    private static void Store<T>(Span<T> c, int at, T sum, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
        => c[at] = accumulate ? c[at] + sum : sum;
}
