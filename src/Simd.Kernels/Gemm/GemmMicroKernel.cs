using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace Simd.Kernels;

/// <summary>What a tile adds to its products before storing: nothing, the old C, a bias row, or both.</summary>
[Flags]
internal enum TileInit
{
    None = 0,
    Accumulate = 1,
    Bias = 2,

    /// <summary>The products continue from C's values, which hold the sums of an earlier block of k (the same chain of multiply-adds, so the same bits as one pass).</summary>
    Continue = 4,
}

/// <summary>
/// The GEMM micro-kernels (BLIS style), written once for every vector width.
/// <see cref="Tile"/> keeps a TRows x (TVectors·lanes) block of C in registers and streams k:
/// each step loads TVectors vectors of one row of B, broadcasts one element of A per row and issues
/// TRows·TVectors independent fused multiply-adds (24 on the 512-bit path: enough chains to keep both
/// FMA pipes busy through the FMA latency). Rows and vectors are type arguments, so each tile shape
/// compiles to straight-line code without the unused accumulators.
/// A(r, p) is read at a[r·aRow + p·aK]: (k, 1) for a row-major A (C = A·B), (1, lda) for a
/// transposed one (C = Aᵀ·B), so one kernel serves both layouts.
/// </summary>
internal static class GemmMicroKernel
{
    /// <summary>C[r, 0..TVectors·lanes) = Σ_p A(r, p)·B[p, ..] (+ C) (+ bias), for r &lt; TRows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void Tile<T, TV, TRows, TVectors>(
        ref T a, nint aRow, nint aK,   // A(r, p) = a[r·aRow + p·aK]
        ref T b, nint ldb,             // B[p, j] = b[p·ldb + j]
        int k,
        ref T c, nint ldc,             // C[r, j] = c[r·ldc + j]
        ref T bias, TileInit init,     // bias[j], read only with TileInit.Bias
        nint prefetch = 0,             // when not 0 (row-major A): the next tile's A starts at a + prefetch
        ReadOnlySpan<int> bTaps = default, // when not empty: the sum runs over these offsets of B, A moving aTap each (a direct convolution's window taps)
        nint aTap = 0,
        nint bVector1 = 0, nint bVector2 = 0) // when not 0: where B's second and third vectors start from its first (else lanes and 2·lanes apart)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TV : struct, IVector<TV, T>
        where TRows : struct, IConstant
        where TVectors : struct, IConstant
    {
        nint lanes = TV.Lanes;
        TV c00 = TV.Zero, c01 = TV.Zero, c02 = TV.Zero;
        TV c10 = TV.Zero, c11 = TV.Zero, c12 = TV.Zero;
        TV c20 = TV.Zero, c21 = TV.Zero, c22 = TV.Zero;
        TV c30 = TV.Zero, c31 = TV.Zero, c32 = TV.Zero;
        TV c40 = TV.Zero, c41 = TV.Zero, c42 = TV.Zero;
        TV c50 = TV.Zero, c51 = TV.Zero, c52 = TV.Zero;
        TV c60 = TV.Zero, c61 = TV.Zero, c62 = TV.Zero;
        TV c70 = TV.Zero, c71 = TV.Zero, c72 = TV.Zero;
        if ((init & TileInit.Continue) != 0)
        {
            Start<T, TV, TVectors>(ref c, out c00, out c01, out c02);
            if (TRows.Value > 1)
            {
                Start<T, TV, TVectors>(ref Unsafe.Add(ref c, 1 * ldc), out c10, out c11, out c12);
            }

            if (TRows.Value > 2)
            {
                Start<T, TV, TVectors>(ref Unsafe.Add(ref c, 2 * ldc), out c20, out c21, out c22);
            }

            if (TRows.Value > 3)
            {
                Start<T, TV, TVectors>(ref Unsafe.Add(ref c, 3 * ldc), out c30, out c31, out c32);
            }

            if (TRows.Value > 4)
            {
                Start<T, TV, TVectors>(ref Unsafe.Add(ref c, 4 * ldc), out c40, out c41, out c42);
            }

            if (TRows.Value > 5)
            {
                Start<T, TV, TVectors>(ref Unsafe.Add(ref c, 5 * ldc), out c50, out c51, out c52);
            }

            if (TRows.Value > 6)
            {
                Start<T, TV, TVectors>(ref Unsafe.Add(ref c, 6 * ldc), out c60, out c61, out c62);
            }

            if (TRows.Value > 7)
            {
                Start<T, TV, TVectors>(ref Unsafe.Add(ref c, 7 * ldc), out c70, out c71, out c72);
            }
        }

        ref T a1 = ref TRows.Value > 1 ? ref Unsafe.Add(ref a, 1 * aRow) : ref a;
        ref T a2 = ref TRows.Value > 2 ? ref Unsafe.Add(ref a, 2 * aRow) : ref a;
        ref T a3 = ref TRows.Value > 3 ? ref Unsafe.Add(ref a, 3 * aRow) : ref a;
        ref T a4 = ref TRows.Value > 4 ? ref Unsafe.Add(ref a, 4 * aRow) : ref a;
        ref T a5 = ref TRows.Value > 5 ? ref Unsafe.Add(ref a, 5 * aRow) : ref a;
        ref T a6 = ref TRows.Value > 6 ? ref Unsafe.Add(ref a, 6 * aRow) : ref a;
        ref T a7 = ref TRows.Value > 7 ? ref Unsafe.Add(ref a, 7 * aRow) : ref a;
        int line = 64 / Unsafe.SizeOf<T>();
        int taps = Math.Max(1, bTaps.Length);
        nint b1At = bVector1 != 0 ? bVector1 : lanes, b2At = bVector2 != 0 ? bVector2 : 2 * lanes;
        for (int t = 0; t < taps; t++)
        {
            nint ai = t * aTap, bi = bTaps.IsEmpty ? 0 : bTaps[t];
            for (int block = 0; block < k; block += line)
            {
                // Every cache line of k: ask for the same line of the next tile's rows (into L2), so a tall A
                // streaming from memory arrives while this tile computes (GemmBlocking.PrefetchMinRows). Done per
                // block of k rather than tested per step, so the inner loop carries no extra branch.
                if (prefetch != 0 && Sse.IsSupported)
                {
                    for (nint r = 0; r < TRows.Value; r++)
                    {
                        Sse.Prefetch1(Unsafe.AsPointer(ref Unsafe.Add(ref a, prefetch + (r * aRow) + block)));
                    }
                }

                int blockEnd = Math.Min(k, block + line);
                for (int p = block; p < blockEnd; p++)
                {
                    TV b0 = TV.Load(ref b, bi);
                    TV b1 = TVectors.Value > 1 ? TV.Load(ref b, bi + b1At) : TV.Zero;
                    TV b2 = TVectors.Value > 2 ? TV.Load(ref b, bi + b2At) : TV.Zero;
                    TV x0 = TV.Create(Unsafe.Add(ref a, ai));
                    c00 = TV.MultiplyAdd(x0, b0, c00);
                    if (TVectors.Value > 1)
                    {
                        c01 = TV.MultiplyAdd(x0, b1, c01);
                    }

                    if (TVectors.Value > 2)
                    {
                        c02 = TV.MultiplyAdd(x0, b2, c02);
                    }

                    if (TRows.Value > 1)
                    {
                        TV x1 = TV.Create(Unsafe.Add(ref a1, ai));
                        c10 = TV.MultiplyAdd(x1, b0, c10);
                        if (TVectors.Value > 1)
                        {
                            c11 = TV.MultiplyAdd(x1, b1, c11);
                        }

                        if (TVectors.Value > 2)
                        {
                            c12 = TV.MultiplyAdd(x1, b2, c12);
                        }
                    }

                    if (TRows.Value > 2)
                    {
                        TV x2 = TV.Create(Unsafe.Add(ref a2, ai));
                        c20 = TV.MultiplyAdd(x2, b0, c20);
                        if (TVectors.Value > 1)
                        {
                            c21 = TV.MultiplyAdd(x2, b1, c21);
                        }

                        if (TVectors.Value > 2)
                        {
                            c22 = TV.MultiplyAdd(x2, b2, c22);
                        }
                    }

                    if (TRows.Value > 3)
                    {
                        TV x3 = TV.Create(Unsafe.Add(ref a3, ai));
                        c30 = TV.MultiplyAdd(x3, b0, c30);
                        if (TVectors.Value > 1)
                        {
                            c31 = TV.MultiplyAdd(x3, b1, c31);
                        }

                        if (TVectors.Value > 2)
                        {
                            c32 = TV.MultiplyAdd(x3, b2, c32);
                        }
                    }

                    if (TRows.Value > 4)
                    {
                        TV x4 = TV.Create(Unsafe.Add(ref a4, ai));
                        c40 = TV.MultiplyAdd(x4, b0, c40);
                        if (TVectors.Value > 1)
                        {
                            c41 = TV.MultiplyAdd(x4, b1, c41);
                        }

                        if (TVectors.Value > 2)
                        {
                            c42 = TV.MultiplyAdd(x4, b2, c42);
                        }
                    }

                    if (TRows.Value > 5)
                    {
                        TV x5 = TV.Create(Unsafe.Add(ref a5, ai));
                        c50 = TV.MultiplyAdd(x5, b0, c50);
                        if (TVectors.Value > 1)
                        {
                            c51 = TV.MultiplyAdd(x5, b1, c51);
                        }

                        if (TVectors.Value > 2)
                        {
                            c52 = TV.MultiplyAdd(x5, b2, c52);
                        }
                    }

                    if (TRows.Value > 6)
                    {
                        TV x6 = TV.Create(Unsafe.Add(ref a6, ai));
                        c60 = TV.MultiplyAdd(x6, b0, c60);
                        if (TVectors.Value > 1)
                        {
                            c61 = TV.MultiplyAdd(x6, b1, c61);
                        }

                        if (TVectors.Value > 2)
                        {
                            c62 = TV.MultiplyAdd(x6, b2, c62);
                        }
                    }

                    if (TRows.Value > 7)
                    {
                        TV x7 = TV.Create(Unsafe.Add(ref a7, ai));
                        c70 = TV.MultiplyAdd(x7, b0, c70);
                        if (TVectors.Value > 1)
                        {
                            c71 = TV.MultiplyAdd(x7, b1, c71);
                        }

                        if (TVectors.Value > 2)
                        {
                            c72 = TV.MultiplyAdd(x7, b2, c72);
                        }
                    }

                    ai += aK;
                    bi += ldb;
                }
            }
        }

        Finish<T, TV, TVectors>(c00, c01, c02, ref Unsafe.Add(ref c, 0), ref bias, init);
        if (TRows.Value > 1)
        {
            Finish<T, TV, TVectors>(c10, c11, c12, ref Unsafe.Add(ref c, 1 * ldc), ref bias, init);
        }

        if (TRows.Value > 2)
        {
            Finish<T, TV, TVectors>(c20, c21, c22, ref Unsafe.Add(ref c, 2 * ldc), ref bias, init);
        }

        if (TRows.Value > 3)
        {
            Finish<T, TV, TVectors>(c30, c31, c32, ref Unsafe.Add(ref c, 3 * ldc), ref bias, init);
        }

        if (TRows.Value > 4)
        {
            Finish<T, TV, TVectors>(c40, c41, c42, ref Unsafe.Add(ref c, 4 * ldc), ref bias, init);
        }

        if (TRows.Value > 5)
        {
            Finish<T, TV, TVectors>(c50, c51, c52, ref Unsafe.Add(ref c, 5 * ldc), ref bias, init);
        }

        if (TRows.Value > 6)
        {
            Finish<T, TV, TVectors>(c60, c61, c62, ref Unsafe.Add(ref c, 6 * ldc), ref bias, init);
        }

        if (TRows.Value > 7)
        {
            Finish<T, TV, TVectors>(c70, c71, c72, ref Unsafe.Add(ref c, 7 * ldc), ref bias, init);
        }

    }

    /// <summary>One tile row's accumulators from C (<see cref="TileInit.Continue"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Start<T, TV, TVectors>(ref T c, out TV v0, out TV v1, out TV v2)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TV : struct, IVector<TV, T>
        where TVectors : struct, IConstant
    {
        v0 = TV.Load(ref c, 0);
        v1 = TVectors.Value > 1 ? TV.Load(ref c, TV.Lanes) : TV.Zero;
        v2 = TVectors.Value > 2 ? TV.Load(ref c, 2 * (nint)TV.Lanes) : TV.Zero;
    }

    /// <summary>Adds the old C and the bias as asked (in that order, after the products) and stores one tile row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Finish<T, TV, TVectors>(TV v0, TV v1, TV v2, ref T c, ref T bias, TileInit init)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TV : struct, IVector<TV, T>
        where TVectors : struct, IConstant
    {
        nint lanes = TV.Lanes;
        if ((init & TileInit.Accumulate) != 0)
        {
            v0 += TV.Load(ref c, 0);
            v1 = TVectors.Value > 1 ? v1 + TV.Load(ref c, lanes) : v1;
            v2 = TVectors.Value > 2 ? v2 + TV.Load(ref c, 2 * lanes) : v2;
        }

        if ((init & TileInit.Bias) != 0)
        {
            v0 += TV.Load(ref bias, 0);
            v1 = TVectors.Value > 1 ? v1 + TV.Load(ref bias, lanes) : v1;
            v2 = TVectors.Value > 2 ? v2 + TV.Load(ref bias, 2 * lanes) : v2;
        }

        TV.Store(v0, ref c, 0);
        if (TVectors.Value > 1)
        {
            TV.Store(v1, ref c, lanes);
        }

        if (TVectors.Value > 2)
        {
            TV.Store(v2, ref c, 2 * lanes);
        }
    }

    /// <summary>
    /// Dot-product tile for the last few columns of C = A·B when they are fewer than half a vector:
    /// C[r, j] = Σ_p A[r, p]·Bᵗ[j, p], vectors running along k over A's rows and the packed columns
    /// Bᵗ (TRows &lt;= 4, TColumns &lt;= 2). The lanes are summed, then the k remainder is added in order.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void DotTile<T, TV, TRows, TColumns>(
        ref T a, nint lda,      // A[r, p] = a[r·lda + p]
        ref T bt, nint ldbt,    // Bᵗ[j, p] = bt[j·ldbt + p]
        int k,
        ref T c, nint ldc,      // C[r, j] = c[r·ldc + j]
        ref T bias, TileInit init)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TV : struct, IVector<TV, T>
        where TRows : struct, IConstant
        where TColumns : struct, IConstant
    {
        int lanes = TV.Lanes;
        TV s00 = TV.Zero, s01 = TV.Zero, s10 = TV.Zero, s11 = TV.Zero, s20 = TV.Zero, s21 = TV.Zero, s30 = TV.Zero, s31 = TV.Zero;
        ref T bt1 = ref TColumns.Value > 1 ? ref Unsafe.Add(ref bt, ldbt) : ref bt;
        ref T a1 = ref TRows.Value > 1 ? ref Unsafe.Add(ref a, lda) : ref a;
        ref T a2 = ref TRows.Value > 2 ? ref Unsafe.Add(ref a, 2 * lda) : ref a;
        ref T a3 = ref TRows.Value > 3 ? ref Unsafe.Add(ref a, 3 * lda) : ref a;
        int p = 0;
        for (; p <= k - lanes; p += lanes)
        {
            TV b0 = TV.Load(ref bt, p);
            TV b1 = TColumns.Value > 1 ? TV.Load(ref bt1, p) : TV.Zero;
            TV x0 = TV.Load(ref a, p);
            s00 = TV.MultiplyAdd(x0, b0, s00);
            s01 = TColumns.Value > 1 ? TV.MultiplyAdd(x0, b1, s01) : s01;
            if (TRows.Value > 1)
            {
                TV x1 = TV.Load(ref a1, p);
                s10 = TV.MultiplyAdd(x1, b0, s10);
                s11 = TColumns.Value > 1 ? TV.MultiplyAdd(x1, b1, s11) : s11;
            }

            if (TRows.Value > 2)
            {
                TV x2 = TV.Load(ref a2, p);
                s20 = TV.MultiplyAdd(x2, b0, s20);
                s21 = TColumns.Value > 1 ? TV.MultiplyAdd(x2, b1, s21) : s21;
            }

            if (TRows.Value > 3)
            {
                TV x3 = TV.Load(ref a3, p);
                s30 = TV.MultiplyAdd(x3, b0, s30);
                s31 = TColumns.Value > 1 ? TV.MultiplyAdd(x3, b1, s31) : s31;
            }
        }

        FinishDot(TV.Sum(s00), ref a, ref bt, p, k, ref c, ref bias, init);
        if (TColumns.Value > 1)
        {
            FinishDot(TV.Sum(s01), ref a, ref bt1, p, k, ref Unsafe.Add(ref c, 1), ref Unsafe.Add(ref bias, 1), init);
        }

        if (TRows.Value > 1)
        {
            FinishDot(TV.Sum(s10), ref a1, ref bt, p, k, ref Unsafe.Add(ref c, ldc), ref bias, init);
            if (TColumns.Value > 1)
            {
                FinishDot(TV.Sum(s11), ref a1, ref bt1, p, k, ref Unsafe.Add(ref c, ldc + 1), ref Unsafe.Add(ref bias, 1), init);
            }
        }

        if (TRows.Value > 2)
        {
            FinishDot(TV.Sum(s20), ref a2, ref bt, p, k, ref Unsafe.Add(ref c, 2 * ldc), ref bias, init);
            if (TColumns.Value > 1)
            {
                FinishDot(TV.Sum(s21), ref a2, ref bt1, p, k, ref Unsafe.Add(ref c, (2 * ldc) + 1), ref Unsafe.Add(ref bias, 1), init);
            }
        }

        if (TRows.Value > 3)
        {
            FinishDot(TV.Sum(s30), ref a3, ref bt, p, k, ref Unsafe.Add(ref c, 3 * ldc), ref bias, init);
            if (TColumns.Value > 1)
            {
                FinishDot(TV.Sum(s31), ref a3, ref bt1, p, k, ref Unsafe.Add(ref c, (3 * ldc) + 1), ref Unsafe.Add(ref bias, 1), init);
            }
        }
    }

    /// <summary>Adds the k remainder in order, then the old C and the bias, and stores one element.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void FinishDot<T>(T sum, ref T a, ref T bt, int from, int k, ref T c, ref T bias, TileInit init)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int p = from; p < k; p++)
        {
            sum = ScalarMath.MultiplyAdd(Unsafe.Add(ref a, p), Unsafe.Add(ref bt, p), sum);
        }

        if ((init & TileInit.Accumulate) != 0)
        {
            sum += c;
        }

        if ((init & TileInit.Bias) != 0)
        {
            sum += bias;
        }

        c = sum;
    }
}
