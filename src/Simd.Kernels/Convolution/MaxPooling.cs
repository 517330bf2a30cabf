using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

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
        bool vectors = typeof(T) == typeof(float) && Vector256.IsHardwareAccelerated && outputWidth >= Vector256<float>.Count;
        for (int c = 0, p = 0; c < channels; c++)
        {
            for (int oy = 0; oy < outputHeight; oy++)
            {
                int row = (((c * height) + (2 * oy)) * width);
                if (vectors)
                {
                    Row2x2(ref Unsafe.As<T, float>(ref x0), row, width, outputWidth, ref Unsafe.As<T, float>(ref y[p]), ref argmax[p]);
                    p += outputWidth;
                    continue;
                }

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

    /// <summary>
    /// One row of 2x2 windows, 8 at a time (a last group overlapping the one before when the row is not a multiple of
    /// 8: the same values written again): the two input rows' 16 values parted into even and odd columns, then the
    /// scalar loop's comparisons in the same order on all 8 windows at once, each lane choosing its value and its index
    /// by mask (the scalar loop's branches follow the data and were mispredicted: 10% of a ch. 8 step). A choice, not
    /// arithmetic: the same values and indices as the scalar loop, bit for bit.
    /// </summary>
    private static void Row2x2(ref float x, int row, int width, int outputWidth, ref float y, ref int argmax)
    {
        const int Lanes = 8;
        Vector256<int> evenOffsets = Vector256.Create(0, 2, 4, 6, 8, 10, 12, 14);
        Vector256<int> evensFirst = Vector256.Create(0, 2, 4, 6, 1, 3, 5, 7);
        for (int ox = 0; ox < outputWidth; ox += Lanes)
        {
            ox = Math.Min(ox, outputWidth - Lanes);
            int at = row + (2 * ox);
            (Vector256<float> best, Vector256<float> right) = Columns(ref x, at, evensFirst);
            (Vector256<float> below, Vector256<float> diagonal) = Columns(ref x, at + width, evensFirst);
            Vector256<int> chosen = Vector256.Create(at) + evenOffsets;
            Choose(ref best, ref chosen, right, chosen + Vector256<int>.One);
            Choose(ref best, ref chosen, below, Vector256.Create(at + width) + evenOffsets);
            Choose(ref best, ref chosen, diagonal, Vector256.Create(at + width + 1) + evenOffsets);
            Vector256.StoreUnsafe(best, ref Unsafe.Add(ref y, ox));
            Vector256.StoreUnsafe(chosen, ref Unsafe.Add(ref argmax, ox));
        }
    }

    /// <summary>16 values from <paramref name="at"/>: the even columns and the odd ones.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector256<float> Even, Vector256<float> Odd) Columns(ref float x, int at, Vector256<int> evensFirst)
    {
        Vector256<float> first = Vector256.Shuffle(Vector256.LoadUnsafe(ref x, (nuint)at), evensFirst);
        Vector256<float> second = Vector256.Shuffle(Vector256.LoadUnsafe(ref x, (nuint)(at + 8)), evensFirst);
        return (Vector256.Create(first.GetLower(), second.GetLower()), Vector256.Create(first.GetUpper(), second.GetUpper()));
    }

    /// <summary><see cref="Above{T}"/> in every lane: where the candidate wins, it and its index replace the best.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Choose(ref Vector256<float> best, ref Vector256<int> chosen, Vector256<float> value, Vector256<int> index)
    {
        Vector256<float> wins = Vector256.GreaterThan(value, best) | (~Vector256.Equals(value, value) & Vector256.Equals(best, best));
        best = Vector256.ConditionalSelect(wins, value, best);
        chosen = Vector256.ConditionalSelect(wins.AsInt32(), index, chosen);
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
