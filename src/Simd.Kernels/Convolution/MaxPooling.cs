using System.Numerics;

namespace Simd.Kernels;

/// <summary>
/// The book's max Pooling layer (common/layers.py) for one image: each channel apart, the maximum of every FH x FW
/// window (zero padding counts as values 0, as the book's im2col pads), its position kept for the backward pass.
/// Ties go to the first maximum in the window's row-major order, as numpy's argmax.
/// </summary>
public static class MaxPooling
{
    /// <summary>A window's maximum that came from the padding: no input receives its gradient.</summary>
    public const int FromPadding = -1;

    /// <summary>
    /// y[c, oy, ox] = max over the window; argmax[c, oy, ox] = the flat index into x of that maximum (or
    /// <see cref="FromPadding"/>). The geometry's window and stride are the pool's; its channels are pooled apart.
    /// </summary>
    public static void Forward<T>(
        ReadOnlySpan<T> x,       // [C, H, W]
        in ConvolutionGeometry g,
        Span<T> y,               // [C, OH, OW]
        Span<int> argmax)        // [C, OH, OW]
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(x, g, y, argmax);
        int outputHeight = g.OutputHeight, outputWidth = g.OutputWidth; // computed properties: read once
        if (g is { WindowHeight: 2, WindowWidth: 2, Stride: 2, Pad: 0 })
        {
            Windows2x2(x, g.Channels, g.Height, g.Width, outputHeight, outputWidth, y, argmax);
            return;
        }

        for (int c = 0, p = 0; c < g.Channels; c++)
        {
            int plane = c * g.Height * g.Width;
            for (int oy = 0; oy < outputHeight; oy++)
            {
                for (int ox = 0; ox < outputWidth; ox++, p++)
                {
                    T best = T.Zero;
                    int at = FromPadding;
                    bool first = true;
                    for (int fy = 0; fy < g.WindowHeight; fy++)
                    {
                        int iy = (oy * g.Stride) + fy - g.Pad;
                        for (int fx = 0; fx < g.WindowWidth; fx++)
                        {
                            int ix = (ox * g.Stride) + fx - g.Pad;
                            bool inside = iy >= 0 && iy < g.Height && ix >= 0 && ix < g.Width;
                            T value = inside ? x[plane + (iy * g.Width) + ix] : T.Zero;
                            if (first || value > best || (T.IsNaN(value) && !T.IsNaN(best)))
                            {
                                // numpy's argmax: the first maximum, and a NaN counts as the maximum.
                                (best, at, first) = (value, inside ? plane + (iy * g.Width) + ix : FromPadding, false);
                            }
                        }
                    }

                    y[p] = best;
                    argmax[p] = at;
                }
            }
        }
    }

    /// <summary>
    /// The book's 2x2 windows at stride 2 with no padding (every pooling of ch. 7 and ch. 8): the four values compared
    /// in the window's row-major order with no bounds tests (the general loop above spent a quarter of a ch. 8 step).
    /// The same choices: the first maximum, a NaN counted as the maximum.
    /// </summary>
    private static void Windows2x2<T>(ReadOnlySpan<T> x, int channels, int height, int width, int outputHeight, int outputWidth, Span<T> y, Span<int> argmax)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ref T x0 = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(x);
        for (int c = 0, p = 0; c < channels; c++)
        {
            for (int oy = 0; oy < outputHeight; oy++)
            {
                int row = (((c * height) + (2 * oy)) * width);
                for (int ox = 0; ox < outputWidth; ox++, p++)
                {
                    int at = row + (2 * ox);
                    T best = System.Runtime.CompilerServices.Unsafe.Add(ref x0, at);
                    T right = System.Runtime.CompilerServices.Unsafe.Add(ref x0, at + 1);
                    T below = System.Runtime.CompilerServices.Unsafe.Add(ref x0, at + width);
                    T diagonal = System.Runtime.CompilerServices.Unsafe.Add(ref x0, at + width + 1);
                    int chosen = at;
                    if (Above(right, best))
                    {
                        (best, chosen) = (right, at + 1);
                    }

                    if (Above(below, best))
                    {
                        (best, chosen) = (below, at + width);
                    }

                    if (Above(diagonal, best))
                    {
                        (best, chosen) = (diagonal, at + width + 1);
                    }

                    y[p] = best;
                    argmax[p] = chosen;
                }
            }
        }
    }

    /// <summary>numpy's argmax order: a later value wins when larger, or when it is the first NaN.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static bool Above<T>(T value, T best)
        where T : unmanaged, IFloatingPointIeee754<T>
        => value > best || (T.IsNaN(value) && !T.IsNaN(best));

    /// <summary>
    /// dx (+)= dy scattered to each window's maximum: dx[argmax[p]] += dy[p] in the order p ascending (overlapping
    /// windows, stride below the window, add up in that fixed order).
    /// </summary>
    /// <param name="accumulate">Add to <paramref name="dx"/> instead of overwriting it.</param>
    public static void Backward<T>(
        ReadOnlySpan<T> dy,        // [C, OH, OW]
        ReadOnlySpan<int> argmax,  // [C, OH, OW]
        in ConvolutionGeometry g,
        Span<T> dx,                // [C, H, W]
        bool accumulate = false)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int outputs = g.Channels * g.Positions;
        ShapeCheck.AtLeast(dy, outputs, nameof(dy));
        ShapeCheck.AtLeast(argmax, outputs, nameof(argmax));
        ShapeCheck.AtLeast(dx, g.InputLength, nameof(dx));
        if (!accumulate)
        {
            dx[..g.InputLength].Clear();
        }

        for (int p = 0; p < outputs; p++)
        {
            int at = argmax[p];
            if (at != FromPadding)
            {
                dx[at] += dy[p];
            }
        }
    }

    private static void Check<T>(ReadOnlySpan<T> x, in ConvolutionGeometry g, Span<T> y, Span<int> argmax)
    {
        ShapeCheck.AtLeast(x, g.InputLength, nameof(x));
        ShapeCheck.AtLeast(y, (long)g.Channels * g.Positions, nameof(y));
        ShapeCheck.AtLeast(argmax, (long)g.Channels * g.Positions, nameof(argmax));
    }
}
