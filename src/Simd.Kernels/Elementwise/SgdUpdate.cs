using System.Numerics;
using System.Runtime.CompilerServices;

namespace Simd.Kernels;

/// <summary>Stochastic gradient descent, as the book: params -= learning_rate * grad.</summary>
public static class SgdUpdate
{
    /// <summary>p[i] = p[i] - lr·g[i], rounded as the book does (product first, then the difference).</summary>
    public static void Apply<T>(IsaPath isa, ReadOnlySpan<T> gradients, T learningRate, Span<T> parameters)
        where T : unmanaged, IFloatingPointIeee754<T>
        => SpanDriver.Map(isa, parameters, gradients, parameters, new Operator<T>(learningRate));

    /// <summary>Scalar reference of <see cref="Apply{T}"/>.</summary>
    public static T Reference<T>(T parameter, T gradient, T learningRate)
        where T : unmanaged, IFloatingPointIeee754<T>
        => parameter - (learningRate * gradient);

    private readonly struct Operator<T>(T learningRate) : IBinaryOperator<T>
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static bool IsCheap => true;

        public T Invoke(T parameter, T gradient) => Reference(parameter, gradient, learningRate);

        /// <summary>Not fused on purpose: the product is rounded before the difference, as the book (and the reference) does.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public TV Invoke<TV>(TV parameter, TV gradient)
            where TV : struct, IVector<TV, T>
            => parameter - (TV.Create(learningRate) * gradient);
    }
}
