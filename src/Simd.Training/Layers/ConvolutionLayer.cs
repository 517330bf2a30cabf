using System.Numerics;
using Simd.Kernels;

namespace Simd.Training.Layers;

/// <summary>
/// The book's Convolution: W [FN, C, FH, FW], b [FN], each image [C, H, W] to [FN, OH, OW] by im2col and the GEMMs
/// (<see cref="Kernels.Convolution"/>), one image at a time: an image's column matrix is made in the worker's scratch for
/// its forward pass and made again for its backward pass (cheaper than keeping a batch of them: 14,400 values an image
/// for the book's ch. 7 layer). Its gradients add up per row block (<see cref="ConvolutionWeights{T}"/>).
/// </summary>
public sealed class ConvolutionLayer<T>(LayerSpec spec, TensorShape input, TensorShape output, int weightOffset, int biasOffset)
    : ConvolutionWeights<T>(spec, input, output, weightOffset, biasOffset)
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private int ColumnLength => WindowLength * Geometry.Positions; // [K, P]

    /// <summary>One image's column matrix, then its dcol: [2, K, P].</summary>
    public override long WorkerScratchLength => 2L * ColumnLength;

    public override void Forward(ref RowsPass<T> pass, ReadOnlySpan<T> x, Span<T> y)
    {
        ReadOnlySpan<T> weights = Weights(pass.Parameters), bias = Bias(pass.Parameters);
        Span<T> col = pass.Scratch[..ColumnLength];
        for (int r = 0; r < pass.Rows; r++)
        {
            Kernels.Convolution.Forward(pass.Isa, x.Slice(r * InputLength, InputLength), weights, bias, Geometry, col, y.Slice(r * OutputLength, OutputLength));
        }
    }

    public override void Backward(ref RowsPass<T> pass, ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> dy, Span<T> dx)
    {
        ReadOnlySpan<T> weights = Weights(pass.Parameters);
        Span<T> col = pass.Scratch[..ColumnLength], dcol = pass.Scratch.Slice(ColumnLength, ColumnLength);
        for (int r = 0; r < pass.Rows; r++)
        {
            Span<T> partial = PartialOf(ref pass, pass.FirstRow + r, out bool accumulate);
            Im2Col.Forward(pass.Isa, x.Slice(r * InputLength, InputLength), Geometry, col);
            Kernels.Convolution.Backward(pass.Isa, dy.Slice(r * OutputLength, OutputLength), col, weights, Geometry,
                partial[..WeightLength], partial[WeightLength..], dcol, dx.IsEmpty ? default : dx.Slice(r * InputLength, InputLength), accumulate);
        }
    }
}
