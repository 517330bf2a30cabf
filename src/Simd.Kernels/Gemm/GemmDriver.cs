using System.Numerics;
using System.Runtime.CompilerServices;

namespace Simd.Kernels;

/// <summary>
/// Walks C in micro-kernel tiles for one vector width: column panels of up to maxVectors vectors,
/// row tiles of up to maxRows rows, then the columns left over when n is not a multiple of the lanes.
/// Those leftover columns (2 of the network's 50) are handled inside the kernel, never by padding:
/// <list type="bullet">
/// <item>A's rows contiguous (C = A·B) and few leftover columns: dot products along k against the
/// packed columns — 2 columns cost 2/16 of a vector per step instead of a whole one;</item>
/// <item>A's columns contiguous (C = Aᵀ·B): the leftover columns become the rows of a small swapped
/// product Cᵗ = Bᵗ·A whose vectors run along m;</item>
/// <item>otherwise: one zero-padded vector of the packed columns, stored through a scratch strip.</item>
/// </list>
/// Every element's arithmetic depends only on (k, n, its column), never on m or on where its row
/// falls in a tile, so splitting rows among threads never changes a bit.
/// </summary>
internal static class GemmDriver
{
    /// <summary>
    /// C[m, n] = A·B (+ C) (+ bias) with A(i, p) = a[i·aRow + p·aK], B[p, j] = b[p·ldb + j],
    /// C[i, j] = c[i·ldc + j]. Requires m, n &gt; 0.
    /// </summary>
    public static void Run<T, TV>(
        ref T a, nint aRow, nint aK,
        ref T b, nint ldb,
        ref T bias,
        int m, int k, int n,
        ref T c, nint ldc,
        TileInit init, int maxRows, int maxVectors)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TV : struct, IVector<TV, T>
    {
        int lanes = TV.Lanes;
        int cols = n - (n % lanes);
        if (k > GemmBlocking.DepthBlock && (long)k * n * Unsafe.SizeOf<T>() > GemmBlocking.DepthBlockMinBytes && (init & (TileInit.Accumulate | TileInit.Continue)) == 0)
        {
            // Blocks of k when B is larger than L2: each block's rows of B stay in cache while every row tile of A
            // passes over them (the ch. 7 network's 4320 x 100 W2 was read again from memory for each of the batch's 13
            // row tiles; a B that fits, as the book's 784 x 50 W1, is better in one pass: blocks cost it 10%, measured). C holds the
            // sums between blocks and the next block continues them, so each element's chain of multiply-adds, and
            // its bits, are those of one pass; the bias comes after the last block, as after a single pass.
            int blocks = (k + GemmBlocking.DepthBlock - 1) / GemmBlocking.DepthBlock, step = (k + blocks - 1) / blocks; // even blocks: no short last one
            for (int p0 = 0; p0 < k; p0 += step)
            {
                int depth = Math.Min(step, k - p0);
                TileInit blockInit = (p0 == 0 ? TileInit.None : TileInit.Continue) | (p0 + depth == k ? init & TileInit.Bias : TileInit.None);
                Panels<T, TV>(ref Unsafe.Add(ref a, p0 * aK), aRow, aK, ref Unsafe.Add(ref b, p0 * ldb), ldb, ref bias, m, depth, cols, ref c, ldc, blockInit, maxRows, maxVectors);
            }
        }
        else
        {
            Panels<T, TV>(ref a, aRow, aK, ref b, ldb, ref bias, m, k, cols, ref c, ldc, init, maxRows, maxVectors);
        }

        int tail = n - cols;
        if (tail == 0)
        {
            return;
        }

        if (aK == 1 && 2 * tail <= lanes && k >= GemmBlocking.DotMinVectorsOfK * lanes)
        {
            DotTail<T, TV>(ref a, aRow, ref b, ldb, ref bias, m, k, cols, tail, ref c, ldc, init);
        }
        else if (aRow == 1)
        {
            SwappedTail<T, TV>(ref a, aK, ref b, ldb, ref bias, m, k, cols, tail, ref c, ldc, init, maxRows, maxVectors);
        }
        else
        {
            PaddedTail<T, TV>(ref a, aRow, aK, ref b, ldb, ref bias, m, k, cols, tail, ref c, ldc, init, maxRows);
        }
    }

