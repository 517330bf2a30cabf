using System.Numerics;
using System.Runtime.InteropServices;
using Simd.Kernels;

namespace Simd.Training.Layers;

/// <summary>
/// The book's max Pooling: each channel's windows to their maximum, the first maximum's place kept (as numpy's argmax)
/// for the backward pass, which gives each window's dY to that place (<see cref="MaxPooling"/>).
/// </summary>
public sealed class PoolingLayer<T> : Layer<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly ConvolutionGeometry _geometry;

    public PoolingLayer(LayerSpec spec, TensorShape input, TensorShape output)
        : base(spec, input, output) =>
        _geometry = new ConvolutionGeometry(input.Channels, input.Height, input.Width, spec.Kernel, spec.Kernel, spec.Stride, 0);

    /// <summary>The argmax, one int per output, packed in T values.</summary>
    public override int SavedPerImage => (int)(((long)OutputLength * sizeof(int) + System.Runtime.CompilerServices.Unsafe.SizeOf<T>() - 1) / System.Runtime.CompilerServices.Unsafe.SizeOf<T>());

    public override int ChoicesPerImage => OutputLength;

    public override void RecordChoices(ReadOnlySpan<T> saved, int rows, Span<byte> pattern)
    {
        for (int r = 0; r < rows; r++)
        {
            ReadOnlySpan<int> argmax = MemoryMarshal.Cast<T, int>(saved.Slice(r * SavedPerImage, SavedPerImage))[..OutputLength];
            for (int i = 0; i < argmax.Length; i++)
            {
                pattern[(r * OutputLength) + i] = (byte)argmax[i]; // places in one window differ in their low byte
            }
        }
    }

    public override void Forward(ref RowsPass<T> pass, ReadOnlySpan<T> x, Span<T> y)
    {
        for (int r = 0; r < pass.Rows; r++)
        {
            Span<int> argmax = MemoryMarshal.Cast<T, int>(pass.Saved.Slice(r * SavedPerImage, SavedPerImage))[..OutputLength];
            MaxPooling.Forward(x.Slice(r * InputLength, InputLength), _geometry, y.Slice(r * OutputLength, OutputLength), argmax);
        }
    }

    public override void Backward(ref RowsPass<T> pass, ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> dy, Span<T> dx)
    {
        for (int r = 0; !dx.IsEmpty && r < pass.Rows; r++)
        {
            ReadOnlySpan<int> argmax = MemoryMarshal.Cast<T, int>(pass.Saved.Slice(r * SavedPerImage, SavedPerImage))[..OutputLength];
            MaxPooling.Backward(dy.Slice(r * OutputLength, OutputLength), argmax, _geometry, dx.Slice(r * InputLength, InputLength));
        }
    }
}
