using System.Numerics;
using Simd.Kernels;

namespace Simd.Training.Layers;

/// <summary>
/// The book's Convolution: W [FN, C, FH, FW], b [FN], each image [C, H, W] to [FN, OH, OW], one image at a time. On the
/// vector paths a stride-1 layer runs straight from the padded image (<see cref="DirectConvolution"/>: ch. 8's 3x3
/// layers spent as long making im2col's matrix as multiplying it; backward only with more than one input channel); the rest
/// by im2col and the GEMMs (<see cref="Kernels.Convolution"/>), the column matrix made in the worker's scratch for the
/// forward pass and made again for the backward pass (cheaper than keeping a batch of them: 14,400 values an image for
/// the book's ch. 7 layer). Its gradients add up per row block (<see cref="ConvolutionWeights{T}"/>).
/// </summary>
public sealed class ConvolutionLayer<T> : ConvolutionWeights<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly DirectConvolution? _direct;

    public ConvolutionLayer(LayerSpec spec, TensorShape input, TensorShape output, int weightOffset, int biasOffset)
        : base(spec, input, output, weightOffset, biasOffset)
    {
        _direct = DirectConvolution.Applies(Geometry) ? new DirectConvolution(Geometry) : null;
    }

    private int ColumnLength => WindowLength * Geometry.Positions; // [K, P]

    /// <summary>One image's column matrix, then its dcol: [2, K, P]; or the direct convolution's, whichever is larger.</summary>
    public override long WorkerScratchLength => Math.Max(2L * ColumnLength, _direct?.ScratchLength(Filters) ?? 0);

    private bool Direct(IsaPath isa) => _direct is not null && Isa.Effective(isa) != IsaPath.Scalar;

    /// <summary>
    /// The backward pass directly too, except on one input channel: there dW's windows would be copied one value at a time
    /// (<see cref="DirectConvolution"/> reads them in place only for whole vectors of channels), and im2col's column
    /// matrix and its dot-product tiles do better (ch. 8's first layer, 100 images, `--conv-layers`: backward 1.87 ms by
    /// im2col against 6.07 ms directly; forward 1.04 ms directly against 1.24 ms). Both forward passes chain the taps'
    /// products in window order, then add the bias (the same bits on ch. 8's first layer).
    /// </summary>
    private bool DirectBackward(IsaPath isa) => Direct(isa) && Geometry.Channels > 1;

    protected override bool TapMajorPartials(IsaPath isa) => DirectBackward(isa);

    public override void Forward(ref RowsPass<T> pass, ReadOnlySpan<T> x, Span<T> y)
    {
        ReadOnlySpan<T> weights = Weights(pass.Parameters), bias = Bias(pass.Parameters);
        bool direct = Direct(pass.Isa);
        Span<T> scratch = direct ? pass.Scratch[..(int)_direct!.ScratchLength(Filters)] : pass.Scratch[..ColumnLength];
        for (int r = 0; r < pass.Rows; r++)
        {
            if (direct)
            {
                _direct!.Forward(pass.Isa, x.Slice(r * InputLength, InputLength), weights, bias, scratch, y.Slice(r * OutputLength, OutputLength));
            }
            else
            {
                Kernels.Convolution.Forward(pass.Isa, x.Slice(r * InputLength, InputLength), weights, bias, Geometry, scratch, y.Slice(r * OutputLength, OutputLength));
            }
        }
    }

    public override void Backward(ref RowsPass<T> pass, ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> dy, Span<T> dx)
    {
        ReadOnlySpan<T> weights = Weights(pass.Parameters);
        bool direct = DirectBackward(pass.Isa);
        for (int r = 0; r < pass.Rows; r++)
        {
            Span<T> partial = PartialOf(ref pass, pass.FirstRow + r, out bool accumulate);
            ReadOnlySpan<T> image = x.Slice(r * InputLength, InputLength), gradient = dy.Slice(r * OutputLength, OutputLength);
            Span<T> imageDx = dx.IsEmpty ? default : dx.Slice(r * InputLength, InputLength);
            if (direct)
            {
                _direct!.Backward(pass.Isa, image, gradient, weights, pass.Scratch[..(int)_direct.ScratchLength(Filters)], partial[..WeightLength], partial[WeightLength..], imageDx, accumulate);
            }
            else
            {
                Span<T> col = pass.Scratch[..ColumnLength], dcol = pass.Scratch.Slice(ColumnLength, ColumnLength);
                Im2Col.Forward(pass.Isa, image, Geometry, col);
                Kernels.Convolution.Backward(pass.Isa, gradient, col, weights, Geometry, partial[..WeightLength], partial[WeightLength..], dcol, imageDx, accumulate);
            }
        }
    }
}
