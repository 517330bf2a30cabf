using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Simd.Kernels;

/// <summary>
/// A stride-1 convolution of one image straight from its zero-padded copy, with no column matrix: in a padded image
/// [C, Hp, Wp] the window tap (fy, fx) of output (oy, ox) is at (oy + fy)·Wp + ox + fx, so with the outputs laid on
/// rows of the padded width ("wide" rows, q = oy·Wp + ox; the Wp − OW extra columns are computed and dropped) every tap
/// is one shifted view of the image, and
/// <list type="bullet">
/// <item>forward: y_wide[f, q] = Σ_taps Σ_c W[f, c, tap]·xpad[c, q + tap offset] — the GEMM's tiles over the channels
/// of each shifted view (B, planes apart), each tile of y summed in registers over all the taps (<see cref="GemmDriver.RunTaps"/>);</item>
/// <item>dW (+)= dy · windows, tap-major: each window's channels read in place, a vector at a time, from a channels-last
/// copy of the padded image (<see cref="GemmDriver.RunScatteredColumns"/>); when C is not a multiple of the lanes, the
/// windows copied out as rows first (<see cref="WeightGradient{T}"/>);</item>
/// <item>dx: the same forward product on dy padded by FH − 1 − P rows and FW − 1 − P columns, with W's taps reversed and
/// its filters and channels swapped (read in place through the strides).</item>
/// </list>
/// On the book's ch. 8 layers (3x3, 16 to 64 channels) the forward pass this way beat im2col and the GEMM by 1.6x in
/// evaluation (1.8-1.9 s against 3.1 s for 10,000 images: making the column matrix cost as much as multiplying it).
/// Forward and dx sum tap after tap and within a tap channel after channel, the same order
/// on every call and every vector path (the lanes are independent outputs). Vector paths only: the scalar path keeps the
/// column matrix (<see cref="Convolution"/>), which is also its reference with <see cref="Convolution.ForwardReference{T}"/>.
/// </summary>
public sealed class DirectConvolution
{
    /// <summary>Wide rows are computed in multiples of this many outputs: the widest vector of floats, so no path has an edge tile.</summary>
    private const int Align = 16;

    /// <exception cref="ArgumentException">A stride other than 1, or a pad as large as the window (see <see cref="Applies"/>).</exception>
    public DirectConvolution(ConvolutionGeometry geometry)
    {
        if (!Applies(geometry))
        {
            throw new ArgumentException($"a direct convolution needs stride 1 and a pad below the window (got stride {geometry.Stride}, pad {geometry.Pad}, window {geometry.WindowHeight}x{geometry.WindowWidth})", nameof(geometry));
        }

        Geometry = geometry;
        ConvolutionGeometry g = geometry;
        PaddedWidth = g.Width + (2 * g.Pad);
        PaddedPlane = (g.Height + (2 * g.Pad)) * PaddedWidth;
        WidePositions = RoundUp(g.OutputHeight * PaddedWidth);
        PaddedLength = (g.Channels * PaddedPlane) + Slack;
        ExtendedWidth = g.Width + g.WindowWidth - 1;
        ExtendedPlane = (g.Height + g.WindowHeight - 1) * ExtendedWidth;
        WideInputPositions = RoundUp(g.Height * ExtendedWidth);
        _tapOffsets = [.. Enumerable.Range(0, g.WindowHeight * g.WindowWidth).Select(t => TapOffset(t, g.WindowWidth, PaddedWidth))];
        _extendedTapOffsets = [.. Enumerable.Range(0, g.WindowHeight * g.WindowWidth).Select(t => TapOffset(t, g.WindowWidth, ExtendedWidth))];
        _windowColumnAt = [.. Enumerable.Range(0, g.WindowLength).Select(j => (_tapOffsets[j / g.Channels] * g.Channels) + (j % g.Channels))];
    }

    private readonly int[] _windowColumnAt;     // [FH·FW·C]: where window column (tap, channel) is from a position's own, channels-last

