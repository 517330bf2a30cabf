using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

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

        // Bᵀ packed [k, columns] a block of columns at a time, then C's columns = A·Bᵀ as a plain A·B while the block
        // is in cache (the ch. 7 network's W2ᵀ is 1.7 MB whole). Blocks are whole vectors wide, so every column keeps
        // the arithmetic it has in one product over all n (the leftover columns are the last block's, as they were).
        int block = Math.Min(n, GemmBlocking.TransposedColumns);
        Span<T> bt = GemmScratch<T>.PackedB(k * block);
        for (int j0 = 0; j0 < n; j0 += block)
        {
            int columns = Math.Min(block, n - j0);
            Transpose(b.Slice(j0 * k, columns * k), columns, k, bt);
            GemmNN.MultiplyColumns<T>(path, a, bt, m, k, columns, c[j0..], n, accumulate);
        }
    }

    /// <summary>
    /// to [k, n] = from [n, k]ᵀ: 8 x 8 blocks of floats through registers (AVX: unpack, shuffle, lane swap) where the
    /// CPU has them, the rest <see cref="TransposeBlock"/> rows of from at a time, so each row of to gets a run of values
    /// instead of one value per cache line (the ch. 7 network's 4320 x 100 W2 written column after column took 0.8 ms,
    /// a tenth of its step, measured).
    /// </summary>
    internal static void Transpose<T>(ReadOnlySpan<T> from, int n, int k, Span<T> to)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ShapeCheck.AtLeast(from, (long)n * k, nameof(from));
        ShapeCheck.AtLeast(to, (long)n * k, nameof(to));
        ref T source = ref MemoryMarshal.GetReference(from);
        ref T target = ref MemoryMarshal.GetReference(to);
        int rowsDone = 0, columnsDone = 0;
        if (typeof(T) == typeof(float) && Avx.IsSupported)
        {
            rowsDone = n - (n % 8);
            columnsDone = k - (k % 8);
            for (int j = 0; j < rowsDone; j += 8)
            {
                for (int p = 0; p < columnsDone; p += 8)
                {
                    Transpose8x8(ref Unsafe.As<T, float>(ref Unsafe.Add(ref source, ((nint)j * k) + p)), k, ref Unsafe.As<T, float>(ref Unsafe.Add(ref target, ((nint)p * n) + j)), n);
                }
            }
        }

        // What the blocks left: columns [columnsDone, k) of rows [0, rowsDone), then rows [rowsDone, n) whole.
        TransposeRuns(ref source, n, k, 0, rowsDone, columnsDone, ref target);
        TransposeRuns(ref source, n, k, rowsDone, n, 0, ref target);
    }

    /// <summary>Rows of from transposed together by the scalar runs: one cache line of float results per row of to.</summary>
    private const int TransposeBlock = 16;

    /// <summary>to[p, j] = from[j, p] for rows [j0, j1) of from and columns [p0, k), <see cref="TransposeBlock"/> rows at a time.</summary>
    private static void TransposeRuns<T>(ref T source, int n, int k, int j0, int j1, int p0, ref T target)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int block = j0; block < j1; block += TransposeBlock)
        {
            int rows = Math.Min(TransposeBlock, j1 - block);
            for (int p = p0; p < k; p++)
            {
                ref T run = ref Unsafe.Add(ref target, ((nint)p * n) + block);
                ref T column = ref Unsafe.Add(ref source, ((nint)block * k) + p);
                for (int j = 0; j < rows; j++)
                {
                    Unsafe.Add(ref run, j) = Unsafe.Add(ref column, (nint)j * k);
                }
            }
        }
    }

    /// <summary>The 8 x 8 block at from (rows fromStride apart) transposed to to (rows toStride apart).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8x8(ref float from, nint fromStride, ref float to, nint toStride)
    {
        Vector256<float> r0 = Vector256.LoadUnsafe(ref from), r1 = Vector256.LoadUnsafe(ref Unsafe.Add(ref from, fromStride));
        Vector256<float> r2 = Vector256.LoadUnsafe(ref Unsafe.Add(ref from, 2 * fromStride)), r3 = Vector256.LoadUnsafe(ref Unsafe.Add(ref from, 3 * fromStride));
        Vector256<float> r4 = Vector256.LoadUnsafe(ref Unsafe.Add(ref from, 4 * fromStride)), r5 = Vector256.LoadUnsafe(ref Unsafe.Add(ref from, 5 * fromStride));
        Vector256<float> r6 = Vector256.LoadUnsafe(ref Unsafe.Add(ref from, 6 * fromStride)), r7 = Vector256.LoadUnsafe(ref Unsafe.Add(ref from, 7 * fromStride));

        // Pairs of rows interleaved, then pairs of pairs: each 128-bit half then holds a 4 x 4 block of the result.
        Vector256<float> t0 = Avx.UnpackLow(r0, r1), t1 = Avx.UnpackHigh(r0, r1), t2 = Avx.UnpackLow(r2, r3), t3 = Avx.UnpackHigh(r2, r3);
        Vector256<float> t4 = Avx.UnpackLow(r4, r5), t5 = Avx.UnpackHigh(r4, r5), t6 = Avx.UnpackLow(r6, r7), t7 = Avx.UnpackHigh(r6, r7);
        Vector256<float> u0 = Avx.Shuffle(t0, t2, 0x44), u1 = Avx.Shuffle(t0, t2, 0xEE), u2 = Avx.Shuffle(t1, t3, 0x44), u3 = Avx.Shuffle(t1, t3, 0xEE);
        Vector256<float> u4 = Avx.Shuffle(t4, t6, 0x44), u5 = Avx.Shuffle(t4, t6, 0xEE), u6 = Avx.Shuffle(t5, t7, 0x44), u7 = Avx.Shuffle(t5, t7, 0xEE);

        // The low halves (from rows 0-3 and 4-7) make result rows 0-3, the high halves rows 4-7.
        Avx.Permute2x128(u0, u4, 0x20).StoreUnsafe(ref to);
        Avx.Permute2x128(u1, u5, 0x20).StoreUnsafe(ref Unsafe.Add(ref to, toStride));
        Avx.Permute2x128(u2, u6, 0x20).StoreUnsafe(ref Unsafe.Add(ref to, 2 * toStride));
        Avx.Permute2x128(u3, u7, 0x20).StoreUnsafe(ref Unsafe.Add(ref to, 3 * toStride));
        Avx.Permute2x128(u0, u4, 0x31).StoreUnsafe(ref Unsafe.Add(ref to, 4 * toStride));
        Avx.Permute2x128(u1, u5, 0x31).StoreUnsafe(ref Unsafe.Add(ref to, 5 * toStride));
        Avx.Permute2x128(u2, u6, 0x31).StoreUnsafe(ref Unsafe.Add(ref to, 6 * toStride));
        Avx.Permute2x128(u3, u7, 0x31).StoreUnsafe(ref Unsafe.Add(ref to, 7 * toStride));
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
