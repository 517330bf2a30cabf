using System.Numerics;
using System.Runtime.CompilerServices;

namespace Simd.Kernels;

/// <summary>The logistic sigmoid, as the book writes it: 1 / (1 + exp(-x)).</summary>
public static class Sigmoid
{
    /// <summary>y = 1 / (1 + exp(-x)). <paramref name="y"/> may be <paramref name="x"/>.</summary>
    public static void Forward<T>(IsaPath isa, ReadOnlySpan<T> x, Span<T> y)
        where T : unmanaged, IFloatingPointIeee754<T>
        => SpanDriver.Map(isa, x, y, default(ForwardOperator<T>));

    /// <summary>dx = dy·(1 - y)·y, from the forward output y. <paramref name="dx"/> may alias dy.</summary>
    public static void Backward<T>(IsaPath isa, ReadOnlySpan<T> y, ReadOnlySpan<T> dy, Span<T> dx)
        where T : unmanaged, IFloatingPointIeee754<T>
        => SpanDriver.Map(isa, y, dy, dx, default(BackwardOperator<T>));

    /// <summary>Scalar reference of <see cref="Forward{T}"/>.</summary>
    public static T ForwardReference<T>(T x)
        where T : unmanaged, IFloatingPointIeee754<T>
        => T.One / (T.One + T.Exp(-x));

    /// <summary>Scalar reference of <see cref="Backward{T}"/>, in the book's order: dout·(1 - out)·out.</summary>
    public static T BackwardReference<T>(T y, T dy)
        where T : unmanaged, IFloatingPointIeee754<T>
        => dy * (T.One - y) * y;

    private readonly struct ForwardOperator<T> : IUnaryOperator<T>
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        public T Invoke(T x) => ForwardReference(x);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public TV Invoke<TV>(TV x)
            where TV : struct, IVector<TV, T>
        {
            TV one = ExpConstants<TV, T>.One;
            return one / (one + Exp.Vector<TV, T>(TV.Zero - x));
        }
    }

    private readonly struct BackwardOperator<T> : IBinaryOperator<T>
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static bool IsCheap => true;

        public T Invoke(T y, T dy) => BackwardReference(y, dy);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public TV Invoke<TV>(TV y, TV dy)
            where TV : struct, IVector<TV, T>
            => dy * (ExpConstants<TV, T>.One - y) * y;
    }
}