    private readonly int[] _tapOffsets;         // [FH·FW]: where each window tap is from its window's corner, on padded rows
    private readonly int[] _extendedTapOffsets; // [FH·FW]: the same on dx's rows of dy padded by FH − 1 − P

    public ConvolutionGeometry Geometry { get; }

    /// <summary>True where this applies: stride 1 (the wide rows), a pad below the window (dx's padding is FH − 1 − P).</summary>
    public static bool Applies(in ConvolutionGeometry g) => g.Stride == 1 && g.Pad < g.WindowHeight && g.Pad < g.WindowWidth;

    /// <summary>The scratch one image's forward and backward passes need with <paramref name="filters"/> filters.</summary>
    public long ScratchLength(int filters) => Math.Max(
        PaddedLength + ((long)filters * WidePositions),                                              // forward
        Math.Max(WeightGradientLength(filters), ((long)filters * ExtendedPlane) + Slack + ((long)Geometry.Channels * WideInputPositions))); // backward: dW, then dx

    /// <summary>dW's channels-last image [Hp·Wp, C] and its rows [P, K] or dy on wide rows [FN, (OH − 1)·Wp + OW].</summary>
    private long WeightGradientLength(int filters) => ((long)PaddedPlane * Geometry.Channels)
        + Math.Max((long)Geometry.Positions * Geometry.WindowLength, (long)filters * (((Geometry.OutputHeight - 1) * PaddedWidth) + Geometry.OutputWidth));

    private int PaddedWidth { get; }       // Wp = W + 2P

    private int PaddedPlane { get; }       // Hp·Wp

    private int PaddedLength { get; }      // [C, Hp, Wp] and the slack the last wide vector's taps read

    private int WidePositions { get; }     // OH·Wp rounded up to Align

    private int ExtendedWidth { get; }     // We = W + FW − 1: dy padded for dx

    private int ExtendedPlane { get; }     // (H + FH − 1)·We

    private int WideInputPositions { get; } // H·We rounded up to Align

    /// <summary>Past a padded image's last plane: the last wide vector (Align − 1 outputs past the rows) and the widest tap.</summary>
    private int Slack => Align + Geometry.WindowWidth;

