using System.Numerics;
using System.Runtime.CompilerServices;

namespace Simd.Kernels;

/// <summary>The book's weight decay on a weight gradient (multi_layer_net.py): dW + λ·W.</summary>
public static class WeightDecay
{
    /// <summary>g[i] = g[i] + λ·w[i].</summary>
    public static void Apply<T>(IsaPath isa, ReadOnlySpan<T> weights, T lambda, Span<T> gradients)
        where T : unmanaged, IFloatingPointIeee754<T>
        => SpanDriver.Map(isa, gradients, weights, gradients, new Operator<T>(lambda));

    public static T Reference<T>(T gradient, T weight, T lambda)
        where T : unmanaged, IFloatingPointIeee754<T>
        => gradient + (lambda * weight);

    /// <summary>Σ w², the loss's ½λ·ΣW² before the factor, summed in double in index order (an exact order, the same for any split).</summary>
    public static double SumOfSquares<T>(ReadOnlySpan<T> weights)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        double sum = 0;
        foreach (T w in weights)
        {
            double d = double.CreateTruncating(w);
            sum += d * d;
        }

        return sum;
    }

    private readonly struct Operator<T>(T lambda) : IBinaryOperator<T>
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static bool IsCheap => true;

        public T Invoke(T gradient, T weight) => Reference(gradient, weight, lambda);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public TV Invoke<TV>(TV gradient, TV weight)
            where TV : struct, IVector<TV, T>
            => gradient + (TV.Create(lambda) * weight);
    }
}