    /// <summary>Columns [0, cols) of C (cols a multiple of the lanes), tile by tile.</summary>
    private static void Panels<T, TV>(
        ref T a, nint aRow, nint aK, ref T b, nint ldb, ref T bias, int m, int k, int cols, ref T c, nint ldc,
        TileInit init, int maxRows, int maxVectors)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TV : struct, IVector<TV, T>
    {
        int lanes = TV.Lanes;
        bool hasBias = (init & TileInit.Bias) != 0;
        // Only a tall row-major A (evaluation) streams from memory; a short one stays in cache.
        nint prefetch = aK == 1 && m >= GemmBlocking.PrefetchMinRows ? maxRows * aRow : 0;
        for (int j = 0; j < cols; j += maxVectors * lanes)
        {
            int vectors = Math.Min(maxVectors, (cols - j) / lanes);
            ref T bPanel = ref Unsafe.Add(ref b, j);
            ref T biasPanel = ref hasBias ? ref Unsafe.Add(ref bias, j) : ref bias;
            for (int i = 0; i < m; i += maxRows)
            {
                int rows = Math.Min(maxRows, m - i);
                ref T aTile = ref Unsafe.Add(ref a, i * aRow);
                ref T cTile = ref Unsafe.Add(ref c, (i * ldc) + j);
                nint next = i + (2 * maxRows) <= m ? prefetch : 0; // the last full tile has no full tile after it
                switch (vectors)
                {
                    case 3:
                        TileRows<T, TV, C3>(rows, ref aTile, aRow, aK, ref bPanel, ldb, k, ref cTile, ldc, ref biasPanel, init, next);
                        break;
                    case 2:
                        TileRows<T, TV, C2>(rows, ref aTile, aRow, aK, ref bPanel, ldb, k, ref cTile, ldc, ref biasPanel, init, next);
                        break;
                    default:
                        TileRows<T, TV, C1>(rows, ref aTile, aRow, aK, ref bPanel, ldb, k, ref cTile, ldc, ref biasPanel, init, next);
                        break;
                }
            }
        }
    }

    /// <summary>
    /// C[m, n] = Σ_t A_t·B_t, a direct convolution's sum over window taps: A_t(i, p) = a[t·aTap + i·aRow + p·aK],
    /// B_t[p, j] = b[bTaps[t] + p·ldb + j]. Each tile keeps its sums in registers over every tap (taps outer, k inner:
    /// the same chain of multiply-adds as one product a tap continuing the last, so the same bits), so C is written
    /// once instead of loaded and stored once a tap. Requires n a multiple of the lanes (the wide rows are).
    /// </summary>
    public static void RunTaps<T, TV>(
        ref T a, nint aRow, nint aK, nint aTap,
        ref T b, nint ldb, ReadOnlySpan<int> bTaps,
        int m, int k, int n,
        ref T c, nint ldc, int maxRows, int maxVectors)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TV : struct, IVector<TV, T>
        => WholeVectorPanels<T, TV>(ref a, aRow, aK, aTap, ref b, ldb, bTaps, [], m, k, n, ref c, ldc, TileInit.None, maxRows, maxVectors);

    /// <summary>
    /// C[m, n] (+)= A·B where B's columns are scattered by whole vectors: B[p, j] = b[p·ldb + columnAt[j]], each vector's
    /// columns contiguous (columnAt[j + i] = columnAt[j] + i within a vector). A direct convolution's dW reads its
    /// windows this way from a channels-last image (column (tap, channel) of position q at (q + tap offset)·C + channel),
    /// with no matrix of windows written first. Requires n a multiple of the lanes.
    /// </summary>
    public static void RunScatteredColumns<T, TV>(
        ref T a, nint aRow, nint aK,
        ref T b, nint ldb, ReadOnlySpan<int> columnAt,
        int m, int k, int n,
        ref T c, nint ldc, TileInit init, int maxRows, int maxVectors)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TV : struct, IVector<TV, T>
    {
        if (columnAt.Length < n)
        {
            throw new ArgumentException($"scattered columns need an offset for each ({n} columns, {columnAt.Length} offsets)", nameof(columnAt));
        }

        WholeVectorPanels<T, TV>(ref a, aRow, aK, 0, ref b, ldb, [], columnAt, m, k, n, ref c, ldc, init, maxRows, maxVectors);
    }

