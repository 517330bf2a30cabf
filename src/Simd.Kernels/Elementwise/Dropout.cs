using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Simd.Kernels;

/// <summary>
/// The book's Dropout in training (common/layers.py: <c>mask = rand(*x.shape) &gt; ratio; x * mask</c>), with
/// the random numbers from a counter-based generator: element (row, unit) of a call keyed (k0, k1) keeps
/// its value when Uniform(k0, k1, row, unit) &gt; ratio. The same key, row and unit always give the same
/// decision, whichever worker computes which rows: masks are bitwise the same for any thread count, and
/// the numerical gradient sees the very mask backprop used. A dropped value becomes +0.
/// </summary>
public static class Dropout
{
    /// <summary>The uniform numbers have 24 bits (a float32's significand): u = (hash &gt;&gt; 8) / 2^24.</summary>
    private const int UniformBits = 24;

    /// <summary>
    /// x[r, j] = keep(k0, k1, firstRow + r, j) ? x[r, j] : 0 for the <paramref name="rows"/> rows of width
    /// <paramref name="units"/> in <paramref name="x"/>, in place.
    /// </summary>
    public static void Apply<T>(IsaPath isa, Span<T> x, int rows, int units, int firstRow, uint k0, uint k1, double ratio)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (x.Length < rows * units)
        {
            throw new ArgumentException($"{rows} rows of {units} need {rows * units} values", nameof(x));
        }

        uint threshold = Threshold(ratio);
        for (int r = 0; r < rows; r++)
        {
            Span<T> row = x.Slice(r * units, units);
            uint rowKey = RowKey(k0, firstRow + r);
            int done = typeof(T) == typeof(float)
                ? Isa.Effective(isa) switch
                {
                    IsaPath.Vector512 => Rows512(MemoryMarshal.Cast<T, uint>(row), rowKey, k1, threshold),
                    IsaPath.Vector256 => Rows256(MemoryMarshal.Cast<T, uint>(row), rowKey, k1, threshold),
                    _ => 0,
                }
                : 0;
            for (int j = done; j < units; j++)
            {
                if (!Keeps(rowKey, k1, j, threshold))
                {
                    row[j] = T.Zero;
                }
            }
        }
    }

    /// <summary>Scalar reference: whether element (row, unit) of a call keyed (k0, k1) is kept at <paramref name="ratio"/>.</summary>
    public static bool KeepReference(uint k0, uint k1, int row, int unit, double ratio) =>
        Uniform(Hash(RowKey(k0, row), k1, (uint)unit)) > ratio;

    /// <summary>The uniform number in [0, 1) of a hash: its top 24 bits.</summary>
    public static double Uniform(uint hash) => (hash >> (32 - UniformBits)) / (double)(1 << UniformBits);

    /// <summary>u &gt; ratio ⇔ (hash &gt;&gt; 8) &gt; floor(ratio · 2^24), since hash &gt;&gt; 8 is an integer.</summary>
    private static uint Threshold(double ratio) =>
        ratio < 0 ? 0 : ratio >= 1 ? uint.MaxValue : (uint)Math.Floor(ratio * (1 << UniformBits));

    private static bool Keeps(uint rowKey, uint k1, int unit, uint threshold) =>
        (Hash(rowKey, k1, (uint)unit) >> (32 - UniformBits)) > threshold;

    private static uint RowKey(uint k0, int row) => Mix(k0 ^ ((uint)row * 0x9E3779B1u));

    /// <summary>The element's hash: the row's key and the unit, mixed twice (lowbias32), with k1 between.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Hash(uint rowKey, uint k1, uint unit) => Mix(Mix(rowKey ^ (unit * 0x85EBCA6Bu)) ^ k1);

    /// <summary>lowbias32 (Wellons): a 32-bit finalizer with good avalanche, two multiplies.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Mix(uint x)
    {
        x ^= x >> 16;
        x *= 0x7FEB352Du;
        x ^= x >> 15;
        x *= 0x846CA68Bu;
        x ^= x >> 16;
        return x;
    }

    /// <summary>16 float32 units per step: their hashes in one vector, the dropped lanes cleared.</summary>
    private static int Rows512(Span<uint> row, uint rowKey, uint k1, uint threshold)
    {
        Vector512<uint> units = Vector512.Create(0u, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
        Vector512<uint> step = Vector512.Create(16u), key = Vector512.Create(rowKey), second = Vector512.Create(k1), limit = Vector512.Create(threshold);
        ref uint x = ref MemoryMarshal.GetReference(row);
        int j = 0;
        for (; j <= row.Length - 16; j += 16)
        {
            Vector512<uint> h = Mix512(Mix512(key ^ (units * 0x85EBCA6Bu)) ^ second);
            Vector512<uint> keep = Vector512.GreaterThan(Vector512.ShiftRightLogical(h, 32 - UniformBits), limit);
            (Vector512.LoadUnsafe(ref x, (nuint)j) & keep).StoreUnsafe(ref x, (nuint)j);
            units += step;
        }

        return j;
    }

    /// <summary>8 float32 units per step.</summary>
    private static int Rows256(Span<uint> row, uint rowKey, uint k1, uint threshold)
    {
        Vector256<uint> units = Vector256.Create(0u, 1, 2, 3, 4, 5, 6, 7);
        Vector256<uint> step = Vector256.Create(8u), key = Vector256.Create(rowKey), second = Vector256.Create(k1), limit = Vector256.Create(threshold);
        ref uint x = ref MemoryMarshal.GetReference(row);
        int j = 0;
        for (; j <= row.Length - 8; j += 8)
        {
            Vector256<uint> h = Mix256(Mix256(key ^ (units * 0x85EBCA6Bu)) ^ second);
            Vector256<uint> keep = Vector256.GreaterThan(Vector256.ShiftRightLogical(h, 32 - UniformBits), limit);
            (Vector256.LoadUnsafe(ref x, (nuint)j) & keep).StoreUnsafe(ref x, (nuint)j);
            units += step;
        }

        return j;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<uint> Mix512(Vector512<uint> x)
    {
        x ^= Vector512.ShiftRightLogical(x, 16);
        x *= 0x7FEB352Du;
        x ^= Vector512.ShiftRightLogical(x, 15);
        x *= 0x846CA68Bu;
        return x ^ Vector512.ShiftRightLogical(x, 16);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<uint> Mix256(Vector256<uint> x)
    {
        x ^= Vector256.ShiftRightLogical(x, 16);
        x *= 0x7FEB352Du;
        x ^= Vector256.ShiftRightLogical(x, 15);
        x *= 0x846CA68Bu;
        return x ^ Vector256.ShiftRightLogical(x, 16);
    }
}
