namespace Simd.Kernels;

/// <summary>
/// The instruction-set paths every kernel has, from the plainest to the widest.
/// The numeric order matters: a higher value is a wider vector.
/// </summary>
public enum IsaPath
{
    /// <summary>Plain scalar loops: the algorithmic reference path, runs everywhere.</summary>
    Scalar = 0,

    /// <summary>128-bit vectors (SSE / NEON).</summary>
    Vector128 = 1,

    /// <summary>256-bit vectors with fused multiply-add (AVX2 + FMA).</summary>
    Vector256 = 2,

    /// <summary>512-bit vectors (AVX-512 F/BW/CD/DQ/VL).</summary>
    Vector512 = 3,
}
