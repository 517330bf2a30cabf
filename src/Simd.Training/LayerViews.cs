using CommunityToolkit.HighPerformance;

namespace Simd.Training;

/// <summary>
/// The network's matrices as 2-D views ([rows, columns], row-major, contiguous) that carry their own
/// shape across the layer boundary; the kernels below it take the flat elements (<see cref="Flat{T}(Span2D{T})"/>).
/// </summary>
public static class LayerViews
{
    /// <summary>Rows [<paramref name="start"/>, + <paramref name="count"/>) of a [rows, width] view.</summary>
    public static Span2D<T> Rows<T>(this Span2D<T> view, int start, int count) => view.Slice(start, 0, count, view.Width);

    /// <inheritdoc cref="Rows{T}(Span2D{T}, int, int)"/>
    public static ReadOnlySpan2D<T> Rows<T>(this ReadOnlySpan2D<T> view, int start, int count) => view.Slice(start, 0, count, view.Width);

    /// <summary>The elements of a contiguous view, row after row: [Height·Width].</summary>
    /// <exception cref="InvalidOperationException">The view has a pitch (a column slice): never made by the network.</exception>
    public static Span<T> Flat<T>(this Span2D<T> view) =>
        view.TryGetSpan(out Span<T> flat) ? flat : throw new InvalidOperationException("a layer's view must be contiguous");

    /// <inheritdoc cref="Flat{T}(Span2D{T})"/>
    public static ReadOnlySpan<T> Flat<T>(this ReadOnlySpan2D<T> view) =>
        view.TryGetSpan(out ReadOnlySpan<T> flat) ? flat : throw new InvalidOperationException("a layer's view must be contiguous");
}