    /// <summary>
    /// The tiles of <see cref="RunTaps"/> (<paramref name="bTaps"/> not empty) or <see cref="RunScatteredColumns"/>
    /// (<paramref name="columnAt"/> not empty; else B's columns are contiguous), panel by panel, n a multiple of the lanes.
    /// </summary>
    private static void WholeVectorPanels<T, TV>(
        ref T a, nint aRow, nint aK, nint aTap, ref T b, nint ldb, ReadOnlySpan<int> bTaps, ReadOnlySpan<int> columnAt,
        int m, int k, int n, ref T c, nint ldc, TileInit init, int maxRows, int maxVectors)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TV : struct, IVector<TV, T>
    {
        int lanes = TV.Lanes;
        if (n % lanes != 0)
        {
            throw new ArgumentException($"these tiles need whole vectors of columns (got {n} columns, {lanes} lanes)", nameof(n));
        }

        for (int j = 0; j < n; j += maxVectors * lanes)
        {
            int vectors = Math.Min(maxVectors, (n - j) / lanes);
            bool scattered = !columnAt.IsEmpty;
            ref T bPanel = ref Unsafe.Add(ref b, scattered ? columnAt[j] : j);
            nint second = scattered && vectors > 1 ? columnAt[j + lanes] - columnAt[j] : 0;
            nint third = scattered && vectors > 2 ? columnAt[j + (2 * lanes)] - columnAt[j] : 0;
            for (int i = 0; i < m; i += maxRows)
            {
                int rows = Math.Min(maxRows, m - i);
                ref T aTile = ref Unsafe.Add(ref a, i * aRow);
                ref T cTile = ref Unsafe.Add(ref c, (i * ldc) + j);
                switch (vectors)
                {
                    case 3:
                        TileRows<T, TV, C3>(rows, ref aTile, aRow, aK, ref bPanel, ldb, k, ref cTile, ldc, ref Unsafe.NullRef<T>(), init, 0, bTaps, aTap, second, third);
                        break;
                    case 2:
                        TileRows<T, TV, C2>(rows, ref aTile, aRow, aK, ref bPanel, ldb, k, ref cTile, ldc, ref Unsafe.NullRef<T>(), init, 0, bTaps, aTap, second, third);
                        break;
                    default:
                        TileRows<T, TV, C1>(rows, ref aTile, aRow, aK, ref bPanel, ldb, k, ref cTile, ldc, ref Unsafe.NullRef<T>(), init, 0, bTaps, aTap, second, third);
                        break;
                }
            }
        }
    }

