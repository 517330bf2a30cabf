using System.Numerics;

namespace Simd.Kernels;

/// <summary>
/// The book's Convolution layer (common/layers.py) for one image, by im2col and the GEMMs: W is [FN, C, FH, FW]
/// = [FN, K] row-major, the output [FN, OH, OW] (the book's NCHW) = [FN, P].
/// <list type="bullet">
/// <item>forward: col = im2col(x); y = W · col + b (b[f] on every position of filter f);</item>
/// <item>backward: dW (+)= dy · colᵀ (<see cref="GemmNTLongInner"/>: a small output, a long inner size); db (+)= Σ_p dy[f, p]; dcol = Wᵀ · dy; dx = col2im(dcol).</item>
/// </list>
/// A batch is a loop over images; the weight gradients add up image after image, in the caller's fixed order.
/// </summary>
public static class Convolution
{
    /// <summary>y = W · im2col(x) + b; <paramref name="col"/> keeps the column matrix for the backward pass.</summary>
    public static void Forward<T>(
        IsaPath isa,
        ReadOnlySpan<T> x,        // [C, H, W]
        ReadOnlySpan<T> weights,  // [FN, K]
        ReadOnlySpan<T> bias,     // [FN]
        in ConvolutionGeometry g,
        Span<T> col,              // [K, P] scratch, filled here
        Span<T> y)                // [FN, P]
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int filters = bias.Length, positions = g.Positions;
        ShapeCheck.AtLeast(weights, (long)filters * g.WindowLength, nameof(weights));
        ShapeCheck.AtLeast(y, (long)filters * positions, nameof(y));
        Im2Col.Forward(isa, x, g, col);
        for (int f = 0; f < filters; f++)
        {
            y.Slice(f * positions, positions).Fill(bias[f]);
        }

