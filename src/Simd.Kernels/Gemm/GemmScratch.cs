using System.Numerics;

namespace Simd.Kernels;

/// <summary>
/// Per-thread scratch for the GEMM's packed panels (the leftover columns of B, Bᵀ for C = A·Bᵀ).
/// It grows to the largest size a thread has needed and is then reused, so a call allocates only the
/// first time a thread meets a larger shape — never in a warmed-up training step.
/// </summary>
internal static class GemmScratch<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    [ThreadStatic]
    private static T[]? t_packedB;

    [ThreadStatic]
    private static T[]? t_tail;

    /// <summary>Room for a packed B (or Bᵀ) panel.</summary>
    public static Span<T> PackedB(int length) => Get(ref t_packedB, length);

    /// <summary>Room for the leftover-columns work (packed columns and a strip of C).</summary>
    public static Span<T> Tail(int length) => Get(ref t_tail, length);

    private static Span<T> Get(ref T[]? buffer, int length)
    {
        if (buffer is null || buffer.Length < length)
        {
            buffer = GC.AllocateUninitializedArray<T>(Math.Max(length, 1024), pinned: true);
        }

        return buffer.AsSpan(0, length);
    }
}

/// <summary>Reserving the GEMM's per-thread scratch ahead of time.</summary>
public static class GemmScratch
{
    /// <summary>
    /// Grows the calling thread's scratch to what any product may need whose m, k and n are at most
    /// <paramref name="maxDimension"/> and whose B, for C = A·Bᵀ, has at most <paramref name="maxTransposedLength"/>
    /// elements, so that no later call on this thread allocates. Call it on every thread that will multiply
    /// (a worker pool's warm-up): a thread that first meets a shape mid-training would otherwise allocate there.
    /// </summary>
    public static void Reserve<T>(int maxDimension, int maxTransposedLength)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        // The leftover-column paths hold at most a vector's width (16 lanes at most) of columns against
        // k or m, plus a strip of rows of C.
        const int MaxLanes = 16;
        GemmScratch<T>.PackedB(maxTransposedLength);
        GemmScratch<T>.Tail(checked(MaxLanes * (maxDimension + MaxLanes)));
    }
}