    /// <summary>y = conv(x) + b for one image.</summary>
    public void Forward<T>(
        IsaPath isa,
        ReadOnlySpan<T> x,       // [C, H, W]
        ReadOnlySpan<T> weights, // [FN, C, FH, FW]
        ReadOnlySpan<T> bias,    // [FN]
        Span<T> scratch,         // ScratchLength(FN)
        Span<T> y)               // [FN, OH, OW]
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ConvolutionGeometry g = Geometry;
        int filters = bias.Length;
        Check(isa, x, weights, filters, scratch);
        ShapeCheck.AtLeast(y, (long)filters * g.Positions, nameof(y));
        Span<T> padded = scratch[..PaddedLength];
        Span<T> wide = scratch.Slice(PaddedLength, filters * WidePositions); // [FN, WidePositions]
        Pad(x, g.Channels, g.Height, g.Width, g.Pad, g.Pad, PaddedWidth, PaddedPlane, padded);
        Taps(isa, weights, g.WindowLength, _tapOffsets, reversed: false, padded, PaddedPlane, filters, g.Channels, WidePositions, wide);
        for (int f = 0; f < filters; f++)
        {
            Crop(wide.Slice(f * WidePositions, WidePositions), PaddedWidth, g.OutputHeight, g.OutputWidth, bias[f], y.Slice(f * g.Positions, g.Positions));
        }
    }

    /// <summary>
    /// dW and db added to (<paramref name="accumulate"/>) or written; dx written unless empty. dW comes tap-major,
    /// [FN, FH·FW, C] (the GEMM's columns; reordered once a step, not once an image: <see cref="BookIndexOfTapMajor"/>).
    /// </summary>
    public void Backward<T>(
        IsaPath isa,
        ReadOnlySpan<T> x,        // [C, H, W]
        ReadOnlySpan<T> dy,       // [FN, OH, OW]
        ReadOnlySpan<T> weights,  // [FN, C, FH, FW]
        Span<T> scratch,          // ScratchLength(FN)
        Span<T> dWeights,         // [FN, FH·FW, C]: tap-major
        Span<T> dBias,            // [FN]
        Span<T> dx,               // [C, H, W] or empty
        bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ConvolutionGeometry g = Geometry;
        int filters = dBias.Length;
        Check(isa, x, weights, filters, scratch);
        ShapeCheck.AtLeast(dy, (long)filters * g.Positions, nameof(dy));
        ShapeCheck.AtLeast(dWeights, (long)filters * g.WindowLength, nameof(dWeights));
        WeightGradient(isa, x, dy, filters, scratch, dWeights, accumulate);
        Convolution.BiasGradient(isa, dy, g.Positions, dBias, accumulate);
        if (dx.IsEmpty)
        {
            return;
        }

        ShapeCheck.AtLeast(dx, g.InputLength, nameof(dx));
        int extendedLength = (filters * ExtendedPlane) + Slack;
        Span<T> extended = scratch[..extendedLength];
        Span<T> wideInput = scratch.Slice(extendedLength, g.Channels * WideInputPositions);
        Pad(dy, filters, g.OutputHeight, g.OutputWidth, g.WindowHeight - 1 - g.Pad, g.WindowWidth - 1 - g.Pad, ExtendedWidth, ExtendedPlane, extended);
        Taps(isa, weights, g.WindowLength, _extendedTapOffsets, reversed: true, extended, ExtendedPlane, g.Channels, filters, WideInputPositions, wideInput);
        for (int c = 0; c < g.Channels; c++)
        {
            Crop(wideInput.Slice(c * WideInputPositions, WideInputPositions), ExtendedWidth, g.Height, g.Width, T.Zero, dx.Slice(c * g.Height * g.Width, g.Height * g.Width));
        }
    }

    /// <summary>
    /// dW [FN, taps·C] (+)= dy · rows, where rows [P, taps·C] holds each output position's window, tap-major (row p, columns
    /// t·C .. t·C + C = the channels at tap t, copied as one run from a channels-last copy of the padded image): the forward
    /// pass's GEMM tiles (8 filters x 48 columns) with the long inner size P. im2col's [K, P] with 4x4 dot-product tiles
    /// spent 55% of a one-thread ch. 8 step here, 3x the forward and dx products together (the column matrix streamed
    /// from L2 on every row tile); reordering dW to the book's [FN, C, taps] after every image cost 15% of the step.
    /// </summary>
    private void WeightGradient<T>(IsaPath isa, ReadOnlySpan<T> x, ReadOnlySpan<T> dy, int filters, Span<T> scratch, Span<T> dWeights, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ConvolutionGeometry g = Geometry;
        int channels = g.Channels, taps = g.WindowHeight * g.WindowWidth, k = g.WindowLength;
        Span<T> channelsLast = scratch[..(PaddedPlane * channels)];                 // [Hp·Wp, C]
        Span<T> rows = scratch.Slice(channelsLast.Length, g.Positions * k);         // [P, taps·C]
        channelsLast.Clear();
        if (typeof(T) == typeof(float) && Avx.IsSupported && channels % 8 == 0 && g.Width >= 8)
        {
            ChannelsLast8x8(MemoryMarshal.Cast<T, float>(x), MemoryMarshal.Cast<T, float>(channelsLast));
        }
        else
        {
            ChannelsLastScalar(x, channelsLast);
        }

        IsaPath path = Isa.Effective(isa);
        if (channels % Lanes<T>(path) == 0)
        {
            ScatteredWeightGradient(path, channelsLast, dy, filters, scratch[channelsLast.Length..], dWeights, accumulate);
            return;
        }

        ref T from = ref MemoryMarshal.GetReference(channelsLast);
        ref T to = ref MemoryMarshal.GetReference(rows);
        for (int oy = 0, p = 0; oy < g.OutputHeight; oy++)
        {
            for (int ox = 0; ox < g.OutputWidth; ox++, p++)
            {
                int q = (oy * PaddedWidth) + ox;
                for (int t = 0; t < taps; t++)
                {
                    CopyRun(ref Unsafe.Add(ref from, (q + _tapOffsets[t]) * channels), ref Unsafe.Add(ref to, (p * k) + (t * channels)), channels);
                }
            }
        }

        GemmNN.Multiply(isa, dy, rows, [], filters, g.Positions, k, dWeights, accumulate);
    }

    /// <summary>channelsLast [Hp·Wp, C] (borders already 0) = the image [C, H, W] placed at (P, P), one value at a time.</summary>
    private void ChannelsLastScalar<T>(ReadOnlySpan<T> x, Span<T> channelsLast)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ConvolutionGeometry g = Geometry;
        int channels = g.Channels;
        for (int c = 0; c < channels; c++)
        {
            for (int iy = 0; iy < g.Height; iy++)
            {
                ReadOnlySpan<T> line = x.Slice(((c * g.Height) + iy) * g.Width, g.Width);
                int at = ((((iy + g.Pad) * PaddedWidth) + g.Pad) * channels) + c;
                for (int ix = 0; ix < line.Length; ix++)
                {
                    channelsLast[at + (ix * channels)] = line[ix];
                }
            }
        }
    }

    /// <summary>
    /// <see cref="ChannelsLastScalar{T}"/> by 8x8 blocks (8 channels x 8 columns of one row) transposed in registers: 8
    /// loads, 24 shuffles and 8 stores for 64 values, against a scattered store each (5% of a ch. 8 step). The last block
    /// of a row overlaps the one before (the same values written again). Needs C a multiple of 8 and W at least 8.
    /// </summary>
    private void ChannelsLast8x8(ReadOnlySpan<float> x, Span<float> channelsLast)
    {
        ConvolutionGeometry g = Geometry;
        int channels = g.Channels, plane = g.Height * g.Width;
        ShapeCheck.AtLeast(x, g.InputLength, nameof(x));
        ShapeCheck.AtLeast(channelsLast, (long)PaddedPlane * channels, nameof(channelsLast));
        ref float from = ref MemoryMarshal.GetReference(x);
        ref float to = ref MemoryMarshal.GetReference(channelsLast);
        for (int iy = 0; iy < g.Height; iy++)
        {
            int firstPosition = ((iy + g.Pad) * PaddedWidth) + g.Pad;
            for (int c0 = 0; c0 < channels; c0 += 8)
            {
                ref float rows = ref Unsafe.Add(ref from, (c0 * plane) + (iy * g.Width));
                for (int ix = 0; ix < g.Width; ix += 8)
                {
                    ix = Math.Min(ix, g.Width - 8);
                    Vector256<float> r0 = Vector256.LoadUnsafe(ref rows, (nuint)ix), r1 = Vector256.LoadUnsafe(ref rows, (nuint)(plane + ix));
                    Vector256<float> r2 = Vector256.LoadUnsafe(ref rows, (nuint)((2 * plane) + ix)), r3 = Vector256.LoadUnsafe(ref rows, (nuint)((3 * plane) + ix));
                    Vector256<float> r4 = Vector256.LoadUnsafe(ref rows, (nuint)((4 * plane) + ix)), r5 = Vector256.LoadUnsafe(ref rows, (nuint)((5 * plane) + ix));
                    Vector256<float> r6 = Vector256.LoadUnsafe(ref rows, (nuint)((6 * plane) + ix)), r7 = Vector256.LoadUnsafe(ref rows, (nuint)((7 * plane) + ix));
                    // Pairs interleaved, then quads, then the 128-bit halves: column k of the block in vector k.
                    Vector256<float> t0 = Avx.UnpackLow(r0, r1), t1 = Avx.UnpackHigh(r0, r1), t2 = Avx.UnpackLow(r2, r3), t3 = Avx.UnpackHigh(r2, r3);
                    Vector256<float> t4 = Avx.UnpackLow(r4, r5), t5 = Avx.UnpackHigh(r4, r5), t6 = Avx.UnpackLow(r6, r7), t7 = Avx.UnpackHigh(r6, r7);
                    Vector256<float> s0 = Avx.Shuffle(t0, t2, 0x44), s1 = Avx.Shuffle(t0, t2, 0xEE), s2 = Avx.Shuffle(t1, t3, 0x44), s3 = Avx.Shuffle(t1, t3, 0xEE);
                    Vector256<float> s4 = Avx.Shuffle(t4, t6, 0x44), s5 = Avx.Shuffle(t4, t6, 0xEE), s6 = Avx.Shuffle(t5, t7, 0x44), s7 = Avx.Shuffle(t5, t7, 0xEE);
                    ref float block = ref Unsafe.Add(ref to, ((firstPosition + ix) * channels) + c0);
                    Vector256.StoreUnsafe(Avx.Permute2x128(s0, s4, 0x20), ref block, 0);
                    Vector256.StoreUnsafe(Avx.Permute2x128(s1, s5, 0x20), ref block, (nuint)channels);
                    Vector256.StoreUnsafe(Avx.Permute2x128(s2, s6, 0x20), ref block, (nuint)(2 * channels));
                    Vector256.StoreUnsafe(Avx.Permute2x128(s3, s7, 0x20), ref block, (nuint)(3 * channels));
                    Vector256.StoreUnsafe(Avx.Permute2x128(s0, s4, 0x31), ref block, (nuint)(4 * channels));
                    Vector256.StoreUnsafe(Avx.Permute2x128(s1, s5, 0x31), ref block, (nuint)(5 * channels));
                    Vector256.StoreUnsafe(Avx.Permute2x128(s2, s6, 0x31), ref block, (nuint)(6 * channels));
                    Vector256.StoreUnsafe(Avx.Permute2x128(s3, s7, 0x31), ref block, (nuint)(7 * channels));
                }
            }
        }
    }

    /// <summary>
    /// dW [FN, taps·C] (+)= dy_wide · B with B[q, (t, c)] = the channels-last image at (q + tap offset t)·C + c, read in
    /// place (<see cref="GemmDriver.RunScatteredColumns"/>: each vector of a tile's columns is C contiguous channels of one
    /// tap), dy on the padded image's rows (zeros in the Wp − OW columns past each row, which add nothing): the
    /// windows are never copied out. The same multiply-adds in the same order as over the rows of windows, with
    /// products of 0 between the rows. Needs C a multiple of the lanes (16 to 64 channels on ch. 8's layers).
    /// </summary>
    private void ScatteredWeightGradient<T>(IsaPath path, ReadOnlySpan<T> channelsLast, ReadOnlySpan<T> dy, int filters, Span<T> scratch, Span<T> dWeights, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ConvolutionGeometry g = Geometry;
        int depth = ((g.OutputHeight - 1) * PaddedWidth) + g.OutputWidth, n = g.WindowLength;
        Span<T> dyWide = scratch[..(filters * depth)]; // [FN, (OH − 1)·Wp + OW]
        dyWide.Clear();
        for (int f = 0; f < filters; f++)
        {
            for (int oy = 0; oy < g.OutputHeight; oy++)
            {
                dy.Slice(((f * g.OutputHeight) + oy) * g.OutputWidth, g.OutputWidth).CopyTo(dyWide.Slice((f * depth) + (oy * PaddedWidth), g.OutputWidth));
            }
        }

        ref T a = ref MemoryMarshal.GetReference(dyWide);
        ref T b = ref MemoryMarshal.GetReference(channelsLast);
        ref T c = ref MemoryMarshal.GetReference(dWeights);
        TileInit init = accumulate ? TileInit.Accumulate : TileInit.None;
        switch (path)
        {
            case IsaPath.Vector512:
                GemmDriver.RunScatteredColumns<T, V512<T>>(ref a, depth, 1, ref b, g.Channels, _windowColumnAt, filters, depth, n, ref c, n, init, GemmBlocking.Rows512, GemmBlocking.Vectors512);
                break;
            case IsaPath.Vector256:
                GemmDriver.RunScatteredColumns<T, V256<T>>(ref a, depth, 1, ref b, g.Channels, _windowColumnAt, filters, depth, n, ref c, n, init, GemmBlocking.Rows256, GemmBlocking.Vectors256);
                break;
            default:
                GemmDriver.RunScatteredColumns<T, V128<T>>(ref a, depth, 1, ref b, g.Channels, _windowColumnAt, filters, depth, n, ref c, n, init, GemmBlocking.Rows128, GemmBlocking.Vectors128);
                break;
        }
    }

    /// <summary>The lanes of a vector path's vectors of T.</summary>
    private static int Lanes<T>(IsaPath path)
        where T : unmanaged
        => path switch
        {
            IsaPath.Vector512 => Vector512<T>.Count,
            IsaPath.Vector256 => Vector256<T>.Count,
            _ => Vector128<T>.Count,
        };

    /// <summary>dW in the book's order [FN, C, FH, FW] from the tap-major [FN, FH·FW, C] that <see cref="Backward{T}"/> gives.</summary>
    public static int BookIndexOfTapMajor(int index, int channels, int taps)
    {
        int k = channels * taps, f = index / k, t = index % k / channels, c = index % channels;
        return (f * k) + (c * taps) + t;
    }

    /// <summary>destination[0..count) = source[0..count): whole vectors, then one by one.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CopyRun<T>(ref T source, ref T destination, int count)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i <= count - Vector512<T>.Count; i += Vector512<T>.Count)
            {
                Vector512.StoreUnsafe(Vector512.LoadUnsafe(ref source, (nuint)i), ref destination, (nuint)i);
            }
        }

        if (Vector.IsHardwareAccelerated)
        {
            for (; i <= count - Vector<T>.Count; i += Vector<T>.Count)
            {
                Vector.StoreUnsafe(Vector.LoadUnsafe(ref source, (nuint)i), ref destination, (nuint)i);
            }
        }

        for (; i < count; i++)
        {
            Unsafe.Add(ref destination, i) = Unsafe.Add(ref source, i);
        }
    }

    private void Check<T>(IsaPath isa, ReadOnlySpan<T> x, ReadOnlySpan<T> weights, int filters, Span<T> scratch)
    {
        if (Isa.Effective(isa) == IsaPath.Scalar)
        {
            throw new ArgumentException("the direct convolution runs on the vector paths; the scalar path keeps the column matrix (Convolution)", nameof(isa));
        }

        ShapeCheck.AtLeast(x, Geometry.InputLength, nameof(x));
        ShapeCheck.AtLeast(weights, (long)filters * Geometry.WindowLength, nameof(weights));
        ShapeCheck.AtLeast(scratch, ScratchLength(filters), nameof(scratch));
    }

    /// <summary>
    /// out_wide[o, q] = Σ_tap Σ_i A(o, i)·source[i, q + tap offset], the taps outer and the channels inner, each tile of
    /// the output summed in registers over all taps (<see cref="GemmDriver.RunTaps"/>). A(o, i) = W[o, i, tap] (forward),
    /// or W[i, o, last tap − tap] (dx, <paramref name="reversed"/>): W read in place through the GEMM's strides.
    /// </summary>
    private static void Taps<T>(
        IsaPath isa, ReadOnlySpan<T> weights, int windowLength, ReadOnlySpan<int> tapOffsets, bool reversed,
        ReadOnlySpan<T> source, int sourcePlane, int outputs, int inputs, int positions, Span<T> wide)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int taps = tapOffsets.Length;
        ref T a = ref Unsafe.Add(ref MemoryMarshal.GetReference(weights), reversed ? taps - 1 : 0);
        ref T b = ref MemoryMarshal.GetReference(source);
        ref T c = ref MemoryMarshal.GetReference(wide);
        nint aRow = reversed ? taps : windowLength, aK = reversed ? windowLength : taps, aTap = reversed ? -1 : 1;
        switch (Isa.Effective(isa))
        {
            case IsaPath.Vector512:
                GemmDriver.RunTaps<T, V512<T>>(ref a, aRow, aK, aTap, ref b, sourcePlane, tapOffsets, outputs, inputs, positions, ref c, positions, GemmBlocking.Rows512, GemmBlocking.Vectors512);
                break;
            case IsaPath.Vector256:
                GemmDriver.RunTaps<T, V256<T>>(ref a, aRow, aK, aTap, ref b, sourcePlane, tapOffsets, outputs, inputs, positions, ref c, positions, GemmBlocking.Rows256, GemmBlocking.Vectors256);
                break;
            default:
                GemmDriver.RunTaps<T, V128<T>>(ref a, aRow, aK, aTap, ref b, sourcePlane, tapOffsets, outputs, inputs, positions, ref c, positions, GemmBlocking.Rows128, GemmBlocking.Vectors128);
                break;
        }
    }

    /// <summary>Where tap t (row-major in the window) starts in a plane whose rows are <paramref name="width"/> apart.</summary>
    private static int TapOffset(int tap, int windowWidth, int width) => ((tap / windowWidth) * width) + (tap % windowWidth);

    private static int RoundUp(int positions) => (positions + Align - 1) / Align * Align;

    /// <summary>
    /// destination (all of it: borders, gaps and slack 0) = source [planes, rows, columns] placed at (top, left) of planes
    /// <paramref name="plane"/> apart with rows <paramref name="width"/> apart.
    /// </summary>
    private static void Pad<T>(ReadOnlySpan<T> source, int planes, int rows, int columns, int top, int left, int width, int plane, Span<T> destination)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        destination.Clear();
        for (int c = 0; c < planes; c++)
        {
            for (int r = 0; r < rows; r++)
            {
                source.Slice(((c * rows) + r) * columns, columns).CopyTo(destination.Slice((c * plane) + ((top + r) * width) + left, columns));
            }
        }
    }

    /// <summary>
    /// destination [rows, columns] = the first columns of each wide row (rows <paramref name="width"/> apart) + <paramref name="add"/>:
    /// whole vectors, the last one of a row overlapping the one before (the same sums written again) rather than a
    /// scalar tail (rows of 14, 8 and 4 on ch. 8's layers).
    /// </summary>
    private static void Crop<T>(ReadOnlySpan<T> wide, int width, int rows, int columns, T add, Span<T> destination)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ShapeCheck.AtLeast(wide, ((long)(rows - 1) * width) + columns, nameof(wide));
        ShapeCheck.AtLeast(destination, (long)rows * columns, nameof(destination));
        ref T from = ref MemoryMarshal.GetReference(wide);
        ref T to = ref MemoryMarshal.GetReference(destination);
        int lanes = Vector256<T>.Count;
        if (!Vector256.IsHardwareAccelerated || columns < lanes)
        {
            for (int r = 0; r < rows; r++)
            {
                for (int i = 0; i < columns; i++)
                {
                    Unsafe.Add(ref to, (r * columns) + i) = Unsafe.Add(ref from, (r * width) + i) + add;
                }
            }

            return;
        }

        var addVector = Vector256.Create(add);
        for (int r = 0; r < rows; r++)
        {
            ref T fromRow = ref Unsafe.Add(ref from, r * width);
            ref T toRow = ref Unsafe.Add(ref to, r * columns);
            for (int i = 0; i < columns; i += lanes)
            {
                i = Math.Min(i, columns - lanes);
                Vector256.StoreUnsafe(Vector256.LoadUnsafe(ref fromRow, (nuint)i) + addVector, ref toRow, (nuint)i);
            }
        }
    }
}
