using System.Numerics;
using Simd.Kernels;

namespace Simd.Training.Layers;

/// <summary>The book's Relu and Sigmoid, in place; backward from the output y: ReLU's dY where y &gt; 0, sigmoid's dY·y(1 − y).</summary>
public sealed class ActivationLayer<T>(LayerSpec spec, TensorShape input) : Layer<T>(spec, input, input)
    where T : unmanaged, IFloatingPointIeee754<T>
{
    public override bool InPlace => true;

    public override void Forward(ref RowsPass<T> pass, ReadOnlySpan<T> x, Span<T> y)
    {
        if (Spec.Kind == LayerKind.Sigmoid)
        {
            Sigmoid.Forward(pass.Isa, x, y);
        }
        else
        {
            Relu.Forward(pass.Isa, x, y);
        }
    }

    public override void Backward(ref RowsPass<T> pass, ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> dy, Span<T> dx)
    {
        if (dx.IsEmpty)
        {
            return;
        }

        if (Spec.Kind == LayerKind.Sigmoid)
        {
            Sigmoid.Backward(pass.Isa, y, dy, dx);
        }
        else
        {
            Relu.Backward(pass.Isa, y, dy, dx);
        }
    }
}
