using System.Numerics;
using System.Runtime.InteropServices;

namespace Simd.Kernels;

/// <summary>
/// Convolution → ReLU → max pooling (window = stride, no padding: the book's ch. 7 and ch. 8 pooling) fused for one
/// image. The output positions are taken by pooling window: block b = (dy, dx) of the window, pooled position q =
/// (py, px), conv position (py·PH + dy, px·PW + dx). Every column of that im2col is one row of the image's pooling
/// phases (<see cref="PhaseMap"/>, found through <see cref="PhaseOffsets"/>), so the forward pass gathers the phases and
/// computes each window's blocks in registers, taking bias, ReLU and the maximum there (<see cref="PhaseConvolution"/>);
/// the argmax is a block number. Positions no pooling window covers (an odd last row or column) are never computed:
/// nothing downstream reads them and their gradient is 0. Values match the unfused layers (the book's order, the
/// first maximum on ties); a NaN is not propagated as numpy's max would (a diverged run stops on its loss anyway).
/// </summary>
public static class PooledConvolution
{
    /// <summary>Pooled positions Q: (OH / PH)·(OW / PW), rounded down as the book's pooling does.</summary>
    public static int PooledPositions(in ConvolutionGeometry conv, int poolHeight, int poolWidth) =>
        (conv.OutputHeight / poolHeight) * (conv.OutputWidth / poolWidth);

    /// <summary>Rows and columns of one channel's pooling phases: R = S·(P − 1) + F along each axis.</summary>
    public static (int Rows, int Columns) PhaseSize(in ConvolutionGeometry g, int poolHeight, int poolWidth) =>
        ((g.Stride * (poolHeight - 1)) + g.WindowHeight, (g.Stride * (poolWidth - 1)) + g.WindowWidth);

    /// <summary>
    /// Where each value of the pooling phases comes from: map[((c·RH + r)·RW + s)·Q + q] = the index in x [C, H, W] of
    /// (c, S·PH·py + r − P, S·PW·px + s − P) for q = (py, px), or −1 in the padding. Window entry (c, fy, fx) of block
    /// (dy, dx) at pooled position q reads phase row (c, S·dy + fy, S·dx + fx) (<see cref="PhaseOffsets"/>): every
    /// row k·B + b of the pooled-order column matrix [K·B, Q] is one of these rows, and the rows are fewer (36 against 100 for the book's
    /// 5x5 window and 2x2 pool; 16 against 36 for a 3x3 window).
    /// </summary>
    public static int[] PhaseMap(in ConvolutionGeometry g, int poolHeight, int poolWidth)
    {
        (int phaseRows, int phaseColumns) = PhaseSize(g, poolHeight, poolWidth);
        int pooledWidth = g.OutputWidth / poolWidth, pooledHeight = g.OutputHeight / poolHeight;
        int rowStep = g.Stride * poolHeight, columnStep = g.Stride * poolWidth;
        var map = new int[g.Channels * phaseRows * phaseColumns * pooledHeight * pooledWidth];
        int at = 0;
        for (int c = 0; c < g.Channels; c++)
        {
            for (int r = 0; r < phaseRows; r++)
            {
                for (int s = 0; s < phaseColumns; s++)
                {
                    for (int py = 0; py < pooledHeight; py++)
                    {
                        int iy = (py * rowStep) + r - g.Pad;
                        for (int px = 0; px < pooledWidth; px++)
                        {
                            int ix = (px * columnStep) + s - g.Pad;
                            map[at++] = iy >= 0 && iy < g.Height && ix >= 0 && ix < g.Width ? (((c * g.Height) + iy) * g.Width) + ix : -1;
                        }
                    }
                }
            }
        }

        return map;
    }

    /// <summary>offsets[b·K + k]: where window entry k = (c, fy, fx) of pooling block b = (dy, dx) starts in the phases [rows, Q].</summary>
    public static int[] PhaseOffsets(in ConvolutionGeometry g, int poolHeight, int poolWidth)
    {
        (int phaseRows, int phaseColumns) = PhaseSize(g, poolHeight, poolWidth);
        int q = PooledPositions(g, poolHeight, poolWidth);
        var offsets = new int[poolHeight * poolWidth * g.WindowLength];
        int at = 0;
        for (int dy = 0; dy < poolHeight; dy++)
        {
            for (int dx = 0; dx < poolWidth; dx++)
            {
                for (int c = 0; c < g.Channels; c++)
                {
                    for (int fy = 0; fy < g.WindowHeight; fy++)
                    {
                        for (int fx = 0; fx < g.WindowWidth; fx++)
                        {
                            int row = (((c * phaseRows) + (g.Stride * dy) + fy) * phaseColumns) + (g.Stride * dx) + fx;
                            offsets[at++] = row * q;
                        }
                    }
                }
            }
        }

        return offsets;
    }

