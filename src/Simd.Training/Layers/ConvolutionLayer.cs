using System.Numerics;
using Simd.Kernels;

namespace Simd.Training.Layers;

/// <summary>
/// The book's Convolution: W [FN, C, FH, FW], b [FN], each image [C, H, W] to [FN, OH, OW] by im2col and the GEMMs
/// (<see cref="Kernels.Convolution"/>), one image at a time: an image's column matrix is made in the worker's scratch for
/// its forward pass and made again for its backward pass (cheaper than keeping a batch of them: 14,400 values an image
/// for the book's ch. 7 layer). The backward pass adds each image's dW and db to its row block's partial sums, image
/// after image, and the weights phase adds the blocks' sums in block order: the same bits for any number of threads.
/// </summary>
public sealed class ConvolutionLayer<T> : Layer<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly ConvolutionGeometry _geometry;
    private readonly int _weightOffset;
    private readonly int _biasOffset;

    public ConvolutionLayer(LayerSpec spec, TensorShape input, TensorShape output, int weightOffset, int biasOffset)
        : base(spec, input, output)
    {
        _geometry = new ConvolutionGeometry(input.Channels, input.Height, input.Width, spec.Kernel, spec.Kernel, spec.Stride, spec.Pad);
        _weightOffset = weightOffset;
        _biasOffset = biasOffset;
    }

    private int Filters => Spec.Size;

    private int WindowLength => _geometry.WindowLength;

    private int ColumnLength => _geometry.WindowLength * _geometry.Positions; // [K, P]

    private int WeightLength => Filters * WindowLength;

    public override bool HasRowsBackward => true;

    public override int PartialLength => WeightLength + Filters;

    /// <summary>One image's column matrix, then its dcol: [2, K, P].</summary>
    public override long WorkerScratchLength(int rows) => 2L * ColumnLength;

    public override void Initialize(Span<T> parameters, ref Rng rng, WeightInit init) =>
        Rng.FillGaussian(ref rng, parameters.Slice(_weightOffset, WeightLength), init.StandardDeviation(WindowLength));

    public override void Forward(ref RowsPass<T> pass, ReadOnlySpan<T> x, Span<T> y)
    {
        ReadOnlySpan<T> weights = pass.Parameters.Slice(_weightOffset, WeightLength), bias = pass.Parameters.Slice(_biasOffset, Filters);
        for (int r = 0; r < pass.Rows; r++)
        {
            // Kept per image for the backward pass when one follows (a call then holds at most one row block).
            Span<T> col = pass.Scratch[..ColumnLength];
            Kernels.Convolution.Forward(pass.Isa, x.Slice(r * InputLength, InputLength), weights, bias, _geometry, col, y.Slice(r * OutputLength, OutputLength));
        }
    }

    public override void Backward(ref RowsPass<T> pass, ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> dy, Span<T> dx)
    {
        ReadOnlySpan<T> weights = pass.Parameters.Slice(_weightOffset, WeightLength);
        Span<T> dcol = pass.Scratch.Slice(ColumnLength, ColumnLength);
        for (int r = 0; r < pass.Rows; r++)
        {
            int row = pass.FirstRow + r;
            Span<T> partial = pass.Partials.Slice(row / Tuning.RowAlignment * PartialLength, PartialLength);
            Span<T> col = pass.Scratch[..ColumnLength];
            Im2Col.Forward(pass.Isa, x.Slice(r * InputLength, InputLength), _geometry, col);

            Kernels.Convolution.Backward(pass.Isa, dy.Slice(r * OutputLength, OutputLength), col, weights, _geometry,
                partial[..WeightLength], partial[WeightLength..], dcol, dx.IsEmpty ? default : dx.Slice(r * InputLength, InputLength),
                accumulate: row % Tuning.RowAlignment != 0);
        }
    }

    public override IEnumerable<WeightBlock> WeightBlocks(int index) =>
        [new WeightBlock(index, WeightBlockKind.Weights, 0, Filters), new WeightBlock(index, WeightBlockKind.Bias)];

    public override (int Start, int Length) ParameterSlice(in WeightBlock block) =>
        block.Kind == WeightBlockKind.Bias ? (_biasOffset, Filters) : (_weightOffset, WeightLength);

    public override void WeightGradient(ref WeightsPass<T> pass, in WeightBlock first, in WeightBlock last) =>
        PartialSums.Add(pass.Partials, pass.RowBlocks, PartialLength, first.Kind == WeightBlockKind.Bias ? WeightLength : 0,
            pass.Gradients.Slice(first.Kind == WeightBlockKind.Bias ? _biasOffset : _weightOffset, first.Kind == WeightBlockKind.Bias ? Filters : WeightLength));
}

/// <summary>The weights phase's sum of the row blocks' partial weight gradients.</summary>
internal static class PartialSums
{
    /// <summary>sum[i] = Σ_b partials[b, start + i], the blocks added in order b = 0, 1, ... (the same bits for any thread count).</summary>
    public static void Add<T>(ReadOnlySpan<T> partials, int blocks, int partialLength, int start, Span<T> sum)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        partials.Slice(start, sum.Length).CopyTo(sum);
        for (int b = 1; b < blocks; b++)
        {
            ReadOnlySpan<T> partial = partials.Slice((b * partialLength) + start, sum.Length);
            for (int i = 0; i < sum.Length; i++)
            {
                sum[i] += partial[i];
            }
        }
    }
}
