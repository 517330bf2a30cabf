namespace Simd.Kernels;

/// <summary>
/// The one loop every elementwise op runs through: the op supplies <c>Invoke</c>, the driver walks
/// the spans. Operators are structs, so each (op, T) pair gets its own inlined loop.
/// </summary>
internal static class SpanDriver
{
    /// <summary>y[i] = op(x[i]). <paramref name="y"/> may be <paramref name="x"/> itself.</summary>
    public static void Map<T, TOp>(IsaPath isa, ReadOnlySpan<T> x, Span<T> y, TOp op)
        where T : unmanaged
        where TOp : struct, IUnaryOperator<T>
    {
        ShapeCheck.SameLength(x, y, nameof(x), nameof(y));
        _ = isa; // scalar loop on every ISA until the vector bodies land
        for (int i = 0; i < x.Length; i++)
        {
            y[i] = op.Invoke(x[i]);
        }
    }

    /// <summary>z[i] = op(x[i], y[i]). <paramref name="z"/> may alias either input.</summary>
    public static void Map<T, TOp>(IsaPath isa, ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> z, TOp op)
        where T : unmanaged
        where TOp : struct, IBinaryOperator<T>
    {
        ShapeCheck.SameLength(x, z, nameof(x), nameof(z));
        ShapeCheck.SameLength(y, z, nameof(y), nameof(z));
        _ = isa; // scalar loop on every ISA until the vector bodies land
        for (int i = 0; i < x.Length; i++)
        {
            z[i] = op.Invoke(x[i], y[i]);
        }
    }
}
