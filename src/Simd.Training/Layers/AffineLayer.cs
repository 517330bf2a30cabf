using System.Numerics;
using Simd.Kernels;

namespace Simd.Training.Layers;

/// <summary>
/// The book's Affine: Y = X·W + b, X [rows, n_in] (an image flattened in NCHW order), W [n_in, n_out], b [n_out].
/// Backward: dX = dY·Wᵀ over images; dW = Xᵀ·dY (+ λW) and db = Σ dY over the whole batch, in the weights phase, in
/// blocks of <see cref="Tuning.WeightBlockRows"/> rows of W.
/// </summary>
public sealed class AffineLayer<T>(LayerSpec spec, TensorShape input, int weightOffset, int biasOffset)
    : Layer<T>(spec, input, new TensorShape(spec.Size))
    where T : unmanaged, IFloatingPointIeee754<T>
{
    public int WeightOffset => weightOffset;

    public int BiasOffset => biasOffset;

    public override void Initialize(Span<T> parameters, ref Rng rng, WeightInit init) =>
        Rng.FillGaussian(ref rng, parameters.Slice(weightOffset, InputLength * OutputLength), init.StandardDeviation(InputLength));

    public override void Forward(ref RowsPass<T> pass, ReadOnlySpan<T> x, Span<T> y) =>
        GemmNN.Multiply(pass.Isa, x, pass.Parameters.Slice(weightOffset, InputLength * OutputLength), pass.Parameters.Slice(biasOffset, OutputLength),
            pass.Rows, InputLength, OutputLength, y);

    public override void Backward(ref RowsPass<T> pass, ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> dy, Span<T> dx)
    {
        if (!dx.IsEmpty)
        {
            GemmNT.Multiply(pass.Isa, dy, pass.Parameters.Slice(weightOffset, InputLength * OutputLength), pass.Rows, OutputLength, InputLength, dx);
        }
    }

    public override IEnumerable<WeightBlock> WeightBlocks(int index)
    {
        for (int row = 0; row < InputLength; row += Tuning.WeightBlockRows)
        {
            yield return new WeightBlock(index, WeightBlockKind.Weights, row, Math.Min(InputLength, row + Tuning.WeightBlockRows));
        }

        yield return new WeightBlock(index, WeightBlockKind.Bias);
    }

    public override (int Start, int Length) ParameterSlice(in WeightBlock block) => block.Kind == WeightBlockKind.Bias
        ? (biasOffset, OutputLength)
        : (weightOffset + (block.RowStart * OutputLength), (block.RowEnd - block.RowStart) * OutputLength);

    public override void WeightGradient(ref WeightsPass<T> pass, in WeightBlock first, in WeightBlock last)
    {
        if (first.Kind == WeightBlockKind.Bias)
        {
            ColumnSums.Compute(pass.Isa, pass.OutputGradients, pass.Batch, OutputLength, pass.Gradients.Slice(biasOffset, OutputLength));
            return;
        }

        int i0 = first.RowStart, i1 = last.RowEnd;
        Span<T> dW = pass.Gradients.Slice(weightOffset + (i0 * OutputLength), (i1 - i0) * OutputLength); // [i1 - i0, n_out]
        GemmTN.Multiply(pass.Isa, pass.Inputs[i0..], InputLength, pass.OutputGradients, i1 - i0, pass.Batch, OutputLength, dW);
    }
}
