using System.Globalization;

namespace Simd.Training.Layers;

/// <summary>The book's layers (common/layers.py); SoftmaxWithLoss is implied after the last one.</summary>
public enum LayerKind
{
    Affine,
    Convolution,
    Pooling,
    Relu,
    Sigmoid,
    BatchNormalization,
    Dropout,
}

/// <summary>What one image is at a layer boundary, in the book's NCHW order: [C, H, W]; a flat vector is [n, 1, 1].</summary>
public readonly record struct TensorShape(int Channels, int Height = 1, int Width = 1)
{
    /// <summary>Values per image (C·H·W), as a long so that an absurd spec is caught, not wrapped.</summary>
    public long Length => (long)Channels * Height * Width;

    /// <summary>True for [n, 1, 1]: what the Affine layers take and give.</summary>
    public bool IsFlat => Height == 1 && Width == 1;

    /// <summary>"1x28x28", or "784" when flat.</summary>
    public override string ToString() => IsFlat
        ? Channels.ToString(CultureInfo.InvariantCulture)
        : string.Create(CultureInfo.InvariantCulture, $"{Channels}x{Height}x{Width}");
}

/// <summary>
/// One layer of a stack, as the <c>--layers</c> grammar writes it (see <see cref="Token"/>): Affine(<see cref="Size"/>
/// outputs), Convolution(<see cref="Size"/> filters of <see cref="Kernel"/>², <see cref="Stride"/>, <see cref="Pad"/>),
/// max Pooling(<see cref="Kernel"/>², <see cref="Stride"/>), ReLU, Sigmoid, BatchNormalization, Dropout(<see cref="Ratio"/>).
/// </summary>
public sealed record LayerSpec(LayerKind Kind, int Size = 0, int Kernel = 0, int Stride = 1, int Pad = 0, double Ratio = 0)
{
    public static LayerSpec Affine(int outputs) => new(LayerKind.Affine, Size: outputs);

    public static LayerSpec Convolution(int filters, int kernel, int stride = 1, int pad = 0) =>
        new(LayerKind.Convolution, Size: filters, Kernel: kernel, Stride: stride, Pad: pad);

    /// <summary>Max pooling of <paramref name="size"/>² windows, the stride the window's by default (the book's pool_h, pool_w, stride).</summary>
    public static LayerSpec Pooling(int size, int? stride = null) => new(LayerKind.Pooling, Kernel: size, Stride: stride ?? size);

    public static LayerSpec Activation(Activation activation) => new(activation == Training.Activation.Relu ? LayerKind.Relu : LayerKind.Sigmoid);

    public static LayerSpec Dropout(double ratio) => new(LayerKind.Dropout, Ratio: ratio);

    public static LayerSpec BatchNormalization { get; } = new(LayerKind.BatchNormalization);

    /// <summary>True for the layers with weights (W and b): Affine and Convolution.</summary>
    public bool HasWeights => Kind is LayerKind.Affine or LayerKind.Convolution;

    /// <summary>
    /// The layer in the <c>--layers</c> grammar: <c>affine100</c>, <c>conv30x5</c> (with <c>s2</c>, <c>p1</c> when not 1 and 0),
    /// <c>pool2</c> (with <c>s1</c> when the stride is not the window), <c>relu</c>, <c>sigmoid</c>, <c>batchnorm</c>, <c>dropout0.5</c>.
    /// </summary>
    public string Token => Kind switch
    {
        LayerKind.Affine => Invariant($"affine{Size}"),
        LayerKind.Convolution => Invariant($"conv{Size}x{Kernel}") + (Stride == 1 ? "" : Invariant($"s{Stride}")) + (Pad == 0 ? "" : Invariant($"p{Pad}")),
        LayerKind.Pooling => Invariant($"pool{Kernel}") + (Stride == Kernel ? "" : Invariant($"s{Stride}")),
        LayerKind.Relu => Training.Names.Of(Training.Activation.Relu),
        LayerKind.Sigmoid => Training.Names.Of(Training.Activation.Sigmoid),
        LayerKind.BatchNormalization => "batchnorm",
        LayerKind.Dropout => "dropout" + Ratio.ToString("R", CultureInfo.InvariantCulture),
        _ => throw new InvalidOperationException($"layer kind {Kind}"),
    };

    public override string ToString() => Token;

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
