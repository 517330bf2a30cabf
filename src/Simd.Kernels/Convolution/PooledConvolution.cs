using System.Numerics;
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

    /// <summary>
    /// Where each entry of the pooled-order column matrix comes from: map[k·B·Q + b·Q + q] = the index in x [C, H, W]
    /// of window row k = (c, fy, fx) at conv position (py·PH + dy, px·PW + dx), or −1 in the padding. Built once per
    /// layer (a plan's work, not a step's); im2col gathers through it and col2im scatters back through it.
    /// </summary>
    public static int[] ColumnMap(in ConvolutionGeometry g, int poolHeight, int poolWidth)
    {
        int pooledWidth = g.OutputWidth / poolWidth, pooledHeight = g.OutputHeight / poolHeight;
        var map = new int[g.WindowLength * poolHeight * poolWidth * pooledHeight * pooledWidth];
        int column = 0;
        for (int c = 0; c < g.Channels; c++)
        {
            for (int fy = 0; fy < g.WindowHeight; fy++)
            {
                for (int fx = 0; fx < g.WindowWidth; fx++)
                {
                    for (int dy = 0; dy < poolHeight; dy++)
                    {
                        for (int dx = 0; dx < poolWidth; dx++)
                        {
                            for (int py = 0; py < pooledHeight; py++)
                            {
                                int iy = (((py * poolHeight) + dy) * g.Stride) + fy - g.Pad;
                                for (int px = 0; px < pooledWidth; px++)
                                {
                                    int ix = (((px * poolWidth) + dx) * g.Stride) + fx - g.Pad;
                                    map[column++] = iy >= 0 && iy < g.Height && ix >= 0 && ix < g.Width ? (((c * g.Height) + iy) * g.Width) + ix : -1;
                                }
                            }
                        }
                    }
                }
            }
        }

        return map;
    }

    /// <summary>col[i] = x[map[i]], 0 where the map says padding: the pooled-order im2col.</summary>
    public static void Im2Col<T>(ReadOnlySpan<T> x, ReadOnlySpan<int> map, Span<T> col)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ShapeCheck.AtLeast(col, map.Length, nameof(col));
        for (int i = 0; i < map.Length; i++)
        {
            int from = map[i];
            col[i] = from >= 0 ? x[from] : T.Zero;
        }
    }

    /// <summary>col2im of <see cref="Im2Col{T}"/>: dx[map[i]] (+)= dcol[i], in the order i ascending.</summary>
    public static void Col2Im<T>(ReadOnlySpan<T> dcol, ReadOnlySpan<int> map, int inputLength, Span<T> dx, bool accumulate = false)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ShapeCheck.AtLeast(dcol, map.Length, nameof(dcol));
        ShapeCheck.AtLeast(dx, inputLength, nameof(dx));
        if (!accumulate)
        {
            dx[..inputLength].Clear();
        }

        for (int i = 0; i < map.Length; i++)
        {
            int to = map[i];
            if (to >= 0)
            {
                dx[to] += dcol[i];
            }
        }
    }

    /// <summary>
    /// The forward pass: col = pooled-order im2col(x) (<see cref="PooledColumns.Gather{T}"/>); z = W · col + b in blocks; pooled[f, q] = max over the blocks of
    /// ReLU(z[f, b·Q + q]), argmax[f, q] = the first block that holds it (as a number of T, for the vector selects).
    /// </summary>
    public static void Forward<T>(
        IsaPath isa,
        ReadOnlySpan<T> x,          // [C, H, W]
        ReadOnlySpan<T> weights,    // [FN, K]
        ReadOnlySpan<T> bias,       // [FN]
        in ConvolutionGeometry g, int poolHeight, int poolWidth,
        PooledColumns plan,         // the column plan of (g, poolHeight, poolWidth)
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
        CheckPlan(plan, g, columns);
        plan.Gather(isa, x, col);
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
        PooledColumns plan,         // the column plan of (g, poolHeight, poolWidth)
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

        GemmNTLongInner.Multiply(isa, dz, col, filters, columns, k, dWeights, accumulate);
        Convolution.BiasGradient<T>(isa, dz, columns, dBias, accumulate);

        if (!dx.IsEmpty)
        {
            GemmTN.Multiply(isa, weights, k, dz, k, filters, columns, dcol);
            CheckPlan(plan, g, columns);
            Col2Im(dcol, plan.Map, g.InputLength, dx);
        }
    }

    private static void CheckPlan(PooledColumns plan, in ConvolutionGeometry g, int columns)
    {
        ArgumentNullException.ThrowIfNull(plan);
        if (plan.Length != (long)g.WindowLength * columns)
        {
            throw new ArgumentException($"the column plan has {plan.Length} entries; this layer has {(long)g.WindowLength * columns}", nameof(plan));
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
