using System.Numerics;
using System.Runtime.CompilerServices;

namespace Simd.Kernels;

/// <summary>The book's AdaGrad (common/optimizer.py): h += g·g; p −= lr·g / (√h + 1e-7).</summary>
public static class AdaGradUpdate
{
    public static void Apply<T>(IsaPath isa, ReadOnlySpan<T> gradients, T learningRate, Span<T> parameters, Span<T> squares)
        where T : unmanaged, IFloatingPointIeee754<T>
        => UpdateDriver.Run(isa, parameters, gradients, squares, default, new Operator<T>(learningRate));

    public static (T Parameter, T Squares) Reference<T>(T parameter, T gradient, T squares, T learningRate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T h = squares + (gradient * gradient);
        return (parameter - (learningRate * gradient / (T.Sqrt(h) + OptimizerConstants.Epsilon<T>())), h);
    }

    private readonly struct Operator<T>(T learningRate) : IUpdateOperator<T>
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static int StateCount => 1;

        public void Invoke(ref T parameter, T gradient, ref T squares, ref T unused) =>
            (parameter, squares) = Reference(parameter, gradient, squares, learningRate);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Invoke<TV>(ref TV parameter, TV gradient, ref TV squares, ref TV unused)
            where TV : struct, IVector<TV, T>
        {
            squares += gradient * gradient;
            parameter -= TV.Create(learningRate) * gradient / (TV.Sqrt(squares) + TV.Create(OptimizerConstants.Epsilon<T>()));
        }
    }
}
