using System.Numerics;

namespace Simd.Kernels;

/// <summary>The constants of the book's optimizers (common/optimizer.py), in one place.</summary>
public static class OptimizerConstants
{
    /// <summary>The 1e-7 added to √h (AdaGrad, RMSprop) and √v (Adam) so the division never is by 0.</summary>
    public const double EpsilonValue = 1e-7;

    /// <summary><see cref="EpsilonValue"/> in T (float32 rounds it, as numpy's float32 arrays do).</summary>
    public static T Epsilon<T>()
        where T : unmanaged, IFloatingPointIeee754<T>
        => T.CreateTruncating(EpsilonValue);
}
