using System.Numerics;
using System.Runtime.CompilerServices;

namespace Simd.Kernels;

/// <summary>
/// The book's Nesterov (common/optimizer.py, after arXiv:1212.0901), in its order:
/// p += m·m·v; p −= (1 + m)·lr·g; v *= m; v −= lr·g (v flushed to 0 below the smallest normal:
/// <see cref="OptimizerConstants.FlushSubnormal{T}"/>).
/// </summary>
public static class NesterovUpdate
{
    /// <param name="momentumSquared">m·m, rounded to T once (numpy computes the scalar product first).</param>
    /// <param name="onePlusMomentumTimesRate">(1 + m)·lr, likewise.</param>
    public static void Apply<T>(
        IsaPath isa, ReadOnlySpan<T> gradients, T learningRate, T momentum, T momentumSquared, T onePlusMomentumTimesRate,
        Span<T> parameters, Span<T> velocity)
        where T : unmanaged, IFloatingPointIeee754<T>
        => UpdateDriver.Run(isa, parameters, gradients, velocity, default, new Operator<T>(learningRate, momentum, momentumSquared, onePlusMomentumTimesRate));

    public static (T Parameter, T Velocity) Reference<T>(
        T parameter, T gradient, T velocity, T learningRate, T momentum, T momentumSquared, T onePlusMomentumTimesRate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T p = parameter + (momentumSquared * velocity);
        p -= onePlusMomentumTimesRate * gradient;
        T v = velocity * momentum;
        v = OptimizerConstants.FlushSubnormal(v - (learningRate * gradient));
        return (p, v);
    }

    private readonly struct Operator<T>(T learningRate, T momentum, T momentumSquared, T onePlusMomentumTimesRate) : IUpdateOperator<T>
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static int StateCount => 1;

        public void Invoke(ref T parameter, T gradient, ref T velocity, ref T unused) =>
            (parameter, velocity) = Reference(parameter, gradient, velocity, learningRate, momentum, momentumSquared, onePlusMomentumTimesRate);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Invoke<TV>(ref TV parameter, TV gradient, ref TV velocity, ref TV unused)
            where TV : struct, IVector<TV, T>
        {
            parameter += TV.Create(momentumSquared) * velocity;
            parameter -= TV.Create(onePlusMomentumTimesRate) * gradient;
            velocity *= TV.Create(momentum);
            velocity = OptimizerConstants.FlushSubnormal<T, TV>(velocity - (TV.Create(learningRate) * gradient));
        }
    }
}
