using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Simd.Kernels;

/// <summary>
/// Convolution → ReLU → max pooling (window = stride, no padding: the book's ch. 7 and ch. 8 pooling) fused for one
/// image. im2col orders the output positions by pooling window: block b = (dy, dx) of the window, then the pooled
/// position q = (py, px), so column b·Q + q is conv position (py·PH + dy, px·PW + dx). Each filter's output row is
/// then PH·PW contiguous blocks of Q, and bias, ReLU and the maximum are elementwise vector work over those blocks,
/// the argmax a block number. Positions no pooling window covers (an odd last row or column) are never computed:
/// nothing downstream reads them and their gradient is 0. Values match the unfused layers (the book's order, the
/// first maximum on ties); a NaN is not propagated as numpy's max would (a diverged run stops on its loss anyway).
/// </summary>
public static class PooledConvolution
{
    /// <summary>Pooled positions Q: (OH / PH)·(OW / PW), rounded down as the book's pooling does.</summary>
    public static int PooledPositions(in ConvolutionGeometry conv, int poolHeight, int poolWidth) =>
        (conv.OutputHeight / poolHeight) * (conv.OutputWidth / poolWidth);

    /// <summary>col[k, b·Q + q] = x at conv position (py·PH + dy, px·PW + dx) of window row k; 0 in the padding.</summary>
    public static void Im2Col<T>(
        ReadOnlySpan<T> x,          // [C, H, W]
        in ConvolutionGeometry g, int poolHeight, int poolWidth,
        Span<T> col)                // [K, PH·PW·Q]
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int pooledWidth = g.OutputWidth / poolWidth, pooledHeight = g.OutputHeight / poolHeight, q = pooledHeight * pooledWidth;
        int columns = poolHeight * poolWidth * q;
        ShapeCheck.AtLeast(x, g.InputLength, nameof(x));
        ShapeCheck.AtLeast(col, (long)g.WindowLength * columns, nameof(col));
        for (int c = 0, k = 0; c < g.Channels; c++)
        {
            for (int fy = 0; fy < g.WindowHeight; fy++)
            {
                for (int fx = 0; fx < g.WindowWidth; fx++, k++)
                {
                    int column = k * columns;
                    for (int dy = 0; dy < poolHeight; dy++)
                    {
                        for (int dx = 0; dx < poolWidth; dx++)
                        {
                            for (int py = 0; py < pooledHeight; py++)
                            {
                                int iy = (((py * poolHeight) + dy) * g.Stride) + fy - g.Pad;
                                bool rowInside = iy >= 0 && iy < g.Height;
                                int rowStart = ((c * g.Height) + iy) * g.Width;
                                for (int px = 0; px < pooledWidth; px++, column++)
                                {
                                    int ix = (((px * poolWidth) + dx) * g.Stride) + fx - g.Pad;
                                    col[column] = rowInside && ix >= 0 && ix < g.Width ? x[rowStart + ix] : T.Zero;
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// <summary>col2im of <see cref="Im2Col{T}"/>: dx[c, iy, ix] (+)= Σ dcol over the columns that read it, k then column ascending.</summary>
    public static void Col2Im<T>(ReadOnlySpan<T> dcol, in ConvolutionGeometry g, int poolHeight, int poolWidth, Span<T> dx, bool accumulate = false)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int pooledWidth = g.OutputWidth / poolWidth, pooledHeight = g.OutputHeight / poolHeight, q = pooledHeight * pooledWidth;
        int columns = poolHeight * poolWidth * q;
        ShapeCheck.AtLeast(dx, g.InputLength, nameof(dx));
        ShapeCheck.AtLeast(dcol, (long)g.WindowLength * columns, nameof(dcol));
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
                    int column = k * columns;
                    for (int dy = 0; dy < poolHeight; dy++)
                    {
                        for (int ddx = 0; ddx < poolWidth; ddx++)
                        {
                            for (int py = 0; py < pooledHeight; py++)
                            {
                                int iy = (((py * poolHeight) + dy) * g.Stride) + fy - g.Pad;
                                bool rowInside = iy >= 0 && iy < g.Height;
                                int rowStart = ((c * g.Height) + iy) * g.Width;
                                for (int px = 0; px < pooledWidth; px++, column++)
                                {
                                    int ix = (((px * poolWidth) + ddx) * g.Stride) + fx - g.Pad;
                                    if (rowInside && ix >= 0 && ix < g.Width)
                                    {
                                        dx[rowStart + ix] += dcol[column];
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// <summary>
    /// The forward pass: col = pooled-order im2col(x); z = W · col + b in blocks; pooled[f, q] = max over the blocks of
    /// ReLU(z[f, b·Q + q]), argmax[f, q] = the first block that holds it (as a number of T, for the vector selects).
    /// </summary>
    public static void Forward<T>(
        IsaPath isa,
        ReadOnlySpan<T> x,          // [C, H, W]
        ReadOnlySpan<T> weights,    // [FN, K]
        ReadOnlySpan<T> bias,       // [FN]
        in ConvolutionGeometry g, int poolHeight, int poolWidth,
        Span<T> col,                // [K, B·Q] scratch, kept for the backward pass
        Span<T> z,                  // [FN, B·Q] scratch
        Span<T> pooled,             // [FN, Q]
        Span<T> argmax)             // [FN, Q]
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int filters = bias.Length, q = PooledPositions(g, poolHeight, poolWidth), blocks = poolHeight * poolWidth, columns = blocks * q;
        ShapeCheck.AtLeast(z, (long)filters * columns, nameof(z));
        ShapeCheck.AtLeast(pooled, (long)filters * q, nameof(pooled));
        ShapeCheck.AtLeast(argmax, (long)filters * q, nameof(argmax));
        Im2Col(x, g, poolHeight, poolWidth, col);
        for (int f = 0; f < filters; f++)
        {
            z.Slice(f * columns, columns).Fill(bias[f]);
        }

        GemmNN.Multiply(isa, weights, col, [], filters, g.WindowLength, columns, z, accumulate: true);
        for (int f = 0; f < filters; f++)
        {
            ReluMax(isa, z.Slice(f * columns, columns), blocks, q, pooled.Slice(f * q, q), argmax.Slice(f * q, q));
        }
    }

    /// <summary>
    /// The backward pass from dpooled: dz[f, b·Q + q] = dpooled[f, q] where b is the window's argmax and its value is
    /// positive (ReLU passes it), else 0; then dW (+)= dz · colᵀ, db (+)= Σ dz, and dx = col2im(Wᵀ · dz) unless
    /// <paramref name="dx"/> is empty.
    /// </summary>
    public static void Backward<T>(
        IsaPath isa,
        ReadOnlySpan<T> dpooled,    // [FN, Q]
        ReadOnlySpan<T> pooled,     // [FN, Q] from the forward pass
        ReadOnlySpan<T> argmax,     // [FN, Q] from the forward pass
        ReadOnlySpan<T> col,        // [K, B·Q] from the forward pass
        ReadOnlySpan<T> weights,    // [FN, K]
        in ConvolutionGeometry g, int poolHeight, int poolWidth,
        Span<T> dz,                 // [FN, B·Q] scratch
        Span<T> dWeights,           // [FN, K]
        Span<T> dBias,              // [FN]
        Span<T> dcol,               // [K, B·Q] scratch (unused when dx is empty)
        Span<T> dx,                 // [C, H, W] or empty
        bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int filters = dBias.Length, q = PooledPositions(g, poolHeight, poolWidth), blocks = poolHeight * poolWidth, columns = blocks * q, k = g.WindowLength;
        ShapeCheck.AtLeast(dz, (long)filters * columns, nameof(dz));
        for (int f = 0; f < filters; f++)
        {
            ReluMaxBackward(isa, dpooled.Slice(f * q, q), pooled.Slice(f * q, q), argmax.Slice(f * q, q), blocks, dz.Slice(f * columns, columns));
        }

        GemmNT.Multiply(isa, dz, col, filters, columns, k, dWeights, accumulate);
        for (int f = 0; f < filters; f++)
        {
            T sum = T.Zero;
            foreach (T value in dz.Slice(f * columns, columns))
            {
                sum += value;
            }

            dBias[f] = accumulate ? dBias[f] + sum : sum;
        }

        if (!dx.IsEmpty)
        {
            GemmTN.Multiply(isa, weights, k, dz, k, filters, columns, dcol);
            Col2Im(dcol, g, poolHeight, poolWidth, dx);
        }
    }

    /// <summary>pooled[q] = max_b ReLU(z[b·Q + q]) (the first on ties), argmax[q] = b.</summary>
    public static void ReluMax<T>(IsaPath isa, ReadOnlySpan<T> z, int blocks, int q, Span<T> pooled, Span<T> argmax)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        switch (Isa.Effective(isa))
        {
            case IsaPath.Vector512 when q >= V512<T>.Lanes:
                ReluMax<T, V512<T>>(z, blocks, q, pooled, argmax);
                break;
            case IsaPath.Vector256 or IsaPath.Vector512 when q >= V256<T>.Lanes:
                ReluMax<T, V256<T>>(z, blocks, q, pooled, argmax);
                break;
            case IsaPath.Vector128 or IsaPath.Vector256 or IsaPath.Vector512 when q >= V128<T>.Lanes:
                ReluMax<T, V128<T>>(z, blocks, q, pooled, argmax);
                break;
            default:
                ReluMaxReference(z, blocks, q, pooled, argmax);
                break;
        }
    }

    /// <summary>The scalar reference of <see cref="ReluMax{T}"/>.</summary>
    public static void ReluMaxReference<T>(ReadOnlySpan<T> z, int blocks, int q, Span<T> pooled, Span<T> argmax)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < q; i++)
        {
            T best = Relu.ForwardReference(z[i]), at = T.Zero;
            for (int b = 1; b < blocks; b++)
            {
                T value = Relu.ForwardReference(z[(b * q) + i]);
                if (best < value)
                {
                    (best, at) = (value, T.CreateTruncating(b));
                }
            }

            (pooled[i], argmax[i]) = (best, at);
        }
    }

    /// <summary>dz[b·Q + q] = (argmax[q] == b and pooled[q] &gt; 0) ? dpooled[q] : 0.</summary>
    public static void ReluMaxBackward<T>(IsaPath isa, ReadOnlySpan<T> dpooled, ReadOnlySpan<T> pooled, ReadOnlySpan<T> argmax, int blocks, Span<T> dz)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int q = dpooled.Length;
        switch (Isa.Effective(isa))
        {
            case IsaPath.Vector512 when q >= V512<T>.Lanes:
                ReluMaxBackward<T, V512<T>>(dpooled, pooled, argmax, blocks, dz);
                break;
            case IsaPath.Vector256 or IsaPath.Vector512 when q >= V256<T>.Lanes:
                ReluMaxBackward<T, V256<T>>(dpooled, pooled, argmax, blocks, dz);
                break;
            case IsaPath.Vector128 or IsaPath.Vector256 or IsaPath.Vector512 when q >= V128<T>.Lanes:
                ReluMaxBackward<T, V128<T>>(dpooled, pooled, argmax, blocks, dz);
                break;
            default:
                ReluMaxBackwardReference(dpooled, pooled, argmax, blocks, dz);
                break;
        }
    }

    /// <summary>The scalar reference of <see cref="ReluMaxBackward{T}"/>.</summary>
    public static void ReluMaxBackwardReference<T>(ReadOnlySpan<T> dpooled, ReadOnlySpan<T> pooled, ReadOnlySpan<T> argmax, int blocks, Span<T> dz)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int q = dpooled.Length;
        for (int b = 0; b < blocks; b++)
        {
            for (int i = 0; i < q; i++)
            {
                dz[(b * q) + i] = argmax[i] == T.CreateTruncating(b) && pooled[i] > T.Zero ? dpooled[i] : T.Zero;
            }
        }
    }

    /// <summary>Whole vectors, then the last vector again at q − lanes (the same values rewritten: every lane is computed alone).</summary>
    private static void ReluMax<T, TV>(ReadOnlySpan<T> z, int blocks, int q, Span<T> pooled, Span<T> argmax)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TV : struct, IVector<TV, T>
    {
        ref T zs = ref MemoryMarshal.GetReference(z);
        ref T ps = ref MemoryMarshal.GetReference(pooled);
        ref T ats = ref MemoryMarshal.GetReference(argmax);
        for (nint i = 0; ; i += TV.Lanes)
        {
            i = Math.Min(i, q - TV.Lanes);
            TV best = TV.Max(TV.Load(ref zs, i), TV.Zero), at = TV.Zero;
            for (int b = 1; b < blocks; b++)
            {
                TV value = TV.Max(TV.Load(ref zs, (b * (nint)q) + i), TV.Zero);
                TV greater = TV.LessThan(best, value);
                best = TV.Select(greater, value, best);
                at = TV.Select(greater, TV.Create(T.CreateTruncating(b)), at);
            }

            TV.Store(best, ref ps, i);
            TV.Store(at, ref ats, i);
            if (i == q - TV.Lanes)
            {
                return;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ReluMaxBackward<T, TV>(ReadOnlySpan<T> dpooled, ReadOnlySpan<T> pooled, ReadOnlySpan<T> argmax, int blocks, Span<T> dz)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TV : struct, IVector<TV, T>
    {
        int q = dpooled.Length;
        ref T ds = ref MemoryMarshal.GetReference(dpooled);
        ref T ps = ref MemoryMarshal.GetReference(pooled);
        ref T ats = ref MemoryMarshal.GetReference(argmax);
        ref T zs = ref MemoryMarshal.GetReference(dz);
        for (nint i = 0; ; i += TV.Lanes)
        {
            i = Math.Min(i, q - TV.Lanes);
            TV gradient = TV.Load(ref ds, i), at = TV.Load(ref ats, i);
            TV passes = TV.LessThan(TV.Zero, TV.Load(ref ps, i)); // ReLU let the maximum through
            for (int b = 0; b < blocks; b++)
            {
                TV here = TV.Select(passes, TV.Equal(at, TV.Create(T.CreateTruncating(b))), TV.Zero);
                TV.Store(TV.Select(here, gradient, TV.Zero), ref zs, (b * (nint)q) + i);
            }

            if (i == q - TV.Lanes)
            {
                return;
            }
        }
    }
}