        GemmNN.Multiply(isa, weights, col, [], filters, g.WindowLength, positions, y, accumulate: true);
    }

    /// <summary>
    /// The gradients of one image: dW and db added to (<paramref name="accumulate"/>) or written, and dx written
    /// unless <paramref name="dx"/> is empty (the first layer needs no input gradient).
    /// </summary>
    public static void Backward<T>(
        IsaPath isa,
        ReadOnlySpan<T> dy,       // [FN, P]
        ReadOnlySpan<T> col,      // [K, P] from the forward pass
        ReadOnlySpan<T> weights,  // [FN, K]
        in ConvolutionGeometry g,
        Span<T> dWeights,         // [FN, K]
        Span<T> dBias,            // [FN]
        Span<T> dcol,             // [K, P] scratch (unused when dx is empty)
        Span<T> dx,               // [C, H, W] or empty
        bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int filters = dBias.Length, positions = g.Positions, k = g.WindowLength;
        ShapeCheck.AtLeast(dy, (long)filters * positions, nameof(dy));
        GemmNTLongInner.Multiply(isa, dy, col, filters, positions, k, dWeights, accumulate);
        BiasGradient(isa, dy, positions, dBias, accumulate);

        if (!dx.IsEmpty)
        {
            GemmTN.Multiply(isa, weights, k, dy, k, filters, positions, dcol);
            Im2Col.Backward(isa, dcol, g, dx);
        }
    }

    /// <summary>
    /// db[f] (+)= Σ_p dy[f, p]: the bias gradient of a convolution. A row is summed in four vector accumulators (a
    /// long row summed one add after another waits on each add: 2.3 ms of a batch's 4.8 ms measured), then across
    /// lanes, in the same order on every call; the scalar path, and rows shorter than a vector, one at a time.
    /// </summary>
    public static void BiasGradient<T>(IsaPath isa, ReadOnlySpan<T> dy, int positions, Span<T> dBias, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ShapeCheck.AtLeast(dy, (long)dBias.Length * positions, nameof(dy));
        for (int f = 0; f < dBias.Length; f++)
        {
            ReadOnlySpan<T> row = dy.Slice(f * positions, positions);
            T sum = Isa.Effective(isa) switch
            {
                IsaPath.Vector512 when positions >= V512<T>.Lanes => RowSum<T, V512<T>>(row),
                IsaPath.Vector256 or IsaPath.Vector512 when positions >= V256<T>.Lanes => RowSum<T, V256<T>>(row),
                IsaPath.Vector128 or IsaPath.Vector256 or IsaPath.Vector512 when positions >= V128<T>.Lanes => RowSum<T, V128<T>>(row),
                _ => RowSumReference(row),
            };
            dBias[f] = accumulate ? dBias[f] + sum : sum;
        }
    }

    /// <summary>The scalar reference of a row's sum: one element after another.</summary>
    public static T RowSumReference<T>(ReadOnlySpan<T> row)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T sum = T.Zero;
        foreach (T value in row)
        {
            sum += value;
        }

        return sum;
    }

    private static T RowSum<T, TV>(ReadOnlySpan<T> row)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TV : struct, IVector<TV, T>
    {
        ref T r = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(row);
        int lanes = TV.Lanes, length = row.Length, p = 0;
        TV s0 = TV.Zero, s1 = TV.Zero, s2 = TV.Zero, s3 = TV.Zero;
        for (; p <= length - (4 * lanes); p += 4 * lanes)
        {
            s0 += TV.Load(ref r, p);
            s1 += TV.Load(ref r, p + lanes);
            s2 += TV.Load(ref r, p + (2 * lanes));
            s3 += TV.Load(ref r, p + (3 * lanes));
        }

        for (; p <= length - lanes; p += lanes)
        {
            s0 += TV.Load(ref r, p);
        }

        if (p < length)
        {
            s1 += TV.LoadFirst(ref r, p, length - p, TV.Zero);
        }

        return TV.Sum((s0 + s1) + (s2 + s3));
    }

    /// <summary>The direct definition, the algorithmic reference: y[f, oy, ox] = b[f] + Σ_{c,fy,fx} W[f,c,fy,fx]·x[c, oy·S+fy−P, ox·S+fx−P].</summary>
    public static void ForwardReference<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> weights, ReadOnlySpan<T> bias, in ConvolutionGeometry g, Span<T> y)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int f = 0; f < bias.Length; f++)
        {
            for (int oy = 0; oy < g.OutputHeight; oy++)
            {
                for (int ox = 0; ox < g.OutputWidth; ox++)
                {
                    T sum = T.Zero;
                    for (int c = 0; c < g.Channels; c++)
                    {
                        for (int fy = 0; fy < g.WindowHeight; fy++)
                        {
                            for (int fx = 0; fx < g.WindowWidth; fx++)
                            {
                                int iy = (oy * g.Stride) + fy - g.Pad, ix = (ox * g.Stride) + fx - g.Pad;
                                if (iy >= 0 && iy < g.Height && ix >= 0 && ix < g.Width)
                                {
                                    sum += weights[(((((f * g.Channels) + c) * g.WindowHeight) + fy) * g.WindowWidth) + fx] * x[(((c * g.Height) + iy) * g.Width) + ix];
                                }
                            }
                        }
                    }

                    y[(((f * g.OutputHeight) + oy) * g.OutputWidth) + ox] = sum + bias[f];
                }
            }
        }
    }

    /// <summary>The direct definition of the gradients, the algorithmic reference of <see cref="Backward{T}"/> (written, not added).</summary>
    public static void BackwardReference<T>(
        ReadOnlySpan<T> x, ReadOnlySpan<T> dy, ReadOnlySpan<T> weights, in ConvolutionGeometry g, Span<T> dWeights, Span<T> dBias, Span<T> dx)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        dWeights[..(dBias.Length * g.WindowLength)].Clear();
        dBias.Clear();
        dx[..g.InputLength].Clear();
        for (int f = 0; f < dBias.Length; f++)
        {
            for (int oy = 0; oy < g.OutputHeight; oy++)
            {
                for (int ox = 0; ox < g.OutputWidth; ox++)
                {
                    T d = dy[(((f * g.OutputHeight) + oy) * g.OutputWidth) + ox];
                    dBias[f] += d;
                    for (int c = 0; c < g.Channels; c++)
                    {
                        for (int fy = 0; fy < g.WindowHeight; fy++)
                        {
                            for (int fx = 0; fx < g.WindowWidth; fx++)
                            {
                                int iy = (oy * g.Stride) + fy - g.Pad, ix = (ox * g.Stride) + fx - g.Pad;
                                if (iy >= 0 && iy < g.Height && ix >= 0 && ix < g.Width)
                                {
                                    int w = (((((f * g.Channels) + c) * g.WindowHeight) + fy) * g.WindowWidth) + fx, i = (((c * g.Height) + iy) * g.Width) + ix;
                                    dWeights[w] += d * x[i];
                                    dx[i] += d * weights[w];
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