    private static void TileRows<T, TV, TVectors>(
        int rows, ref T a, nint aRow, nint aK, ref T b, nint ldb, int k, ref T c, nint ldc, ref T bias, TileInit init, nint prefetch = 0,
        ReadOnlySpan<int> bTaps = default, nint aTap = 0, nint bVector1 = 0, nint bVector2 = 0)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TV : struct, IVector<TV, T>
        where TVectors : struct, IConstant
    {
        switch (rows)
        {
            case 8: GemmMicroKernel.Tile<T, TV, C8, TVectors>(ref a, aRow, aK, ref b, ldb, k, ref c, ldc, ref bias, init, prefetch, bTaps, aTap, bVector1, bVector2); break;
            case 7: GemmMicroKernel.Tile<T, TV, C7, TVectors>(ref a, aRow, aK, ref b, ldb, k, ref c, ldc, ref bias, init, prefetch, bTaps, aTap, bVector1, bVector2); break;
            case 6: GemmMicroKernel.Tile<T, TV, C6, TVectors>(ref a, aRow, aK, ref b, ldb, k, ref c, ldc, ref bias, init, prefetch, bTaps, aTap, bVector1, bVector2); break;
            case 5: GemmMicroKernel.Tile<T, TV, C5, TVectors>(ref a, aRow, aK, ref b, ldb, k, ref c, ldc, ref bias, init, prefetch, bTaps, aTap, bVector1, bVector2); break;
            case 4: GemmMicroKernel.Tile<T, TV, C4, TVectors>(ref a, aRow, aK, ref b, ldb, k, ref c, ldc, ref bias, init, prefetch, bTaps, aTap, bVector1, bVector2); break;
            case 3: GemmMicroKernel.Tile<T, TV, C3, TVectors>(ref a, aRow, aK, ref b, ldb, k, ref c, ldc, ref bias, init, prefetch, bTaps, aTap, bVector1, bVector2); break;
            case 2: GemmMicroKernel.Tile<T, TV, C2, TVectors>(ref a, aRow, aK, ref b, ldb, k, ref c, ldc, ref bias, init, prefetch, bTaps, aTap, bVector1, bVector2); break;
            default: GemmMicroKernel.Tile<T, TV, C1, TVectors>(ref a, aRow, aK, ref b, ldb, k, ref c, ldc, ref bias, init, prefetch, bTaps, aTap, bVector1, bVector2); break;
        }
    }

    /// <summary>Leftover columns by dot products along k, against the columns packed as rows: Bᵗ [tail, k].</summary>
    private static void DotTail<T, TV>(
        ref T a, nint lda, ref T b, nint ldb, ref T bias, int m, int k, int cols, int tail, ref T c, nint ldc, TileInit init)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TV : struct, IVector<TV, T>
    {
        Span<T> packed = GemmScratch<T>.Tail(tail * k); // [tail, k]
        for (int p = 0; p < k; p++)
        {
            ref T bRow = ref Unsafe.Add(ref b, (p * ldb) + cols);
            for (int j = 0; j < tail; j++)
            {
                packed[(j * k) + p] = Unsafe.Add(ref bRow, j);
            }
        }

        bool hasBias = (init & TileInit.Bias) != 0;
        for (int j = 0; j < tail; j += GemmBlocking.DotColumns)
        {
            int columns = Math.Min(GemmBlocking.DotColumns, tail - j);
            ref T bt = ref packed[j * k];
            ref T biasColumns = ref hasBias ? ref Unsafe.Add(ref bias, cols + j) : ref bias;
            for (int i = 0; i < m; i += GemmBlocking.DotRows)
            {
                int rows = Math.Min(GemmBlocking.DotRows, m - i);
                ref T aRows = ref Unsafe.Add(ref a, i * lda);
                ref T cTile = ref Unsafe.Add(ref c, (i * ldc) + cols + j);
                switch ((rows, columns))
                {
                    case (4, 2): GemmMicroKernel.DotTile<T, TV, C4, C2>(ref aRows, lda, ref bt, k, k, ref cTile, ldc, ref biasColumns, init); break;
                    case (3, 2): GemmMicroKernel.DotTile<T, TV, C3, C2>(ref aRows, lda, ref bt, k, k, ref cTile, ldc, ref biasColumns, init); break;
                    case (2, 2): GemmMicroKernel.DotTile<T, TV, C2, C2>(ref aRows, lda, ref bt, k, k, ref cTile, ldc, ref biasColumns, init); break;
                    case (1, 2): GemmMicroKernel.DotTile<T, TV, C1, C2>(ref aRows, lda, ref bt, k, k, ref cTile, ldc, ref biasColumns, init); break;
                    case (4, _): GemmMicroKernel.DotTile<T, TV, C4, C1>(ref aRows, lda, ref bt, k, k, ref cTile, ldc, ref biasColumns, init); break;
                    case (3, _): GemmMicroKernel.DotTile<T, TV, C3, C1>(ref aRows, lda, ref bt, k, k, ref cTile, ldc, ref biasColumns, init); break;
                    case (2, _): GemmMicroKernel.DotTile<T, TV, C2, C1>(ref aRows, lda, ref bt, k, k, ref cTile, ldc, ref biasColumns, init); break;
                    default: GemmMicroKernel.DotTile<T, TV, C1, C1>(ref aRows, lda, ref bt, k, k, ref cTile, ldc, ref biasColumns, init); break;
                }
            }
        }
    }

