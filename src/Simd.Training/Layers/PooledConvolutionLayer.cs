using System.Numerics;
using Simd.Kernels;

namespace Simd.Training.Layers;

/// <summary>
/// Convolution → ReLU → max pooling (window = stride) as one layer (<see cref="PooledConvolution"/>): the convolution's
/// output is never written whole (17,280 values an image for the book's ch. 7 network), only its pooled maximum and
/// which of the window it was. The plan uses it wherever a stack has conv-relu-pool with a pooling that tiles; the
/// values are those of the three layers apart. Weight gradients add up per row block as <see cref="ConvolutionLayer{T}"/>'s.
/// </summary>
public sealed class PooledConvolutionLayer<T> : Layer<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly ConvolutionGeometry _geometry;
    private readonly int _pool;
    private readonly int[] _columnMap; // [K, PH·PW, Q] where each column entry comes from in an image
    private readonly int _weightOffset;
    private readonly int _biasOffset;

    public PooledConvolutionLayer(LayerSpec convolution, LayerSpec pooling, TensorShape input, TensorShape output, int weightOffset, int biasOffset)
        : base(convolution, input, output)
    {
        Pooling = pooling;
        _geometry = new ConvolutionGeometry(input.Channels, input.Height, input.Width, convolution.Kernel, convolution.Kernel, convolution.Stride, convolution.Pad);
        _pool = pooling.Kernel;
        _columnMap = PooledConvolution.ColumnMap(_geometry, _pool, _pool);
        _weightOffset = weightOffset;
        _biasOffset = biasOffset;
    }

    /// <summary>The pooling fused after the ReLU.</summary>
    public LayerSpec Pooling { get; }

    private int Filters => Spec.Size;

    private int WindowLength => _geometry.WindowLength;

    private int Columns => _pool * _pool * PooledConvolution.PooledPositions(_geometry, _pool, _pool); // B·Q

    private int ColumnLength => WindowLength * Columns;

    private int WeightLength => Filters * WindowLength;

    public override bool PrefersShortRuns => true;

    public override bool HasRowsBackward => true;

    public override int PartialLength => WeightLength + Filters;

    /// <summary>The pooled maximum's place in its window, per output (as T).</summary>
    public override int SavedPerImage => OutputLength;

    /// <summary>A row block's column matrices, then z or dz [FN, B·Q], then one dcol [K, B·Q].</summary>
    public override long WorkerScratchLength(int rows) => ((Tuning.RowAlignment + 1L) * ColumnLength) + ((long)Filters * Columns);

    public override int ChoicesPerImage => OutputLength;

    public override void RecordChoices(ReadOnlySpan<T> saved, int rows, Span<byte> pattern)
    {
        for (int i = 0; i < rows * OutputLength; i++)
        {
            pattern[i] = byte.CreateTruncating(saved[i]); // the window's block number
        }
    }

    public override void Initialize(Span<T> parameters, ref Rng rng, WeightInit init) =>
        Rng.FillGaussian(ref rng, parameters.Slice(_weightOffset, WeightLength), init.StandardDeviation(WindowLength));

    public override void Forward(ref RowsPass<T> pass, ReadOnlySpan<T> x, Span<T> y)
    {
        ReadOnlySpan<T> weights = pass.Parameters.Slice(_weightOffset, WeightLength), bias = pass.Parameters.Slice(_biasOffset, Filters);
        Span<T> z = pass.Scratch.Slice((Tuning.RowAlignment + 1) * ColumnLength, Filters * Columns);
        for (int r = 0; r < pass.Rows; r++)
        {
            Span<T> col = pass.Scratch.Slice((pass.Backprop && BackwardFollowsInOneCall ? r : 0) * ColumnLength, ColumnLength);
            PooledConvolution.Forward(pass.Isa, x.Slice(r * InputLength, InputLength), weights, bias, _geometry, _pool, _pool, _columnMap, col, z,
                y.Slice(r * OutputLength, OutputLength), pass.Saved.Slice(r * OutputLength, OutputLength));
        }
    }

    public override void Backward(ref RowsPass<T> pass, ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> dy, Span<T> dx)
    {
        ReadOnlySpan<T> weights = pass.Parameters.Slice(_weightOffset, WeightLength);
        Span<T> dcol = pass.Scratch.Slice(Tuning.RowAlignment * ColumnLength, ColumnLength);
        Span<T> dz = pass.Scratch.Slice((Tuning.RowAlignment + 1) * ColumnLength, Filters * Columns);
        for (int r = 0; r < pass.Rows; r++)
        {
            int row = pass.FirstRow + r;
            Span<T> partial = pass.Partials.Slice(row / Tuning.RowAlignment * PartialLength, PartialLength);
            Span<T> col = pass.Scratch.Slice((BackwardFollowsInOneCall ? r : 0) * ColumnLength, ColumnLength);
            if (!BackwardFollowsInOneCall)
            {
                // A batch normalization after this layer put its forward pass in an earlier phase, perhaps another worker's.
                PooledConvolution.Im2Col(x.Slice(r * InputLength, InputLength), _columnMap, col);
            }

            PooledConvolution.Backward(pass.Isa, dy.Slice(r * OutputLength, OutputLength), y.Slice(r * OutputLength, OutputLength),
                pass.Saved.Slice(r * OutputLength, OutputLength), col, weights, _geometry, _pool, _pool, _columnMap,
                dz, partial[..WeightLength], partial[WeightLength..], dcol, dx.IsEmpty ? default : dx.Slice(r * InputLength, InputLength),
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
