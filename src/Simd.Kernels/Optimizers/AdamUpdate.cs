using System.Numerics;
using System.Runtime.CompilerServices;

namespace Simd.Kernels;

/// <summary>
/// The book's Adam (common/optimizer.py, its incremental form):
/// m += (1 − β1)·(g − m); v += (1 − β2)·(g² − v); p −= lr_t·m / (√v + 1e-7),
/// with lr_t = lr·√(1 − β2^t) / (1 − β1^t) computed by the caller for step t.
/// m and v are flushed to 0 below the smallest normal value (<see cref="OptimizerConstants.FlushSubnormal{T}"/>).
/// </summary>
public static class AdamUpdate
{
    /// <summary>lr_t of step <paramref name="step"/> (1-based), in double as numpy computes it.</summary>
    public static double StepRate(double learningRate, double beta1, double beta2, long step) =>
        learningRate * Math.Sqrt(1.0 - Math.Pow(beta2, step)) / (1.0 - Math.Pow(beta1, step));

    /// <param name="oneMinusBeta1">1 − β1, rounded to T once.</param>
    /// <param name="oneMinusBeta2">1 − β2, rounded to T once.</param>
    public static void Apply<T>(
        IsaPath isa, ReadOnlySpan<T> gradients, T stepRate, T oneMinusBeta1, T oneMinusBeta2, Span<T> parameters, Span<T> m, Span<T> v)
        where T : unmanaged, IFloatingPointIeee754<T>
        => UpdateDriver.Run(isa, parameters, gradients, m, v, new Operator<T>(stepRate, oneMinusBeta1, oneMinusBeta2));

    public static (T Parameter, T M, T V) Reference<T>(T parameter, T gradient, T m, T v, T stepRate, T oneMinusBeta1, T oneMinusBeta2)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T m1 = OptimizerConstants.FlushSubnormal(m + (oneMinusBeta1 * (gradient - m)));
        T v1 = OptimizerConstants.FlushSubnormal(v + (oneMinusBeta2 * ((gradient * gradient) - v)));
        return (parameter - (stepRate * m1 / (T.Sqrt(v1) + OptimizerConstants.Epsilon<T>())), m1, v1);
    }

    private readonly struct Operator<T>(T stepRate, T oneMinusBeta1, T oneMinusBeta2) : IUpdateOperator<T>
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static int StateCount => 2;

        public void Invoke(ref T parameter, T gradient, ref T m, ref T v) =>
            (parameter, m, v) = Reference(parameter, gradient, m, v, stepRate, oneMinusBeta1, oneMinusBeta2);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Invoke<TV>(ref TV parameter, TV gradient, ref TV m, ref TV v)
            where TV : struct, IVector<TV, T>
        {
            m = OptimizerConstants.FlushSubnormal<T, TV>(m + (TV.Create(oneMinusBeta1) * (gradient - m)));
            v = OptimizerConstants.FlushSubnormal<T, TV>(v + (TV.Create(oneMinusBeta2) * ((gradient * gradient) - v)));
            parameter -= TV.Create(stepRate) * m / (TV.Sqrt(v) + TV.Create(OptimizerConstants.Epsilon<T>()));
        }
    }
}
