using System.Numerics;

namespace Simd.Training.Layers;

/// <summary>
/// The book's Dropout (multi_layer_net_extend.py), in place: in training each unit of each image is dropped (set to 0)
/// when its uniform number is not above the ratio — numbers from a counter-based generator keyed by (seed, step, which
/// dropout layer, image, unit), so any split of the images gives the same masks; in inference every value is scaled by
/// 1 − ratio. Backward multiplies dY by the same mask, unless it follows a ReLU or sigmoid: their backward reads the
/// dropped output, whose derivative is already 0 wherever the unit was dropped (the book's dout·mask then act').
/// </summary>
public sealed class DropoutLayer<T>(LayerSpec spec, TensorShape input, bool maskedByActivation) : Layer<T>(spec, input, input)
    where T : unmanaged, IFloatingPointIeee754<T>
{
    public override bool InPlace => true;

    public override bool HasRowsBackward => NeedsInputGradient && !maskedByActivation;

    public override void Forward(ref RowsPass<T> pass, ReadOnlySpan<T> x, Span<T> y)
    {
        if (pass.Mode == PassMode.Training)
        {
            Kernels.Dropout.Apply(pass.Isa, y, pass.Rows, OutputLength, pass.FirstRow, pass.DropoutKeys.K0, pass.DropoutKeys.K1, Spec.Ratio);
            return;
        }

        T keep = T.CreateTruncating(1 - Spec.Ratio);
        foreach (ref T value in y[..(pass.Rows * OutputLength)])
        {
            value *= keep;
        }
    }

    public override void Backward(ref RowsPass<T> pass, ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> dy, Span<T> dx)
    {
        if (!dx.IsEmpty && !maskedByActivation)
        {
            Kernels.Dropout.Apply(pass.Isa, dx, pass.Rows, OutputLength, pass.FirstRow, pass.DropoutKeys.K0, pass.DropoutKeys.K1, Spec.Ratio);
        }
    }
}
