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
    private readonly PooledColumns _columns; // where each column entry comes from in an image
    private readonly int _weightOffset;
    private readonly int _biasOffset;

    public PooledConvolutionLayer(LayerSpec convolution, LayerSpec pooling, TensorShape input, TensorShape output, int weightOffset, int biasOffset)
        : base(convolution, input, output)
    {
        Pooling = pooling;
        _geometry = new ConvolutionGeometry(input.Channels, input.Height, input.Width, convolution.Kernel, convolution.Kernel, convolution.Stride, convolution.Pad);
        _pool = pooling.Kernel;
        _columns = new PooledColumns(_geometry, _pool, _pool);
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

    public override bool HasRowsBackward => true;

    public override int PartialLength => WeightLength + Filters;

    /// <summary>The pooled maximum's place in its window, per output (as T).</summary>
    public override int SavedPerImage => OutputLength;

    /// <summary>One image's column matrix [K, B·Q], its dcol [K, B·Q], then z or dz [FN, B·Q].</summary>
    public override long WorkerScratchLength(int rows) => (2L * ColumnLength) + ((long)Filters * Columns);

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
        Span<T> z = pass.Scratch.Slice(2 * ColumnLength, Filters * Columns);
        for (int r = 0; r < pass.Rows; r++)
        {
            Span<T> col = pass.Scratch[..ColumnLength];
            PooledConvolution.Forward(pass.Isa, x.Slice(r * InputLength, InputLength), weights, bias, _geometry, _pool, _pool, _columns, col, z,
                y.Slice(r * OutputLength, OutputLength), pass.Saved.Slice(r * OutputLength, OutputLength));
        }
    }

    public override void Backward(ref RowsPass<T> pass, ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> dy, Span<T> dx)
    {
        ReadOnlySpan<T> weights = pass.Parameters.Slice(_weightOffset, WeightLength);
        Span<T> dcol = pass.Scratch.Slice(ColumnLength, ColumnLength);
        Span<T> dz = pass.Scratch.Slice(2 * ColumnLength, Filters * Columns);
        for (int r = 0; r < pass.Rows; r++)
        {
            int row = pass.FirstRow + r;
            Span<T> partial = pass.Partials.Slice(row / Tuning.RowAlignment * PartialLength, PartialLength);
            Span<T> col = pass.Scratch[..ColumnLength];
            _columns.Gather(pass.Isa, x.Slice(r * InputLength, InputLength), col);

            PooledConvolution.Backward(pass.Isa, dy.Slice(r * OutputLength, OutputLength), y.Slice(r * OutputLength, OutputLength),
                pass.Saved.Slice(r * OutputLength, OutputLength), col, weights, _geometry, _pool, _pool, _columns,
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