    /// <summary>col[i] = x[map[i]], 0 where the map says padding: a gather by map, the reference of <see cref="PooledColumns.Gather{T}"/>.</summary>
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

    /// <summary>
    /// The forward pass: the pooling phases of x (<see cref="PooledColumns.Gather{T}"/>), then pooled[f, q] = max over the
    /// blocks of ReLU(W · col + b) and argmax[f, q] = the first block that holds it (as a number of T, for the vector
    /// selects), read from the phases (<see cref="PhaseConvolution.ForwardPooled{T}"/>): the convolution's output is never stored.
    /// </summary>
    public static void Forward<T>(
        IsaPath isa,
        ReadOnlySpan<T> x,          // [C, H, W]
        ReadOnlySpan<T> weights,    // [FN, K]
        ReadOnlySpan<T> bias,       // [FN]
        PooledColumns plan,         // the plan of this layer's geometry and pooling
        Span<T> phases,             // [phase rows, Q] scratch, kept for the backward pass
        Span<T> pooled,             // [FN, Q]
        Span<T> argmax)             // [FN, Q], or empty: not kept (inference)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckWeights(plan, weights, bias.Length);
        plan.Gather(isa, x, phases);
        PhaseConvolution.ForwardPooled(isa, phases[..plan.Length], plan.Offsets, weights, bias, plan.PooledPositions, pooled, argmax);
    }

    /// <summary>
    /// The backward pass from dpooled: dz[f, b·Q + q] = dpooled[f, q] where b is the window's argmax and its value is
    /// positive (ReLU passes it), else 0; then dW (+)= dz · colᵀ from the phases, db (+)= Σ dz, and dx = col2im(Wᵀ · dz)
    /// unless <paramref name="dx"/> is empty.
    /// </summary>
    public static void Backward<T>(
        IsaPath isa,
        ReadOnlySpan<T> dpooled,    // [FN, Q]
        ReadOnlySpan<T> pooled,     // [FN, Q] from the forward pass
        ReadOnlySpan<T> argmax,     // [FN, Q] from the forward pass
        ReadOnlySpan<T> phases,     // [phase rows, Q] from the forward pass
        ReadOnlySpan<T> weights,    // [FN, K]
        PooledColumns plan,         // the plan of this layer's geometry and pooling
        Span<T> dz,                 // [FN, B·Q] scratch
        Span<T> dWeights,           // [FN, K]
        Span<T> dBias,              // [FN]
        Span<T> dcol,               // [K, B·Q] scratch (unused when dx is empty)
        Span<T> dx,                 // [C, H, W] or empty
        bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckWeights(plan, weights, dBias.Length);
        int filters = dBias.Length, q = plan.PooledPositions, blocks = plan.Blocks, columns = blocks * q, k = plan.Geometry.WindowLength;
        ShapeCheck.AtLeast(dz, (long)filters * columns, nameof(dz));
        for (int f = 0; f < filters; f++)
        {
            ReluMaxBackward(isa, dpooled.Slice(f * q, q), pooled.Slice(f * q, q), argmax.Slice(f * q, q), blocks, dz.Slice(f * columns, columns));
        }

        PhaseConvolution.WeightGradient(isa, dz, phases[..plan.Length], plan.Offsets, filters, q, dWeights, accumulate);
        Convolution.BiasGradient<T>(isa, dz, columns, dBias, accumulate);

        if (!dx.IsEmpty)
        {
            GemmTN.Multiply(isa, weights, k, dz, k, filters, columns, dcol);
            plan.Scatter(dcol, dx);
        }
    }

    /// <summary>The plan is there and W is [FN, K] for its geometry.</summary>
    private static void CheckWeights<T>(PooledColumns plan, ReadOnlySpan<T> weights, int filters)
    {
        ArgumentNullException.ThrowIfNull(plan);
        if (weights.Length != (long)filters * plan.Geometry.WindowLength)
        {
            throw new ArgumentException($"{weights.Length} weights for {filters} filters of {plan.Geometry.WindowLength} (the plan's C·FH·FW)", nameof(weights));
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
