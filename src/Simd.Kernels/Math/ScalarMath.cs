using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace Simd.Kernels;

/// <summary>Scalar helpers that must round exactly as the vector paths do.</summary>
internal static class ScalarMath
{
    /// <summary>
    /// a·b + c rounded as the vectors' MultiplyAdd is on this machine: fused where the CPU has FMA,
    /// else product then sum. A scalar remainder of a vector loop uses it, so an element computed in
    /// a lane and the same element computed in the remainder are bitwise equal (thread-count independence).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T MultiplyAdd<T>(T a, T b, T c)
        where T : unmanaged, IFloatingPointIeee754<T>
        => Fma.IsSupported || System.Runtime.Intrinsics.Arm.AdvSimd.IsSupported ? T.FusedMultiplyAdd(a, b, c) : (a * b) + c;
}
