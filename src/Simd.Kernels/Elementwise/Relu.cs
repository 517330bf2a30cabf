using System.Numerics;
using System.Runtime.CompilerServices;

namespace Simd.Kernels;

/// <summary>The rectified linear unit, as the book's Relu layer: out = x, with out[x &lt;= 0] = 0.</summary>
public static class Relu
{
    /// <summary>y = x &lt;= 0 ? 0 : x. <paramref name="y"/> may be <paramref name="x"/>.</summary>
    public static void Forward<T>(IsaPath isa, ReadOnlySpan<T> x, Span<T> y)
        where T : unmanaged, IFloatingPointIeee754<T>
        => SpanDriver.Map(isa, x, y, default(ForwardOperator<T>));

    /// <summary>
    /// dx = y &lt;= 0 ? 0 : dy, from the forward output y (y &lt;= 0 exactly where the book's mask x &lt;= 0 is set).
    /// </summary>
    public static void Backward<T>(IsaPath isa, ReadOnlySpan<T> y, ReadOnlySpan<T> dy, Span<T> dx)
        where T : unmanaged, IFloatingPointIeee754<T>
        => SpanDriver.Map(isa, y, dy, dx, default(BackwardOperator<T>));

    /// <summary>Scalar reference of <see cref="Forward{T}"/>.</summary>
    public static T ForwardReference<T>(T x)
        where T : unmanaged, IFloatingPointIeee754<T>
        => x <= T.Zero ? T.Zero : x;

    /// <summary>Scalar reference of <see cref="Backward{T}"/>.</summary>
    public static T BackwardReference<T>(T y, T dy)
        where T : unmanaged, IFloatingPointIeee754<T>
        => y <= T.Zero ? T.Zero : dy;

    private readonly struct ForwardOperator<T> : IUnaryOperator<T>
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static bool IsCheap => true;

        public T Invoke(T x) => ForwardReference(x);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public TV Invoke<TV>(TV x)
            where TV : struct, IVector<TV, T>
            => TV.Select(TV.LessThanOrEqual(x, TV.Zero), TV.Zero, x);
    }

    private readonly struct BackwardOperator<T> : IBinaryOperator<T>
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static bool IsCheap => true;

        public T Invoke(T y, T dy) => BackwardReference(y, dy);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public TV Invoke<TV>(TV y, TV dy)
            where TV : struct, IVector<TV, T>
            => TV.Select(TV.LessThanOrEqual(y, TV.Zero), TV.Zero, dy);
    }
}
