using System.Numerics;
using System.Runtime.CompilerServices;

namespace Simd.Kernels;

/// <summary>
/// The book's im2col and col2im (common/util.py) for one image, in the transposed (Caffe) layout: the column
/// matrix is [K, P] with K = C·FH·FW (row k = (c, fy, fx)) and P = OH·OW (column p = (oy, ox)), so a convolution
/// is Y[FN, P] = W[FN, K] · col[K, P] (the book's NCHW output, no transpose), dW = dY · colᵀ and dcol = Wᵀ · dY,
/// and a row of the matrix is a strided run of one input row: with stride 1, a plain copy.
/// </summary>
public static class Im2Col
{
    /// <summary>col[k, p] = x[c, oy·S + fy − P, ox·S + fx − P], 0 outside the image.</summary>
    public static void Forward<T>(
        IsaPath isa,
        ReadOnlySpan<T> x,          // [C, H, W]
        in ConvolutionGeometry g,
        Span<T> col)                // [K, P]
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(x, g, col);
        if (Isa.Effective(isa) == IsaPath.Scalar || g.Stride != 1)
        {
            Reference(x, g, col);
            return;
        }

        // Stride 1: each (k, oy) row segment is one run of an input row, zero-filled where it hangs over the pad.
        int ow = g.OutputWidth, oh = g.OutputHeight, positions = g.Positions;
        for (int c = 0, k = 0; c < g.Channels; c++)
        {
            for (int fy = 0; fy < g.WindowHeight; fy++)
            {
                for (int fx = 0; fx < g.WindowWidth; fx++, k++)
                {
                    (int first, int end) = ValidColumns(fx, g);
                    for (int oy = 0; oy < oh; oy++)
                    {
                        Span<T> row = col.Slice((k * positions) + (oy * ow), ow);
                        int iy = oy + fy - g.Pad;
                        if (iy < 0 || iy >= g.Height || first >= end)
                        {
                            row.Clear();
                            continue;
                        }

                        row[..first].Clear();
                        x.Slice((((c * g.Height) + iy) * g.Width) + first + fx - g.Pad, end - first).CopyTo(row[first..end]);
                        row[end..].Clear();
                    }
                }
            }
        }
    }

    /// <summary>The algorithmic reference of <see cref="Forward{T}"/>: one element at a time.</summary>
    public static void Reference<T>(ReadOnlySpan<T> x, in ConvolutionGeometry g, Span<T> col)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(x, g, col);
        for (int c = 0, k = 0; c < g.Channels; c++)
        {
            for (int fy = 0; fy < g.WindowHeight; fy++)
            {
                for (int fx = 0; fx < g.WindowWidth; fx++, k++)
                {
                    for (int oy = 0; oy < g.OutputHeight; oy++)
                    {
                        for (int ox = 0; ox < g.OutputWidth; ox++)
                        {
                            int iy = (oy * g.Stride) + fy - g.Pad, ix = (ox * g.Stride) + fx - g.Pad;
                            col[(k * g.Positions) + (oy * g.OutputWidth) + ox] = iy >= 0 && iy < g.Height && ix >= 0 && ix < g.Width
                                ? x[(((c * g.Height) + iy) * g.Width) + ix]
                                : T.Zero;
                        }
                    }
                }
            }
        }
    }

    /// <summary>
    /// col2im: dx[c, iy, ix] (+)= Σ dcol[k, p] over the windows that cover it, summed in the order k, then p
    /// ascending (the same order on every path, so every path gives the same bits).
    /// </summary>
    /// <param name="accumulate">Add to <paramref name="dx"/> instead of overwriting it.</param>
    public static void Backward<T>(
        IsaPath isa,
        ReadOnlySpan<T> dcol,       // [K, P]
        in ConvolutionGeometry g,
        Span<T> dx,                 // [C, H, W]
        bool accumulate = false)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(dx, g, dcol);
        if (Isa.Effective(isa) == IsaPath.Scalar || g.Stride != 1)
        {
            BackwardReference(dcol, g, dx, accumulate);
            return;
        }

        if (!accumulate)
        {
            dx[..g.InputLength].Clear();
        }

        int ow = g.OutputWidth;
        for (int c = 0, k = 0; c < g.Channels; c++)
        {
            for (int fy = 0; fy < g.WindowHeight; fy++)
            {
                for (int fx = 0; fx < g.WindowWidth; fx++, k++)
                {
                    (int first, int end) = ValidColumns(fx, g);
                    for (int oy = 0; oy < g.OutputHeight && first < end; oy++)
                    {
                        int iy = oy + fy - g.Pad;
                        if (iy >= 0 && iy < g.Height)
                        {
                            Span<T> target = dx.Slice((((c * g.Height) + iy) * g.Width) + first + fx - g.Pad, end - first);
                            SpanDriver.Map(isa, target, dcol.Slice((k * g.Positions) + (oy * ow) + first, end - first), target, default(AddOperator<T>));
                        }
                    }
                }
            }
        }
    }

    /// <summary>The algorithmic reference of <see cref="Backward{T}"/>.</summary>
    public static void BackwardReference<T>(ReadOnlySpan<T> dcol, in ConvolutionGeometry g, Span<T> dx, bool accumulate = false)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(dx, g, dcol);
        if (!accumulate)
        {
            dx[..g.InputLength].Clear();
        }

        for (int c = 0, k = 0; c < g.Channels; c++)
        {
            for (int fy = 0; fy < g.WindowHeight; fy++)
            {
                for (int fx = 0; fx < g.WindowWidth; fx++, k++)
                {
                    for (int oy = 0; oy < g.OutputHeight; oy++)
                    {
                        for (int ox = 0; ox < g.OutputWidth; ox++)
                        {
                            int iy = (oy * g.Stride) + fy - g.Pad, ix = (ox * g.Stride) + fx - g.Pad;
                            if (iy >= 0 && iy < g.Height && ix >= 0 && ix < g.Width)
                            {
                                dx[(((c * g.Height) + iy) * g.Width) + ix] += dcol[(k * g.Positions) + (oy * g.OutputWidth) + ox];
                            }
                        }
                    }
                }
            }
        }
    }

    /// <summary>Stride 1: the output columns [first, end) whose input column ox + fx − P lies inside the image.</summary>
    private static (int First, int End) ValidColumns(int fx, in ConvolutionGeometry g) =>
        (Math.Clamp(g.Pad - fx, 0, g.OutputWidth), Math.Clamp(g.Width + g.Pad - fx, 0, g.OutputWidth));

    private static void Check<T>(ReadOnlySpan<T> image, in ConvolutionGeometry g, ReadOnlySpan<T> col)
    {
        ShapeCheck.AtLeast(image, g.InputLength, "image");
        ShapeCheck.AtLeast(col, (long)g.WindowLength * g.Positions, "col");
    }

    private readonly struct AddOperator<T> : IBinaryOperator<T>
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static bool IsCheap => true;

        public T Invoke(T x, T y) => x + y;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public TV Invoke<TV>(TV x, TV y)
            where TV : struct, IVector<TV, T>
            => x + y;
    }
}
