using System.Numerics;
using System.Runtime.CompilerServices;

namespace Simd.Kernels;

/// <summary>The book's Momentum (common/optimizer.py): v = momentum·v − lr·g; p += v (v flushed to 0 below the smallest normal: <see cref="OptimizerConstants.FlushSubnormal{T}"/>).</summary>
public static class MomentumUpdate
{
    public static void Apply<T>(IsaPath isa, ReadOnlySpan<T> gradients, T learningRate, T momentum, Span<T> parameters, Span<T> velocity)
        where T : unmanaged, IFloatingPointIeee754<T>
        => UpdateDriver.Run(isa, parameters, gradients, velocity, default, new Operator<T>(learningRate, momentum));

    /// <summary>Scalar reference: (p, v) after one step.</summary>
    public static (T Parameter, T Velocity) Reference<T>(T parameter, T gradient, T velocity, T learningRate, T momentum)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T v = OptimizerConstants.FlushSubnormal((momentum * velocity) - (learningRate * gradient));
        return (parameter + v, v);
    }

    private readonly struct Operator<T>(T learningRate, T momentum) : IUpdateOperator<T>
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static int StateCount => 1;

        public void Invoke(ref T parameter, T gradient, ref T velocity, ref T unused) =>
            (parameter, velocity) = Reference(parameter, gradient, velocity, learningRate, momentum);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Invoke<TV>(ref TV parameter, TV gradient, ref TV velocity, ref TV unused)
            where TV : struct, IVector<TV, T>
        {
            velocity = OptimizerConstants.FlushSubnormal<T, TV>((TV.Create(momentum) * velocity) - (TV.Create(learningRate) * gradient));
            parameter += velocity;
        }
    }
}
