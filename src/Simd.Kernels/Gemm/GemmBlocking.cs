namespace Simd.Kernels;

/// <summary>
/// Every blocking constant of the GEMM, in one place, named by the tile it sets.
/// A tile is rows x vectors of C held in registers; the vector count times the lanes is its width.
/// </summary>
internal static class GemmBlocking
{
    /// <summary>512-bit tile: 8 rows x 3 vectors = 24 accumulators + 3 B vectors + 1 broadcast of 32 registers (8x48 floats, 8x24 doubles).</summary>
    public const int Rows512 = 8;

    /// <inheritdoc cref="Rows512"/>
    public const int Vectors512 = 3;

    /// <summary>256-bit tile: BLIS's 6 x 16 for AVX2 — 12 accumulators + 2 B vectors + 1 broadcast of 16 registers.</summary>
    public const int Rows256 = 6;

    /// <inheritdoc cref="Rows256"/>
    public const int Vectors256 = 2;

    /// <summary>128-bit tile: the same 6 x 2 vectors, 15 of 16 registers.</summary>
    public const int Rows128 = 6;

    /// <inheritdoc cref="Rows128"/>
    public const int Vectors128 = 2;

    /// <summary>Dot-product tail tile: 4 rows x 2 columns of C, 8 accumulators running along k.</summary>
    public const int DotRows = 4;

    /// <inheritdoc cref="DotRows"/>
    public const int DotColumns = 2;

    /// <summary>
    /// The most k a pass of the tiles covers when B is large (<see cref="DepthBlockMinBytes"/>): k is cut in even blocks
    /// of at most this; 256 rows of a 100-wide B are 100 KB, which stay in L2 while the row tiles of A go over them.
    /// </summary>
    public const int DepthBlock = 256;

    /// <summary>B [k, n] takes blocks of k only from this size on (bytes): half of a 2 MB L2. The book's 784 x 50 W1 (157 KB) does not.</summary>
    public const long DepthBlockMinBytes = 1L << 20;

    /// <summary>
    /// Columns of C = A·Bᵀ per packed block of Bᵀ: a multiple of every path's lanes (so no block but the last has
    /// leftover columns) and of every tile's width (48 floats on the 512-bit path: 256 columns ended each block with a
    /// one-vector panel); 240 columns of a 100-deep B are 94 KB, packed and multiplied while in L2.
    /// </summary>
    public const int TransposedColumns = 240;

    /// <summary>
    /// From this many rows of a row-major A on, each tile prefetches the next tile's rows into L2 as it
    /// goes: evaluation's 60,000 x 784 streams from memory and would otherwise stall the tile on every new line.
    /// </summary>
    public const int PrefetchMinRows = 512;

    /// <summary>
    /// The dot-product tail pays when k spans at least this many vectors (its lane sums are paid once per
    /// element) and the leftover columns are at most half a vector (else one zero-padded vector wastes less).
    /// </summary>
    public const int DotMinVectorsOfK = 4;
}
