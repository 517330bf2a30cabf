using System.Numerics;
using System.Runtime.CompilerServices;

namespace Simd.Kernels;

/// <summary>The book's RMSprop (common/optimizer.py): h *= d; h += (1 − d)·g·g; p −= lr·g / (√h + 1e-7) (h flushed to 0 below the smallest normal: <see cref="OptimizerConstants.FlushSubnormal{T}"/>).</summary>
public static class RmsPropUpdate
{
    /// <param name="oneMinusDecay">1 − d, rounded to T once (as numpy computes the scalar first).</param>
    public static void Apply<T>(IsaPath isa, ReadOnlySpan<T> gradients, T learningRate, T decay, T oneMinusDecay, Span<T> parameters, Span<T> squares)
        where T : unmanaged, IFloatingPointIeee754<T>
        => UpdateDriver.Run(isa, parameters, gradients, squares, default, new Operator<T>(learningRate, decay, oneMinusDecay));

    public static (T Parameter, T Squares) Reference<T>(T parameter, T gradient, T squares, T learningRate, T decay, T oneMinusDecay)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T h = squares * decay;
        h = OptimizerConstants.FlushSubnormal(h + (oneMinusDecay * gradient * gradient));
        return (parameter - (learningRate * gradient / (T.Sqrt(h) + OptimizerConstants.Epsilon<T>())), h);
    }

    private readonly struct Operator<T>(T learningRate, T decay, T oneMinusDecay) : IUpdateOperator<T>
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static int StateCount => 1;

        public void Invoke(ref T parameter, T gradient, ref T squares, ref T unused) =>
            (parameter, squares) = Reference(parameter, gradient, squares, learningRate, decay, oneMinusDecay);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Invoke<TV>(ref TV parameter, TV gradient, ref TV squares, ref TV unused)
            where TV : struct, IVector<TV, T>
        {
            squares *= TV.Create(decay);
            squares = OptimizerConstants.FlushSubnormal<T, TV>(squares + (TV.Create(oneMinusDecay) * gradient * gradient));
            parameter -= TV.Create(learningRate) * gradient / (TV.Sqrt(squares) + TV.Create(OptimizerConstants.Epsilon<T>()));
        }
    }
}
