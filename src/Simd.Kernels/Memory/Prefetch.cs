using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace Simd.Kernels;

/// <summary>Cache hints: the one place outside the GEMM that knows the CPU's prefetch instructions.</summary>
public static class Prefetch
{
    /// <summary>The cache line the hints step by.</summary>
    private const int LineBytes = 64;

    /// <summary>
    /// Asks the CPU to bring <paramref name="data"/> into the L2 cache, a line at a time (a hint: nothing
    /// happens on CPUs without prefetch instructions, and it never faults).
    /// </summary>
    public static unsafe void ToL2(ReadOnlySpan<byte> data)
    {
        if (!Sse.IsSupported || data.IsEmpty)
        {
            return;
        }

        ref byte start = ref MemoryMarshal.GetReference(data);
        for (int offset = 0; offset < data.Length; offset += LineBytes)
        {
            Sse.Prefetch1(Unsafe.AsPointer(ref Unsafe.Add(ref start, offset)));
        }
    }
}