    /// <summary>
    /// Leftover columns of C = Aᵀ·B (A stored [k, lda]): Cᵗ[j, i] = Σ_p B[p, cols + j]·A[p, i] is itself a
    /// product whose vectors run along m, so the leftover columns cost no padding. Its own leftover rows
    /// (m mod lanes) are summed in scalar in the same order with the same fused multiply-add: bitwise the
    /// values a lane would give.
    /// </summary>
    private static void SwappedTail<T, TV>(
        ref T a, nint lda, ref T b, nint ldb, ref T bias, int m, int k, int cols, int tail, ref T c, nint ldc,
        TileInit init, int maxRows, int maxVectors)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TV : struct, IVector<TV, T>
    {
        Span<T> swapped = GemmScratch<T>.Tail(tail * m); // [tail, m]
        ref T s = ref swapped[0];
        int mCols = m - (m % TV.Lanes);
        Panels<T, TV>(ref Unsafe.Add(ref b, cols), 1, ldb, ref a, lda, ref Unsafe.NullRef<T>(), tail, k, mCols, ref s, m, TileInit.None, maxRows, maxVectors);
        for (int j = 0; j < tail; j++)
        {
            for (int i = mCols; i < m; i++)
            {
                T sum = T.Zero;
                for (int p = 0; p < k; p++)
                {
                    sum = ScalarMath.MultiplyAdd(Unsafe.Add(ref b, (p * ldb) + cols + j), Unsafe.Add(ref a, (p * lda) + i), sum);
                }

                swapped[(j * m) + i] = sum;
            }
        }

        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < tail; j++)
            {
                Store(swapped[(j * m) + i], ref Unsafe.Add(ref c, (i * ldc) + cols + j), ref bias, cols + j, init);
            }
        }
    }

    /// <summary>Leftover columns as one zero-padded vector: B's columns packed [k, lanes], each tile through a scratch strip.</summary>
    private static void PaddedTail<T, TV>(
        ref T a, nint aRow, nint aK, ref T b, nint ldb, ref T bias, int m, int k, int cols, int tail, ref T c, nint ldc,
        TileInit init, int maxRows)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TV : struct, IVector<TV, T>
    {
        int lanes = TV.Lanes;
        Span<T> scratch = GemmScratch<T>.Tail((k + maxRows) * lanes);
        Span<T> packed = scratch[..(k * lanes)];  // [k, lanes]
        Span<T> strip = scratch[(k * lanes)..];    // [maxRows, lanes]
        packed.Clear();
        for (int p = 0; p < k; p++)
        {
            for (int j = 0; j < tail; j++)
            {
                packed[(p * lanes) + j] = Unsafe.Add(ref b, (p * ldb) + cols + j);
            }
        }

        ref T packedRef = ref scratch[0];
        ref T stripRef = ref strip[0];
        for (int i = 0; i < m; i += maxRows)
        {
            int rows = Math.Min(maxRows, m - i);
            TileRows<T, TV, C1>(rows, ref Unsafe.Add(ref a, i * aRow), aRow, aK, ref packedRef, lanes, k, ref stripRef, lanes, ref Unsafe.NullRef<T>(), TileInit.None);
            for (int r = 0; r < rows; r++)
            {
                for (int j = 0; j < tail; j++)
                {
                    Store(strip[(r * lanes) + j], ref Unsafe.Add(ref c, ((i + r) * ldc) + cols + j), ref bias, cols + j, init);
                }
            }
        }
    }

    /// <summary>One element: the products, then the old C, then the bias — the order the tiles use.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store<T>(T sum, ref T c, ref T bias, int column, TileInit init)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if ((init & TileInit.Accumulate) != 0)
        {
            sum += c;
        }

        if ((init & TileInit.Bias) != 0)
        {
            sum += Unsafe.Add(ref bias, column);
        }

        c = sum;
    }
}
