using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Simd.Kernels;

/// <summary>
/// The two products of <see cref="PooledConvolution"/>, read straight from the pooling phases of one image (see
/// <see cref="PooledColumns"/>): phases[o + q] for the row offset o = offsets[b·K + k] of window entry k in pooling
/// block b, at pooled position q. The pooled-order column matrix has K·B rows of Q (100 for the book's 5x5 kernel and
/// 2x2 pool); they are copies of C·(S·(PH−1) + FH)·(S·(PW−1) + FW) phase rows (36). Reading the phases through the
/// offsets makes the gather 2.8 times smaller and lets the forward product keep the whole pooling window in registers,
/// so the convolution's output is never stored.
/// <list type="bullet">
/// <item><see cref="ForwardPooled"/>: pooled[f, q] = max over b of ReLU(bias[f] + Σ_k W[f, k]·phases[offsets[b·K + k] + q]), argmax
/// the first b that holds it. A tile is F filters x V vectors of q in registers (6 x 3 on the 512-bit path: 18
/// accumulators, 3 loads and 6 broadcasts for 18 multiply-adds); its blocks one after another, each folded into the
/// running maximum.</item>
/// <item><see cref="WeightGradient"/>: dW[f, k] (+)= Σ_b Σ_q dz[f, b·Q + q]·phases[offsets[b·K + k] + q]. A tile is F filters x
/// a few k, each a vector accumulator running along q, summed across lanes at the end.</item>
/// </list>
/// Both sum over k (or b, q) in one fixed order for a given ISA path, whatever the caller's threads; the scalar
/// references are the same sums one element at a time.
/// </summary>
public static class PhaseConvolution
{
    /// <summary>Filters of a forward tile: 6 x 3 vectors on the 512-bit path (18 accumulators of 32 registers); 4 x 3 on the 16-register paths.</summary>
    private const int ForwardFilters512 = 6, ForwardFilters = 4;

    /// <summary>Filters of a weight-gradient tile: 4 x 5 window entries on the 512-bit path (20 accumulators); 2 x 5 on the 16-register paths.</summary>
    private const int GradientFilters512 = 4, GradientFilters = 2;

    /// <summary>Window entries of a weight-gradient tile: the book's 5x5 and 3x3 windows (25, 9) split into few tails.</summary>
    private const int GradientEntries = 5;

    /// <summary>The forward pass: pooled and argmax [FN, Q] from the phases (see the class summary).</summary>
    public static void ForwardPooled<T>(
        IsaPath isa,
        ReadOnlySpan<T> phases,     // [phase rows, Q]
        ReadOnlySpan<int> offsets,  // [B, K]: where window entry k of block b starts in phases
        ReadOnlySpan<T> weights,    // [FN, K]
        ReadOnlySpan<T> bias,       // [FN]
        int q,
        Span<T> pooled,             // [FN, Q]
        Span<T> argmax)             // [FN, Q]: the block number, as T; empty in inference (no backward pass to route)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int filters = bias.Length, k = Validate(phases, offsets, weights, filters, q);
        ShapeCheck.AtLeast(pooled, (long)filters * q, nameof(pooled));
        if (!argmax.IsEmpty)
        {
            ShapeCheck.AtLeast(argmax, (long)filters * q, nameof(argmax));
        }

