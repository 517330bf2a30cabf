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

    /// <summary>The smallest normal value of T (2⁻¹²⁶ in float32, 2⁻¹⁰²² in float64): below it lie the subnormals.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static T SmallestNormal<T>()
        where T : unmanaged, IFloatingPointIeee754<T>
        => T.CreateTruncating(typeof(T) == typeof(float) ? SmallestNormalSingle : SmallestNormalDouble); // constants: no pow per call

    private const double SmallestNormalSingle = 1.1754943508222875e-38;  // 2⁻¹²⁶
    private const double SmallestNormalDouble = 2.2250738585072014e-308; // 2⁻¹⁰²²

    /// <summary>
    /// 0 for a subnormal, else the value: what every optimizer does to the state it keeps (Adam's m and v, the
    /// momentum's velocity, RMSprop's h), a departure from the book's numpy. A weight whose gradient stays 0 (one a
    /// dead ReLU feeds) has that state multiplied by 0.9 every step, subnormal after about 800 steps, and arithmetic
    /// on subnormals takes a microcode assist on x86: Adam over the ch. 7 network's 434k weights went from 0.28 to
    /// 3.5 ms with a third of its m subnormal, and the network's step from 4.7 to 7 ms after its first epoch,
    /// measured. What such a state adds to a weight (Adam: lr_t·m / 1e-7 &lt; 10⁻³⁴) changes no weight above 10⁻²⁶ by a bit.
    /// </summary>
    public static T FlushSubnormal<T>(T x)
        where T : unmanaged, IFloatingPointIeee754<T>
        => T.IsSubnormal(x) ? T.Zero : x;

    /// <summary>The lanes of x strictly between ∓ the smallest normal set to 0, found by compares (no arithmetic on a subnormal).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    internal static TV FlushSubnormal<T, TV>(TV x)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TV : struct, IVector<TV, T>
    {
        TV smallest = TV.Create(SmallestNormal<T>());
        TV tiny = TV.Select(TV.LessThan(x, smallest), TV.LessThan(TV.Zero - smallest, x), TV.Zero);
        return TV.Select(tiny, TV.Zero, x);
    }
}
