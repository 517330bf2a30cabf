using System.Numerics;

namespace Simd.Kernels;

/// <summary>
/// The vector operations the kernels are written against, once, for every width: implemented by
/// <see cref="V128{T}"/>, <see cref="V256{T}"/> and <see cref="V512{T}"/> (thin wrappers: the generated loops
/// use the registers directly, with no spills — checked with DOTNET_JitDisasm). The JIT does add a register copy
/// at many multiply-adds whose operand dies there (10 in the 24 of the 8x3 GEMM tile); a tile written on the raw
/// Vector512 without them timed the same in the network's GEMMs (the CPU renames such copies away), so the
/// wrappers stay. It is System.Runtime.Intrinsics' own ISimdVector idea, which .NET keeps internal.
/// </summary>
internal interface IVector<TSelf, T>
    where TSelf : struct, IVector<TSelf, T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Elements per vector.</summary>
    static abstract int Lanes { get; }

    static abstract TSelf Zero { get; }

    static abstract TSelf Create(T value);

    /// <summary>Loads <see cref="Lanes"/> elements from <paramref name="source"/> + <paramref name="offset"/> (no bounds check).</summary>
    static abstract TSelf Load(ref T source, nint offset);

    /// <summary>Stores all lanes at <paramref name="destination"/> + <paramref name="offset"/> (no bounds check).</summary>
    static abstract void Store(TSelf value, ref T destination, nint offset);

    /// <summary>
    /// Loads the first <paramref name="count"/> (1..Lanes) elements and fills the other lanes with
    /// <paramref name="fill"/>; never touches memory past the count (masked load where the CPU has one).
    /// </summary>
    static abstract TSelf LoadFirst(ref T source, nint offset, int count, TSelf fill);

    /// <summary>Stores the first <paramref name="count"/> (1..Lanes) lanes; memory past them is not touched.</summary>
    static abstract void StoreFirst(TSelf value, ref T destination, nint offset, int count);

    /// <summary>The value of one lane.</summary>
    static abstract T GetElement(TSelf value, int index);

    /// <summary>All-ones in lane <paramref name="index"/>, zero elsewhere.</summary>
    static abstract TSelf LaneEquals(int index);

    static abstract TSelf operator +(TSelf left, TSelf right);

    static abstract TSelf operator -(TSelf left, TSelf right);

    static abstract TSelf operator *(TSelf left, TSelf right);

    static abstract TSelf operator /(TSelf left, TSelf right);

    /// <summary>a·b + c, fused (one rounding) wherever the CPU has FMA, else multiply then add.</summary>
    static abstract TSelf MultiplyAdd(TSelf a, TSelf b, TSelf c);

    /// <summary>Lane-wise square root, correctly rounded (IEEE 754 sqrt, as Math.Sqrt).</summary>
    static abstract TSelf Sqrt(TSelf x);

    /// <summary>Lane-wise maximum, the platform's instruction (NaN handling is the caller's business).</summary>
    static abstract TSelf Max(TSelf left, TSelf right);

    /// <summary>Lane-wise minimum, the platform's instruction.</summary>
    static abstract TSelf Min(TSelf left, TSelf right);

    /// <summary>All-ones lanes where left &lt;= right.</summary>
    static abstract TSelf LessThanOrEqual(TSelf left, TSelf right);

    /// <summary>All-ones lanes where left &lt; right.</summary>
    static abstract TSelf LessThan(TSelf left, TSelf right);

    /// <summary>All-ones lanes where left == right (false for NaN).</summary>
    static abstract TSelf Equal(TSelf left, TSelf right);

    /// <summary>Per lane: mask ? whenTrue : whenFalse (mask lanes all-ones or all-zero).</summary>
    static abstract TSelf Select(TSelf mask, TSelf whenTrue, TSelf whenFalse);

    /// <summary>All-ones lanes for the lanes below <paramref name="count"/>: a mask for a partial vector.</summary>
    static abstract TSelf LanesBelow(int count);

    /// <summary>Sum of all lanes.</summary>
    static abstract T Sum(TSelf value);

    /// <summary>The sums of all lanes of four vectors, each in a fixed order (a transposing tree where the width allows).</summary>
    static abstract (T A, T B, T C, T D) SumEach(TSelf a, TSelf b, TSelf c, TSelf d);

    /// <summary>Maximum of all lanes.</summary>
    static abstract T MaxAcross(TSelf value);

    /// <summary>Index of the first lane whose mask bit is set, or <see cref="Lanes"/> when none is.</summary>
    static abstract int FirstSetLane(TSelf mask);

    /// <summary>x·2ⁿ for integral-valued n with |n| &lt; 2048 (exp's final scaling).</summary>
    static abstract TSelf ScaleByPowerOfTwo(TSelf x, TSelf n);
}
