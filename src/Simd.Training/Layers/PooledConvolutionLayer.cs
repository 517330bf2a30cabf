using System.Numerics;
using Simd.Kernels;

namespace Simd.Training.Layers;

/// <summary>
/// Convolution → ReLU → max pooling (window = stride) as one layer (<see cref="PooledConvolution"/>): the convolution's
/// output is never written whole (17,280 values an image for the book's ch. 7 network), only its pooled maximum and
/// which of the window it was. The plan uses it wherever a stack has conv-relu-pool with a pooling that tiles; the
/// values are those of the three layers apart. Its gradients add up per row block (<see cref="ConvolutionWeights{T}"/>).
/// </summary>
public sealed class PooledConvolutionLayer<T> : ConvolutionWeights<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly int _pool;
    private readonly PooledColumns _columns; // where each column entry comes from in an image

    public PooledConvolutionLayer(LayerSpec convolution, LayerSpec pooling, TensorShape input, TensorShape output, int weightOffset, int biasOffset)
        : base(convolution, input, output, weightOffset, biasOffset)
    {
        Pooling = pooling;
        _pool = pooling.Kernel;
        _columns = new PooledColumns(Geometry, _pool, _pool);
    }

    /// <summary>The pooling fused after the ReLU.</summary>
    public LayerSpec Pooling { get; }

    private int Columns => _pool * _pool * PooledConvolution.PooledPositions(Geometry, _pool, _pool); // B·Q

    private int ColumnLength => WindowLength * Columns;

    private int PhaseLength => _columns.Length;

    /// <summary>The pooled maximum's place in its window, per output (as T).</summary>
    public override int SavedPerImage => OutputLength;

    /// <summary>One image's phases [phase rows, Q], dz [FN, B·Q], then dcol [K, B·Q] when it gives dx.</summary>
    public override long WorkerScratchLength => PhaseLength + ((long)Filters * Columns) + (NeedsInputGradient ? ColumnLength : 0);

    public override int ChoicesPerImage => OutputLength;

    public override void RecordChoices(ReadOnlySpan<T> saved, int rows, Span<byte> pattern)
    {
        for (int i = 0; i < rows * OutputLength; i++)
        {
            pattern[i] = byte.CreateTruncating(saved[i]); // the window's block number
        }
    }

    public override void Forward(ref RowsPass<T> pass, ReadOnlySpan<T> x, Span<T> y)
    {
        ReadOnlySpan<T> weights = Weights(pass.Parameters), bias = Bias(pass.Parameters);
        Span<T> phases = pass.Scratch[..PhaseLength];
        for (int r = 0; r < pass.Rows; r++)
        {
            // Evaluation keeps no argmax: nothing will route a gradient back (the maximum's value is the same).
            PooledConvolution.Forward(pass.Isa, x.Slice(r * InputLength, InputLength), weights, bias, _columns, phases,
                y.Slice(r * OutputLength, OutputLength), pass.KeepsChoices ? pass.Saved.Slice(r * OutputLength, OutputLength) : default);
        }
    }

    public override void Backward(ref RowsPass<T> pass, ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> dy, Span<T> dx)
    {
        ReadOnlySpan<T> weights = Weights(pass.Parameters);
        Span<T> phases = pass.Scratch[..PhaseLength], dz = pass.Scratch.Slice(PhaseLength, Filters * Columns);
        Span<T> dcol = dx.IsEmpty ? default : pass.Scratch.Slice(PhaseLength + (Filters * Columns), ColumnLength);
        for (int r = 0; r < pass.Rows; r++)
        {
            Span<T> partial = PartialOf(ref pass, pass.FirstRow + r, out bool accumulate);
            _columns.Gather(pass.Isa, x.Slice(r * InputLength, InputLength), phases);
            PooledConvolution.Backward(pass.Isa, dy.Slice(r * OutputLength, OutputLength), y.Slice(r * OutputLength, OutputLength),
                pass.Saved.Slice(r * OutputLength, OutputLength), phases, weights, _columns,
                dz, partial[..WeightLength], partial[WeightLength..], dcol, dx.IsEmpty ? default : dx.Slice(r * InputLength, InputLength), accumulate);
        }
    }
}