        int blocks = offsets.Length / k;
        switch (Isa.Effective(isa))
        {
            case IsaPath.Vector512 when q >= V512<T>.Lanes:
                ForwardTiles<T, V512<T>>(phases, offsets, weights, bias, k, blocks, q, pooled, argmax, filterTile: ForwardFilters512);
                break;
            case IsaPath.Vector256 or IsaPath.Vector512 when q >= V256<T>.Lanes:
                ForwardTiles<T, V256<T>>(phases, offsets, weights, bias, k, blocks, q, pooled, argmax, filterTile: ForwardFilters);
                break;
            case IsaPath.Vector128 or IsaPath.Vector256 or IsaPath.Vector512 when q >= V128<T>.Lanes:
                ForwardTiles<T, V128<T>>(phases, offsets, weights, bias, k, blocks, q, pooled, argmax, filterTile: ForwardFilters);
                break;
            default:
                ForwardPooledReference(phases, offsets, weights, bias, q, pooled, argmax);
                break;
        }
    }

    /// <summary>The scalar reference of <see cref="ForwardPooled{T}"/>: each output alone, k in order, b in order (argmax may be empty).</summary>
    public static void ForwardPooledReference<T>(
        ReadOnlySpan<T> phases, ReadOnlySpan<int> offsets, ReadOnlySpan<T> weights, ReadOnlySpan<T> bias, int q, Span<T> pooled, Span<T> argmax)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int filters = bias.Length, k = Validate(phases, offsets, weights, filters, q), blocks = offsets.Length / k;
        for (int f = 0; f < filters; f++)
        {
            for (int i = 0; i < q; i++)
            {
                T best = T.Zero, at = T.Zero;
                for (int b = 0; b < blocks; b++)
                {
                    T z = bias[f];
                    for (int p = 0; p < k; p++)
                    {
                        z = (weights[(f * k) + p] * phases[offsets[(b * k) + p] + i]) + z;
                    }

                    T value = Relu.ForwardReference(z);
                    if (b == 0 || best < value)
                    {
                        (best, at) = (value, T.CreateTruncating(b));
                    }
                }

                pooled[(f * q) + i] = best;
                if (!argmax.IsEmpty)
                {
                    argmax[(f * q) + i] = at;
                }
            }
        }
    }

    /// <summary>The weight gradient: dW [FN, K] (+)= Σ_b dz_b · phases_bᵀ (see the class summary).</summary>
    public static void WeightGradient<T>(
        IsaPath isa,
        ReadOnlySpan<T> dz,         // [FN, B·Q]
        ReadOnlySpan<T> phases,     // [phase rows, Q]
        ReadOnlySpan<int> offsets,  // [B, K]
        int filters, int q,
        Span<T> dWeights,           // [FN, K]
        bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int k = Validate(phases, offsets, dWeights, filters, q), blocks = offsets.Length / k;
        ShapeCheck.AtLeast(dz, (long)filters * blocks * q, nameof(dz));
        switch (Isa.Effective(isa))
        {
            case IsaPath.Vector512 when q >= V512<T>.Lanes:
                GradientTiles<T, V512<T>>(dz, phases, offsets, k, blocks, q, filters, dWeights, accumulate, filterTile: GradientFilters512);
                break;
            case IsaPath.Vector256 or IsaPath.Vector512 when q >= V256<T>.Lanes:
                GradientTiles<T, V256<T>>(dz, phases, offsets, k, blocks, q, filters, dWeights, accumulate, filterTile: GradientFilters);
                break;
            case IsaPath.Vector128 or IsaPath.Vector256 or IsaPath.Vector512 when q >= V128<T>.Lanes:
                GradientTiles<T, V128<T>>(dz, phases, offsets, k, blocks, q, filters, dWeights, accumulate, filterTile: GradientFilters);
                break;
            default:
                WeightGradientReference(dz, phases, offsets, filters, q, dWeights, accumulate);
                break;
        }
    }

    /// <summary>The scalar reference of <see cref="WeightGradient{T}"/>: each element's products b by b, q in order.</summary>
    public static void WeightGradientReference<T>(
        ReadOnlySpan<T> dz, ReadOnlySpan<T> phases, ReadOnlySpan<int> offsets, int filters, int q, Span<T> dWeights, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int k = Validate(phases, offsets, dWeights, filters, q), blocks = offsets.Length / k;
        ShapeCheck.AtLeast(dz, (long)filters * blocks * q, nameof(dz));
        for (int f = 0; f < filters; f++)
        {
            for (int p = 0; p < k; p++)
            {
                T sum = T.Zero;
                for (int b = 0; b < blocks; b++)
                {
                    ReadOnlySpan<T> row = phases.Slice(offsets[(b * k) + p], q), gradient = dz.Slice((f * blocks * q) + (b * q), q);
                    for (int i = 0; i < q; i++)
                    {
                        sum = (gradient[i] * row[i]) + sum;
                    }
                }

                dWeights[(f * k) + p] = accumulate ? dWeights[(f * k) + p] + sum : sum;
            }
        }
    }

    /// <summary>K, after checking every offset reads inside the phases and the weights are [FN, K].</summary>
    private static int Validate<T>(ReadOnlySpan<T> phases, ReadOnlySpan<int> offsets, ReadOnlySpan<T> weights, int filters, int q)
    {
        if (filters < 1 || q < 1 || weights.Length % filters != 0 || weights.Length == 0 || offsets.Length % (weights.Length / filters) != 0)
        {
            throw new ArgumentException($"{weights.Length} weights for {filters} filters and {offsets.Length} offsets at Q = {q} make no [FN, K] and [B, K]");
        }

        foreach (int offset in offsets)
        {
            if (offset < 0 || offset > phases.Length - q)
            {
                throw new ArgumentOutOfRangeException(nameof(offsets), $"offset {offset} reads past the {phases.Length} phase values (Q = {q})");
            }
        }

        return weights.Length / filters;
    }

    private static void ForwardTiles<T, TV>(
        ReadOnlySpan<T> phases, ReadOnlySpan<int> offsets, ReadOnlySpan<T> weights, ReadOnlySpan<T> bias,
        int k, int blocks, int q, Span<T> pooled, Span<T> argmax, int filterTile)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TV : struct, IVector<TV, T>
    {
        ref T s = ref MemoryMarshal.GetReference(phases);
        ref int o = ref MemoryMarshal.GetReference(offsets);
        ref T w = ref MemoryMarshal.GetReference(weights);
        ref T bi = ref MemoryMarshal.GetReference(bias);
        ref T pz = ref MemoryMarshal.GetReference(pooled);
        int filters = bias.Length;
        if (argmax.IsEmpty)
        {
            ForwardTiles<T, TV, C0>(ref s, ref o, ref w, ref bi, filters, k, blocks, q, ref pz, ref pz, filterTile);
        }
        else
        {
            ForwardTiles<T, TV, C1>(ref s, ref o, ref w, ref bi, filters, k, blocks, q, ref pz, ref MemoryMarshal.GetReference(argmax), filterTile);
        }
    }

    /// <summary>The tiles of <see cref="ForwardPooled{T}"/>; TArgmax 0: no argmax kept (inference), 1: kept.</summary>
    private static void ForwardTiles<T, TV, TArgmax>(
        ref T s, ref int o, ref T w, ref T bi, int filters, int k, int blocks, int q, ref T pz, ref T pa, int filterTile)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TV : struct, IVector<TV, T>
        where TArgmax : struct, IConstant
    {
        int lanes = TV.Lanes;
        for (int f = 0; f < filters; f += filterTile)
        {
            int count = Math.Min(filterTile, filters - f);
            ref T wf = ref Unsafe.Add(ref w, f * k);
            ref T bf = ref Unsafe.Add(ref bi, f);
            for (int i = 0; i < q;)
            {
                // Three vectors while they fit, then one; the last one at q − lanes, recomputing lanes already done
                // (each lane is computed alone, from scratch, so they are written again with the same values).
                int vectors = q - i >= 3 * lanes ? 3 : 1;
                i = Math.Min(i, q - lanes);
                ref T ps = ref Unsafe.Add(ref pz, (f * q) + i);
                ref T pa0 = ref Unsafe.Add(ref pa, (f * q) + i);
                ref T si = ref Unsafe.Add(ref s, i);
                switch ((count, vectors))
                {
                    case (6, 3): ForwardTile<T, TV, C6, C3, TArgmax>(ref si, ref o, ref wf, ref bf, k, blocks, q, ref ps, ref pa0); break;
                    case (6, _): ForwardTile<T, TV, C6, C1, TArgmax>(ref si, ref o, ref wf, ref bf, k, blocks, q, ref ps, ref pa0); break;
                    case (5, 3): ForwardTile<T, TV, C5, C3, TArgmax>(ref si, ref o, ref wf, ref bf, k, blocks, q, ref ps, ref pa0); break;
                    case (5, _): ForwardTile<T, TV, C5, C1, TArgmax>(ref si, ref o, ref wf, ref bf, k, blocks, q, ref ps, ref pa0); break;
                    case (4, 3): ForwardTile<T, TV, C4, C3, TArgmax>(ref si, ref o, ref wf, ref bf, k, blocks, q, ref ps, ref pa0); break;
                    case (4, _): ForwardTile<T, TV, C4, C1, TArgmax>(ref si, ref o, ref wf, ref bf, k, blocks, q, ref ps, ref pa0); break;
                    case (3, 3): ForwardTile<T, TV, C3, C3, TArgmax>(ref si, ref o, ref wf, ref bf, k, blocks, q, ref ps, ref pa0); break;
                    case (3, _): ForwardTile<T, TV, C3, C1, TArgmax>(ref si, ref o, ref wf, ref bf, k, blocks, q, ref ps, ref pa0); break;
                    case (2, 3): ForwardTile<T, TV, C2, C3, TArgmax>(ref si, ref o, ref wf, ref bf, k, blocks, q, ref ps, ref pa0); break;
                    case (2, _): ForwardTile<T, TV, C2, C1, TArgmax>(ref si, ref o, ref wf, ref bf, k, blocks, q, ref ps, ref pa0); break;
                    case (_, 3): ForwardTile<T, TV, C1, C3, TArgmax>(ref si, ref o, ref wf, ref bf, k, blocks, q, ref ps, ref pa0); break;
                    default: ForwardTile<T, TV, C1, C1, TArgmax>(ref si, ref o, ref wf, ref bf, k, blocks, q, ref ps, ref pa0); break;
                }

                i += vectors * lanes;
            }
        }
    }

    /// <summary>
    /// TFilters x TVectors outputs: per block, the accumulators start at the bias and run along k (TVectors loads of
    /// the phases, TFilters broadcasts of W, TFilters·TVectors multiply-adds a step); then ReLU and the running maximum.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ForwardTile<T, TV, TFilters, TVectors, TArgmax>(
        ref T s, ref int offsets, ref T w, ref T bias, int k, int blocks, int q, ref T pooled, ref T argmax)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TV : struct, IVector<TV, T>
        where TFilters : struct, IConstant
        where TVectors : struct, IConstant
        where TArgmax : struct, IConstant
    {
        nint l1 = TV.Lanes, l2 = 2 * TV.Lanes;
        nint w1 = k, w2 = 2 * k, w3 = 3 * k, w4 = 4 * k, w5 = 5 * k;
        for (int b = 0; b < blocks; b++)
        {
            TV bias0 = TV.Create(bias);
            TV bias1 = TFilters.Value > 1 ? TV.Create(Unsafe.Add(ref bias, 1)) : TV.Zero;
            TV bias2 = TFilters.Value > 2 ? TV.Create(Unsafe.Add(ref bias, 2)) : TV.Zero;
            TV bias3 = TFilters.Value > 3 ? TV.Create(Unsafe.Add(ref bias, 3)) : TV.Zero;
            TV bias4 = TFilters.Value > 4 ? TV.Create(Unsafe.Add(ref bias, 4)) : TV.Zero;
            TV bias5 = TFilters.Value > 5 ? TV.Create(Unsafe.Add(ref bias, 5)) : TV.Zero;
            TV c00 = bias0, c01 = bias0, c02 = bias0;
            TV c10 = bias1, c11 = bias1, c12 = bias1;
            TV c20 = bias2, c21 = bias2, c22 = bias2;
            TV c30 = bias3, c31 = bias3, c32 = bias3;
            TV c40 = bias4, c41 = bias4, c42 = bias4;
            TV c50 = bias5, c51 = bias5, c52 = bias5;
            ref int ob = ref Unsafe.Add(ref offsets, b * k);
            for (nint p = 0; p < k; p++)
            {
                nint at = Unsafe.Add(ref ob, p);
                TV s0 = TV.Load(ref s, at);
                TV s1 = TVectors.Value > 1 ? TV.Load(ref s, at + l1) : TV.Zero;
                TV s2 = TVectors.Value > 2 ? TV.Load(ref s, at + l2) : TV.Zero;
                TV x = TV.Create(Unsafe.Add(ref w, p));
                c00 = TV.MultiplyAdd(x, s0, c00);
                if (TVectors.Value > 1)
                {
                    c01 = TV.MultiplyAdd(x, s1, c01);
                    c02 = TV.MultiplyAdd(x, s2, c02);
                }

                if (TFilters.Value > 1)
                {
                    x = TV.Create(Unsafe.Add(ref w, w1 + p));
                    c10 = TV.MultiplyAdd(x, s0, c10);
                    if (TVectors.Value > 1)
                    {
                        c11 = TV.MultiplyAdd(x, s1, c11);
                        c12 = TV.MultiplyAdd(x, s2, c12);
                    }
                }

                if (TFilters.Value > 2)
                {
                    x = TV.Create(Unsafe.Add(ref w, w2 + p));
                    c20 = TV.MultiplyAdd(x, s0, c20);
                    if (TVectors.Value > 1)
                    {
                        c21 = TV.MultiplyAdd(x, s1, c21);
                        c22 = TV.MultiplyAdd(x, s2, c22);
                    }
                }

                if (TFilters.Value > 3)
                {
                    x = TV.Create(Unsafe.Add(ref w, w3 + p));
                    c30 = TV.MultiplyAdd(x, s0, c30);
                    if (TVectors.Value > 1)
                    {
                        c31 = TV.MultiplyAdd(x, s1, c31);
                        c32 = TV.MultiplyAdd(x, s2, c32);
                    }
                }

                if (TFilters.Value > 4)
                {
                    x = TV.Create(Unsafe.Add(ref w, w4 + p));
                    c40 = TV.MultiplyAdd(x, s0, c40);
                    if (TVectors.Value > 1)
                    {
                        c41 = TV.MultiplyAdd(x, s1, c41);
                        c42 = TV.MultiplyAdd(x, s2, c42);
                    }
                }

                if (TFilters.Value > 5)
                {
                    x = TV.Create(Unsafe.Add(ref w, w5 + p));
                    c50 = TV.MultiplyAdd(x, s0, c50);
                    if (TVectors.Value > 1)
                    {
                        c51 = TV.MultiplyAdd(x, s1, c51);
                        c52 = TV.MultiplyAdd(x, s2, c52);
                    }
                }
            }

            Fold<T, TV, TVectors, TArgmax>(c00, c01, c02, b, ref pooled, ref argmax, 0, l1);
            if (TFilters.Value > 1)
            {
                Fold<T, TV, TVectors, TArgmax>(c10, c11, c12, b, ref pooled, ref argmax, q, l1);
            }

            if (TFilters.Value > 2)
            {
                Fold<T, TV, TVectors, TArgmax>(c20, c21, c22, b, ref pooled, ref argmax, 2 * (nint)q, l1);
            }

            if (TFilters.Value > 3)
            {
                Fold<T, TV, TVectors, TArgmax>(c30, c31, c32, b, ref pooled, ref argmax, 3 * (nint)q, l1);
            }

            if (TFilters.Value > 4)
            {
                Fold<T, TV, TVectors, TArgmax>(c40, c41, c42, b, ref pooled, ref argmax, 4 * (nint)q, l1);
            }

            if (TFilters.Value > 5)
            {
                Fold<T, TV, TVectors, TArgmax>(c50, c51, c52, b, ref pooled, ref argmax, 5 * (nint)q, l1);
            }
        }
    }

    /// <summary>One filter's vectors of block b into the running maximum at pooled + row (ReLU first; the first maximum on ties).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Fold<T, TV, TVectors, TArgmax>(TV z0, TV z1, TV z2, int b, ref T pooled, ref T argmax, nint row, nint lanes)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TV : struct, IVector<TV, T>
        where TVectors : struct, IConstant
        where TArgmax : struct, IConstant
    {
        FoldOne<T, TV, TArgmax>(z0, b, ref pooled, ref argmax, row);
        if (TVectors.Value > 1)
        {
            FoldOne<T, TV, TArgmax>(z1, b, ref pooled, ref argmax, row + lanes);
            FoldOne<T, TV, TArgmax>(z2, b, ref pooled, ref argmax, row + (2 * lanes));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void FoldOne<T, TV, TArgmax>(TV z, int b, ref T pooled, ref T argmax, nint at)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TV : struct, IVector<TV, T>
        where TArgmax : struct, IConstant
    {
        TV value = TV.Max(z, TV.Zero);
        if (b == 0)
        {
            TV.Store(value, ref pooled, at);
            if (TArgmax.Value != 0)
            {
                TV.Store(TV.Zero, ref argmax, at);
            }

            return;
        }

        if (TArgmax.Value == 0)
        {
            // Inference: the maximum alone (the same value as with the argmax: the larger of two, or either when equal).
            TV.Store(TV.Max(TV.Load(ref pooled, at), value), ref pooled, at);
            return;
        }

        TV best = TV.Load(ref pooled, at);
        TV greater = TV.LessThan(best, value);
        TV.Store(TV.Select(greater, value, best), ref pooled, at);
        TV.Store(TV.Select(greater, TV.Create(T.CreateTruncating(b)), TV.Load(ref argmax, at)), ref argmax, at);
    }

    private static void GradientTiles<T, TV>(
        ReadOnlySpan<T> dz, ReadOnlySpan<T> phases, ReadOnlySpan<int> offsets,
        int k, int blocks, int q, int filters, Span<T> dWeights, bool accumulate, int filterTile)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TV : struct, IVector<TV, T>
    {
        ref T d = ref MemoryMarshal.GetReference(dz);
        ref T s = ref MemoryMarshal.GetReference(phases);
        ref int o = ref MemoryMarshal.GetReference(offsets);
        ref T dw = ref MemoryMarshal.GetReference(dWeights);
        int dzRow = blocks * q;
        for (int f = 0; f < filters; f += filterTile)
        {
            int rows = Math.Min(filterTile, filters - f);
            ref T df = ref Unsafe.Add(ref d, f * dzRow);
            for (int p = 0; p < k; p += GradientEntries)
            {
                int entries = Math.Min(GradientEntries, k - p);
                ref T c = ref Unsafe.Add(ref dw, (f * k) + p);
                ref int op = ref Unsafe.Add(ref o, p);
                switch ((rows, entries))
                {
                    case (4, 5): GradientTile<T, TV, C4, C5>(ref df, dzRow, ref s, ref op, k, blocks, q, ref c, accumulate); break;
                    case (4, 4): GradientTile<T, TV, C4, C4>(ref df, dzRow, ref s, ref op, k, blocks, q, ref c, accumulate); break;
                    case (4, 3): GradientTile<T, TV, C4, C3>(ref df, dzRow, ref s, ref op, k, blocks, q, ref c, accumulate); break;
                    case (4, 2): GradientTile<T, TV, C4, C2>(ref df, dzRow, ref s, ref op, k, blocks, q, ref c, accumulate); break;
                    case (4, _): GradientTile<T, TV, C4, C1>(ref df, dzRow, ref s, ref op, k, blocks, q, ref c, accumulate); break;
                    case (3, 5): GradientTile<T, TV, C3, C5>(ref df, dzRow, ref s, ref op, k, blocks, q, ref c, accumulate); break;
                    case (3, 4): GradientTile<T, TV, C3, C4>(ref df, dzRow, ref s, ref op, k, blocks, q, ref c, accumulate); break;
                    case (3, 3): GradientTile<T, TV, C3, C3>(ref df, dzRow, ref s, ref op, k, blocks, q, ref c, accumulate); break;
                    case (3, 2): GradientTile<T, TV, C3, C2>(ref df, dzRow, ref s, ref op, k, blocks, q, ref c, accumulate); break;
                    case (3, _): GradientTile<T, TV, C3, C1>(ref df, dzRow, ref s, ref op, k, blocks, q, ref c, accumulate); break;
                    case (2, 5): GradientTile<T, TV, C2, C5>(ref df, dzRow, ref s, ref op, k, blocks, q, ref c, accumulate); break;
                    case (2, 4): GradientTile<T, TV, C2, C4>(ref df, dzRow, ref s, ref op, k, blocks, q, ref c, accumulate); break;
                    case (2, 3): GradientTile<T, TV, C2, C3>(ref df, dzRow, ref s, ref op, k, blocks, q, ref c, accumulate); break;
                    case (2, 2): GradientTile<T, TV, C2, C2>(ref df, dzRow, ref s, ref op, k, blocks, q, ref c, accumulate); break;
                    case (2, _): GradientTile<T, TV, C2, C1>(ref df, dzRow, ref s, ref op, k, blocks, q, ref c, accumulate); break;
                    case (_, 5): GradientTile<T, TV, C1, C5>(ref df, dzRow, ref s, ref op, k, blocks, q, ref c, accumulate); break;
                    case (_, 4): GradientTile<T, TV, C1, C4>(ref df, dzRow, ref s, ref op, k, blocks, q, ref c, accumulate); break;
                    case (_, 3): GradientTile<T, TV, C1, C3>(ref df, dzRow, ref s, ref op, k, blocks, q, ref c, accumulate); break;
                    case (_, 2): GradientTile<T, TV, C1, C2>(ref df, dzRow, ref s, ref op, k, blocks, q, ref c, accumulate); break;
                    default: GradientTile<T, TV, C1, C1>(ref df, dzRow, ref s, ref op, k, blocks, q, ref c, accumulate); break;
                }
            }
        }
    }

    /// <summary>
    /// dW for TRows filters x TEntries window entries: one vector accumulator each along (b, q): TRows loads of dz and
    /// TEntries of the phases for TRows·TEntries multiply-adds; the whole vectors of a row without a branch, then its last part masked (zeros past q).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void GradientTile<T, TV, TRows, TEntries>(
        ref T dz, nint dzRow, ref T s, ref int offsets, int k, int blocks, int q, ref T dw, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TV : struct, IVector<TV, T>
        where TRows : struct, IConstant
        where TEntries : struct, IConstant
    {
        TV c00 = TV.Zero, c01 = TV.Zero, c02 = TV.Zero, c03 = TV.Zero, c04 = TV.Zero;
        TV c10 = TV.Zero, c11 = TV.Zero, c12 = TV.Zero, c13 = TV.Zero, c14 = TV.Zero;
        TV c20 = TV.Zero, c21 = TV.Zero, c22 = TV.Zero, c23 = TV.Zero, c24 = TV.Zero;
        TV c30 = TV.Zero, c31 = TV.Zero, c32 = TV.Zero, c33 = TV.Zero, c34 = TV.Zero;
        int lanes = TV.Lanes, whole = q - (q % lanes);
        for (int b = 0; b < blocks; b++)
        {
            // One reference per row read, so each load is [row + 4·i] with no address arithmetic in the loop.
            ref int ob = ref Unsafe.Add(ref offsets, b * k);
            ref T r0 = ref Unsafe.Add(ref s, ob);
            ref T r1 = ref TEntries.Value > 1 ? ref Unsafe.Add(ref s, Unsafe.Add(ref ob, 1)) : ref s;
            ref T r2 = ref TEntries.Value > 2 ? ref Unsafe.Add(ref s, Unsafe.Add(ref ob, 2)) : ref s;
            ref T r3 = ref TEntries.Value > 3 ? ref Unsafe.Add(ref s, Unsafe.Add(ref ob, 3)) : ref s;
            ref T r4 = ref TEntries.Value > 4 ? ref Unsafe.Add(ref s, Unsafe.Add(ref ob, 4)) : ref s;
            ref T d0 = ref Unsafe.Add(ref dz, b * (nint)q);
            ref T d1 = ref TRows.Value > 1 ? ref Unsafe.Add(ref d0, dzRow) : ref d0;
            ref T d2 = ref TRows.Value > 2 ? ref Unsafe.Add(ref d0, 2 * dzRow) : ref d0;
            ref T d3 = ref TRows.Value > 3 ? ref Unsafe.Add(ref d0, 3 * dzRow) : ref d0;
            for (nint i = 0; i < whole; i += lanes)
            {
                TV s0 = TV.Load(ref r0, i);
                TV s1 = TEntries.Value > 1 ? TV.Load(ref r1, i) : TV.Zero;
                TV s2 = TEntries.Value > 2 ? TV.Load(ref r2, i) : TV.Zero;
                TV s3 = TEntries.Value > 3 ? TV.Load(ref r3, i) : TV.Zero;
                TV s4 = TEntries.Value > 4 ? TV.Load(ref r4, i) : TV.Zero;
                Row<T, TV, TEntries>(TV.Load(ref d0, i), s0, s1, s2, s3, s4, ref c00, ref c01, ref c02, ref c03, ref c04);
                if (TRows.Value > 1)
                {
                    Row<T, TV, TEntries>(TV.Load(ref d1, i), s0, s1, s2, s3, s4, ref c10, ref c11, ref c12, ref c13, ref c14);
                }

                if (TRows.Value > 2)
                {
                    Row<T, TV, TEntries>(TV.Load(ref d2, i), s0, s1, s2, s3, s4, ref c20, ref c21, ref c22, ref c23, ref c24);
                }

                if (TRows.Value > 3)
                {
                    Row<T, TV, TEntries>(TV.Load(ref d3, i), s0, s1, s2, s3, s4, ref c30, ref c31, ref c32, ref c33, ref c34);
                }
            }

            if (whole < q)
            {
                // The last part of the row: zeros past q in both factors (a phase row's neighbour could hold anything).
                int count = q - whole;
                TV s0 = TV.LoadFirst(ref r0, whole, count, TV.Zero);
                TV s1 = TEntries.Value > 1 ? TV.LoadFirst(ref r1, whole, count, TV.Zero) : TV.Zero;
                TV s2 = TEntries.Value > 2 ? TV.LoadFirst(ref r2, whole, count, TV.Zero) : TV.Zero;
                TV s3 = TEntries.Value > 3 ? TV.LoadFirst(ref r3, whole, count, TV.Zero) : TV.Zero;
                TV s4 = TEntries.Value > 4 ? TV.LoadFirst(ref r4, whole, count, TV.Zero) : TV.Zero;
                Row<T, TV, TEntries>(TV.LoadFirst(ref d0, whole, count, TV.Zero), s0, s1, s2, s3, s4, ref c00, ref c01, ref c02, ref c03, ref c04);
                if (TRows.Value > 1)
                {
                    Row<T, TV, TEntries>(TV.LoadFirst(ref d1, whole, count, TV.Zero), s0, s1, s2, s3, s4, ref c10, ref c11, ref c12, ref c13, ref c14);
                }

                if (TRows.Value > 2)
                {
                    Row<T, TV, TEntries>(TV.LoadFirst(ref d2, whole, count, TV.Zero), s0, s1, s2, s3, s4, ref c20, ref c21, ref c22, ref c23, ref c24);
                }

                if (TRows.Value > 3)
                {
                    Row<T, TV, TEntries>(TV.LoadFirst(ref d3, whole, count, TV.Zero), s0, s1, s2, s3, s4, ref c30, ref c31, ref c32, ref c33, ref c34);
                }
            }
        }

        StoreRow<T, TV, TEntries>(c00, c01, c02, c03, c04, ref dw, accumulate);
        if (TRows.Value > 1)
        {
            StoreRow<T, TV, TEntries>(c10, c11, c12, c13, c14, ref Unsafe.Add(ref dw, k), accumulate);
        }

        if (TRows.Value > 2)
        {
            StoreRow<T, TV, TEntries>(c20, c21, c22, c23, c24, ref Unsafe.Add(ref dw, 2 * k), accumulate);
        }

        if (TRows.Value > 3)
        {
            StoreRow<T, TV, TEntries>(c30, c31, c32, c33, c34, ref Unsafe.Add(ref dw, 3 * k), accumulate);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Row<T, TV, TEntries>(TV g, TV s0, TV s1, TV s2, TV s3, TV s4, ref TV c0, ref TV c1, ref TV c2, ref TV c3, ref TV c4)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TV : struct, IVector<TV, T>
        where TEntries : struct, IConstant
    {
        c0 = TV.MultiplyAdd(g, s0, c0);
        if (TEntries.Value > 1)
        {
            c1 = TV.MultiplyAdd(g, s1, c1);
        }

        if (TEntries.Value > 2)
        {
            c2 = TV.MultiplyAdd(g, s2, c2);
        }

        if (TEntries.Value > 3)
        {
            c3 = TV.MultiplyAdd(g, s3, c3);
        }

        if (TEntries.Value > 4)
        {
            c4 = TV.MultiplyAdd(g, s4, c4);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow<T, TV, TEntries>(TV c0, TV c1, TV c2, TV c3, TV c4, ref T dw, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TV : struct, IVector<TV, T>
        where TEntries : struct, IConstant
    {
        if (TEntries.Value >= 4)
        {
            (T s0, T s1, T s2, T s3) = TV.SumEach(c0, c1, c2, c3);
            Store(s0, ref dw, accumulate);
            Store(s1, ref Unsafe.Add(ref dw, 1), accumulate);
            Store(s2, ref Unsafe.Add(ref dw, 2), accumulate);
            Store(s3, ref Unsafe.Add(ref dw, 3), accumulate);
            if (TEntries.Value > 4)
            {
                Store(TV.Sum(c4), ref Unsafe.Add(ref dw, 4), accumulate);
            }

            return;
        }

        Store(TV.Sum(c0), ref dw, accumulate);
        if (TEntries.Value > 1)
        {
            Store(TV.Sum(c1), ref Unsafe.Add(ref dw, 1), accumulate);
        }

        if (TEntries.Value > 2)
        {
            Store(TV.Sum(c2), ref Unsafe.Add(ref dw, 2), accumulate);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store<T>(T sum, ref T to, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T> => to = accumulate ? to + sum : sum;
}
