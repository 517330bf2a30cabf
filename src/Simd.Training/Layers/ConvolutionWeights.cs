using System.Numerics;
using System.Numerics.Tensors;
using Simd.Kernels;

namespace Simd.Training.Layers;

/// <summary>
/// What the two convolution layers (<see cref="ConvolutionLayer{T}"/>, <see cref="PooledConvolutionLayer{T}"/>) share: W
/// [FN, C, FH, FW] and b [FN] in the parameter buffer, their initial weights (fan-in C·FH·FW), and their gradients, which
/// the backward pass adds up per row block, image after image (<see cref="PartialOf"/>), and the weights phase sums
/// in block order: the same bits for any number of threads, with no batch-wide column matrix.
/// </summary>
public abstract class ConvolutionWeights<T> : Layer<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly int _weightOffset;
    private readonly int _biasOffset;

    protected ConvolutionWeights(LayerSpec convolution, TensorShape input, TensorShape output, int weightOffset, int biasOffset)
        : base(convolution, input, output)
    {
        Geometry = new ConvolutionGeometry(input.Channels, input.Height, input.Width, convolution.Kernel, convolution.Kernel, convolution.Stride, convolution.Pad);
        _weightOffset = weightOffset;
        _biasOffset = biasOffset;
    }

    protected ConvolutionGeometry Geometry { get; }

    protected int Filters => Spec.Size;

    /// <summary>K = C·FH·FW.</summary>
    protected int WindowLength => Geometry.WindowLength;

    protected int WeightLength => Filters * WindowLength;

    public override bool HasRowsBackward => true;

    /// <summary>A row block's dW [FN, K] then db [FN].</summary>
    public override int PartialLength => WeightLength + Filters;

    /// <summary>W [FN, K] in <paramref name="parameters"/>.</summary>
    protected ReadOnlySpan<T> Weights(ReadOnlySpan<T> parameters) => parameters.Slice(_weightOffset, WeightLength);

    /// <summary>b [FN] in <paramref name="parameters"/>.</summary>
    protected ReadOnlySpan<T> Bias(ReadOnlySpan<T> parameters) => parameters.Slice(_biasOffset, Filters);

    /// <summary>
    /// The partial gradients of batch row <paramref name="row"/>'s row block, dW [FN, K] then db [FN]; <paramref name="accumulate"/>:
    /// its image adds to them (it is not the block's first).
    /// </summary>
    protected Span<T> PartialOf(ref RowsPass<T> pass, int row, out bool accumulate)
    {
        accumulate = row % pass.RowBlock != 0;
        return pass.Partials.Slice(row / pass.RowBlock * PartialLength, PartialLength);
    }

    public override void Initialize(Span<T> parameters, ref Rng rng, WeightInit init) =>
        Rng.FillGaussian(ref rng, parameters.Slice(_weightOffset, WeightLength), init.StandardDeviation(WindowLength));

    public override IEnumerable<WeightBlock> WeightBlocks(int index) =>
        [new WeightBlock(index, WeightBlockKind.Weights, 0, Filters), new WeightBlock(index, WeightBlockKind.Bias)];

    public override (int Start, int Length) ParameterSlice(in WeightBlock block) =>
        block.Kind == WeightBlockKind.Bias ? (_biasOffset, Filters) : (_weightOffset, WeightLength);

    /// <summary>
    /// True when the row blocks' dW partials are tap-major, [FN, FH·FW, C] (<see cref="DirectConvolution"/>), rather than
    /// the book's [FN, C, FH, FW]: the sum over the blocks puts them in the book's order.
    /// </summary>
    protected virtual bool TapMajorPartials(IsaPath isa) => false;

    /// <summary>The most channels of one tap summed at a time on the stack when the tap-major partials are added up.</summary>
    private const int MaxChannelRun = 256;

    /// <summary>dW or db = Σ over the row blocks of their partials, added in block order b = 0, 1, ...</summary>
    public override void WeightGradient(ref WeightsPass<T> pass, in WeightBlock first, in WeightBlock last)
    {
        bool bias = first.Kind == WeightBlockKind.Bias;
        int start = bias ? WeightLength : 0;
        Span<T> sum = pass.Gradients.Slice(bias ? _biasOffset : _weightOffset, bias ? Filters : WeightLength);
        if (!bias && TapMajorPartials(pass.Isa))
        {
            // Each tap's run of C channels summed over the blocks in block order (each element's own chain of
            // additions, so vectors change no bit), then put in the book's order: DirectConvolution.BookIndexOfTapMajor,
            // counted along rather than divided out for each element (that and scalar sums were 3% of a ch. 8 step).
            int channels = Geometry.Channels, taps = Geometry.WindowHeight * Geometry.WindowWidth;
            Span<T> run = stackalloc T[Math.Min(channels, MaxChannelRun)];
            ReadOnlySpan<T> partials = pass.Partials;
            for (int f = 0; f < Filters; f++)
            {
                Span<T> filter = sum.Slice(f * WindowLength, WindowLength);
                for (int t = 0; t < taps; t++)
                {
                    for (int c0 = 0; c0 < channels; c0 += run.Length)
                    {
                        int n = Math.Min(run.Length, channels - c0), i = (((f * taps) + t) * channels) + c0;
                        Span<T> total = run[..n];
                        partials.Slice(i, n).CopyTo(total);
                        for (int b = 1; b < pass.RowBlocks; b++)
                        {
                            TensorPrimitives.Add(total, partials.Slice((b * PartialLength) + i, n), total);
                        }

                        for (int c = 0; c < n; c++)
                        {
                            filter[((c0 + c) * taps) + t] = total[c];
                        }
                    }
                }
            }

            return;
        }

        pass.Partials.Slice(start, sum.Length).CopyTo(sum);
        for (int b = 1; b < pass.RowBlocks; b++)
        {
            TensorPrimitives.Add(sum, pass.Partials.Slice((b * PartialLength) + start, sum.Length), sum);
        }
    }
}
