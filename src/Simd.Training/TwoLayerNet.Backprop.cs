using Simd.Kernels;

namespace Simd.Training;

/// <summary>The book's gradient(x, t) by backpropagation (ch. 5).</summary>
public sealed partial class TwoLayerNet<T>
{
    /// <summary>
    /// Backprop gradient of the mean loss on the batch, written to <paramref name="gradients"/>
    /// (layout of <see cref="Parameters"/>); returns the batch loss from the same forward pass.
    /// dY = (softmax - t) / B; dW2 = A1ᵀ·dY; db2 = Σ dY; dA1 = dY·W2ᵀ; dZ1 = dA1 ⊙ act'(A1);
    /// dW1 = Xᵀ·dZ1; db1 = Σ dZ1.
    /// </summary>
    public T Gradient(ReadOnlySpan<T> x, ReadOnlySpan<byte> labels, int batch, Span<T> gradients)
    {
        CheckBatch(x, labels, batch);
        if (gradients.Length < Shape.ParameterCount)
        {
            throw new ArgumentException($"gradients needs {Shape.ParameterCount} elements", nameof(gradients));
        }

        int input = Shape.InputSize, hiddenSize = Shape.HiddenSize, output = Shape.OutputSize;
        ReadOnlySpan<T> p = Parameters;
        Span<T> hidden = Workspace.Hidden[..(batch * hiddenSize)];          // [B, hidden]
        Span<T> logits = Workspace.Logits[..(batch * output)];              // [B, out]
        Span<T> dLogits = Workspace.OutputGradient[..(batch * output)];     // [B, out]
        Span<T> dHidden = Workspace.HiddenGradient[..(batch * hiddenSize)]; // [B, hidden]
        Span<T> rowLosses = Workspace.RowLosses[..batch];                   // [B]

        ForwardHidden(p, x, batch, hidden);
        ForwardLogits(p, hidden, batch, logits);
        SoftmaxCrossEntropy.ForwardBackward(Isa, logits, labels, batch, output, batch, rowLosses, dLogits);

        GemmTN.Multiply(Isa, hidden, hiddenSize, dLogits, hiddenSize, batch, output, Shape.W2(gradients));
        ColumnSums.Compute(Isa, dLogits, batch, output, Shape.B2(gradients));
        GemmNT.Multiply(Isa, dLogits, Shape.W2(p), batch, output, hiddenSize, dHidden);
        if (Activation == Activation.Sigmoid)
        {
            Sigmoid.Backward<T>(Isa, hidden, dHidden, dHidden);
        }
        else
        {
            Relu.Backward<T>(Isa, hidden, dHidden, dHidden);
        }

        GemmTN.Multiply(Isa, x, input, dHidden, input, batch, hiddenSize, Shape.W1(gradients));
        ColumnSums.Compute(Isa, dHidden, batch, hiddenSize, Shape.B1(gradients));
        return SoftmaxCrossEntropy.Mean<T>(rowLosses);
    }
}
