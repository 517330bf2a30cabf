using System.Globalization;
using System.Text.RegularExpressions;

namespace Simd.Training.Layers;

/// <summary>
/// A network as the book composes it (an OrderedDict of layers): the image shape it takes and its layers in order,
/// SoftmaxWithLoss implied after the last, which must be the Affine layer that gives the classes. Built from the
/// <c>--layers</c> grammar (<see cref="Parse"/>), a named network (<see cref="Named"/>), or the fully connected
/// shorthand (<see cref="FullyConnected"/>); every shape is checked when it is built.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1711", Justification = "the book's word for layers on top of one another")]
public sealed partial class LayerStack : IEquatable<LayerStack>
{
    private readonly LayerSpec[] _layers;
    private readonly TensorShape[] _shapes; // [layers + 1]: the input, then each layer's output

    /// <exception cref="LayerSpecException">A layer does not fit its input: names the layer and why.</exception>
    public LayerStack(TensorShape input, IReadOnlyList<LayerSpec> layers)
    {
        ArgumentNullException.ThrowIfNull(layers);
        if (input.Channels < 1 || input.Height < 1 || input.Width < 1)
        {
            throw new LayerSpecException($"the input {input} must have positive sizes");
        }

        int output = LastAffine(layers);
        if (output < 0 || layers.Skip(output + 1).Any(l => l.Kind != LayerKind.Dropout))
        {
            throw new LayerSpecException("the last layer must be the affine layer that gives the classes, or dropout after it (softmax with loss follows)");
        }

        if (layers[0].Kind is not (LayerKind.Affine or LayerKind.Convolution or LayerKind.Pooling))
        {
            throw new LayerSpecException($"'{layers[0].Token}' cannot come first: a network starts with conv, pool or affine");
        }

        Input = input;
        _layers = [.. layers];
        _shapes = new TensorShape[_layers.Length + 1];
        _shapes[0] = input;
        long parameters = 0;
        for (int i = 0; i < _layers.Length; i++)
        {
            _shapes[i + 1] = OutputOf(_layers[i], _shapes[i], out long layerParameters);
            parameters += layerParameters;
            if (parameters > NetworkShape.MaxLayerWeights)
            {
                throw new LayerSpecException(string.Create(CultureInfo.InvariantCulture,
                    $"'{_layers[i].Token}': the network would have {parameters:N0} parameters, at most {NetworkShape.MaxLayerWeights:N0}"));
            }
        }

        _shape = new NetworkShape(this); // checks where each batch normalization's γ and β go
    }

    /// <summary>One image as the network takes it: MNIST's [1, 28, 28] for a convolution first, else [784].</summary>
    public TensorShape Input { get; }

    public IReadOnlyList<LayerSpec> Layers => _layers;

    /// <summary>The classes: the last Affine layer's outputs (ch. 8's DeepConvNet puts a dropout after it).</summary>
    public int OutputSize => _layers[LastAffine(_layers)].Size;

    private static int LastAffine(IReadOnlyList<LayerSpec> layers)
    {
        for (int i = layers.Count - 1; i >= 0; i--)
        {
            if (layers[i].Kind == LayerKind.Affine)
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>What layer <paramref name="layer"/> takes per image.</summary>
    public TensorShape InputOf(int layer) => _shapes[layer];

    /// <summary>What layer <paramref name="layer"/> gives per image.</summary>
    public TensorShape OutputOf(int layer) => _shapes[layer + 1];

    /// <summary>True when every layer is Affine, an activation, batch normalization or dropout (ch. 4-6).</summary>
    public bool IsFullyConnected => _layers.All(l => l.Kind is not (LayerKind.Convolution or LayerKind.Pooling));

    /// <summary>The parameter layout the stack's weights have: W1, b1, [gamma1, beta1,] W2, ... in the book's names and shapes.</summary>
    public NetworkShape Shape => _shape;

    private readonly NetworkShape _shape;

    /// <summary>The names <c>--net</c> takes.</summary>
    public static IReadOnlyList<string> Names { get; } = ["two-layer", "simple-convnet", "deep-convnet"];

    /// <summary>MNIST as a convolution takes it.</summary>
    public static TensorShape MnistImage => new(1, 28, 28);

    /// <summary>
    /// A named network on MNIST: <c>two-layer</c> (the book's ch. 4 TwoLayerNet, 784-50-10 sigmoid) or <c>simple-convnet</c>
    /// (ch. 7's SimpleConvNet: conv 30 5x5 → ReLU → pool 2 → affine 100 → ReLU → affine 10) or <c>deep-convnet</c> (ch. 8's
    /// DeepConvNet, <see cref="DeepConvNet"/>); null for another name.
    /// </summary>
    public static LayerStack? Named(string name, int classes = 10) => name switch
    {
        "two-layer" => FullyConnected(784, [BookDefaults.HiddenSize], classes, Activation.Sigmoid),
        "simple-convnet" => Parse("conv30x5-relu-pool2-affine100-relu-affine" + classes.ToString(CultureInfo.InvariantCulture), MnistImage),
        "deep-convnet" => Parse(DeepConvNet + classes.ToString(CultureInfo.InvariantCulture) + "-dropout0.5", MnistImage),
        _ => null,
    };

    /// <summary>
    /// ch08/deep_convnet.py up to its output affine: six 3x3 convolutions (16, 16, 32, 32 padded by 2, 64, 64 filters) with
    /// ReLU, a 2x2 max pooling after every second, affine 50 → ReLU → dropout 0.5; then affine (the classes) → dropout 0.5.
    /// </summary>
    private const string DeepConvNet = "conv16x3p1-relu-conv16x3p1-relu-pool2-conv32x3p1-relu-conv32x3p2-relu-pool2-" +
        "conv64x3p1-relu-conv64x3p1-relu-pool2-affine50-relu-dropout0.5-affine";

    /// <summary>
    /// The initial weights the book gives a named network when --init is not given: He's (weight_init_scales =
    /// sqrt(2 / fan-in), the fan-ins 9, 144, 144, 288, 288, 576, 1024, 50) for ch. 8's DeepConvNet; null for the others,
    /// whose book code takes weight_init_std = 0.01.
    /// </summary>
    public static WeightInit? NamedInit(string name) => name == "deep-convnet" ? WeightInit.He : null;

    /// <summary>
    /// The book's MultiLayerNet(Extend): for each hidden size Affine → [BatchNormalization] → activation → [Dropout], then
    /// the output Affine. The input is flat (<paramref name="inputs"/> values).
    /// </summary>
    public static LayerStack FullyConnected(int inputs, IReadOnlyList<int> hiddenSizes, int outputs, Activation activation, bool batchNorm = false, double dropout = 0)
    {
        ArgumentNullException.ThrowIfNull(hiddenSizes);
        var layers = new List<LayerSpec>();
        foreach (int hidden in hiddenSizes)
        {
            layers.Add(LayerSpec.Affine(hidden));
            if (batchNorm)
            {
                layers.Add(LayerSpec.BatchNormalization);
            }

            layers.Add(LayerSpec.Activation(activation));
            if (dropout != 0)
            {
                layers.Add(LayerSpec.Dropout(dropout));
            }
        }

        layers.Add(LayerSpec.Affine(outputs));
        return new LayerStack(new TensorShape(inputs), layers);
    }

    /// <summary>
    /// Parses the <c>--layers</c> grammar: tokens joined by '-', each <c>conv&lt;N&gt;x&lt;K&gt;[s&lt;S&gt;][p&lt;P&gt;]</c>,
    /// <c>pool&lt;K&gt;[s&lt;S&gt;]</c>, <c>affine&lt;N&gt;</c>, <c>relu</c>, <c>sigmoid</c>, <c>batchnorm</c> or <c>dropout&lt;R&gt;</c>.
    /// A stack whose first layer is a convolution or pooling takes <paramref name="image"/>; else the flat image.
    /// </summary>
    /// <exception cref="LayerSpecException">One line naming the token and why.</exception>
    public static LayerStack Parse(string spec, TensorShape image)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (spec.Trim().Length == 0)
        {
            throw new LayerSpecException("the layer list is empty");
        }

        var layers = new List<LayerSpec>();
        foreach (string token in spec.Split('-'))
        {
            layers.Add(ParseToken(token));
        }

        bool spatial = layers[0].Kind is LayerKind.Convolution or LayerKind.Pooling;
        return new LayerStack(spatial ? image : new TensorShape((int)image.Length), layers);
    }

    private static LayerSpec ParseToken(string token)
    {
        if (token.Length == 0)
        {
            throw new LayerSpecException("an empty token (two '-' in a row, or one at an end)");
        }

        Match match;
        if ((match = ConvolutionToken().Match(token)).Success)
        {
            return LayerSpec.Convolution(
                Positive(token, match.Groups[1].Value, "filters"), Positive(token, match.Groups[2].Value, "kernel size"),
                match.Groups[3].Success ? Positive(token, match.Groups[3].Value, "stride") : 1,
                match.Groups[4].Success ? NonNegative(token, match.Groups[4].Value, "padding") : 0);
        }

        if ((match = PoolingToken().Match(token)).Success)
        {
            int size = Positive(token, match.Groups[1].Value, "window");
            return LayerSpec.Pooling(size, match.Groups[2].Success ? Positive(token, match.Groups[2].Value, "stride") : size);
        }

        if ((match = AffineToken().Match(token)).Success)
        {
            return LayerSpec.Affine(Positive(token, match.Groups[1].Value, "outputs"));
        }

        if ((match = DropoutToken().Match(token)).Success)
        {
            if (!double.TryParse(match.Groups[1].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out double ratio) || !(ratio > 0 && ratio < 1))
            {
                throw new LayerSpecException($"'{token}': the dropout ratio must be above 0 and below 1");
            }

            return LayerSpec.Dropout(ratio);
        }

        if (Training.Names.ActivationNamed(token) is { } activation)
        {
            return LayerSpec.Activation(activation); // an activation's token is its one name (Names)
        }

        return token switch
        {
            "batchnorm" => LayerSpec.BatchNormalization,
            _ => throw new LayerSpecException(
                $"'{Files.Printable.Value(token)}' is not a layer (conv<N>x<K>[s<S>][p<P>], pool<K>[s<S>], affine<N>, relu, sigmoid, batchnorm, dropout<R>)"),
        };
    }

    private static int Positive(string token, string digits, string what) =>
        int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out int value) && value > 0
            ? value
            : throw new LayerSpecException($"'{token}': the {what} must be a positive whole number that fits in 32 bits");

    private static int NonNegative(string token, string digits, string what) =>
        int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out int value)
            ? value
            : throw new LayerSpecException($"'{token}': the {what} must be a whole number that fits in 32 bits");

    /// <summary>The output shape of <paramref name="layer"/> on <paramref name="input"/>, and how many parameters it has.</summary>
    private static TensorShape OutputOf(LayerSpec layer, TensorShape input, out long parameters)
    {
        parameters = 0;
        string token = layer.Token;
        switch (layer.Kind)
        {
            case LayerKind.Affine:
                parameters = (input.Length * layer.Size) + layer.Size;
                if (input.Length * layer.Size > NetworkShape.MaxLayerWeights)
                {
                    throw new LayerSpecException(string.Create(CultureInfo.InvariantCulture,
                        $"'{token}': its W would hold {input.Length} x {layer.Size} = {input.Length * layer.Size:N0} weights, at most {NetworkShape.MaxLayerWeights:N0}"));
                }

                return new TensorShape(layer.Size);
            case LayerKind.Convolution:
            case LayerKind.Pooling:
            {
                if (input.IsFlat && input.Channels > 1)
                {
                    throw new LayerSpecException($"'{token}': its input is a flat vector of {input}; a {(layer.Kind == LayerKind.Pooling ? "pooling" : "convolution")} needs images (put it before the affine layers)");
                }

                int padded = layer.Kind == LayerKind.Convolution ? 2 * layer.Pad : 0;
                if ((long)layer.Kernel > (long)input.Height + padded || (long)layer.Kernel > (long)input.Width + padded)
                {
                    throw new LayerSpecException(string.Create(CultureInfo.InvariantCulture,
                        $"'{token}': a {layer.Kernel}x{layer.Kernel} window is larger than its {input.Height}x{input.Width} input{(padded > 0 ? $" padded by {layer.Pad}" : "")}"));
                }

                int height = (int)(((long)input.Height + padded - layer.Kernel) / layer.Stride) + 1;
                int width = (int)(((long)input.Width + padded - layer.Kernel) / layer.Stride) + 1;
                if (layer.Kind == LayerKind.Pooling)
                {
                    if ((input.Height - layer.Kernel) % layer.Stride != 0 || (input.Width - layer.Kernel) % layer.Stride != 0)
                    {
                        throw new LayerSpecException(string.Create(CultureInfo.InvariantCulture,
                            $"'{token}': {layer.Kernel}x{layer.Kernel} windows at stride {layer.Stride} do not tile its {input.Height}x{input.Width} input (rows or columns would be left out)"));
                    }

                    return new TensorShape(input.Channels, height, width);
                }

                long window = (long)input.Channels * layer.Kernel * layer.Kernel;
                parameters = (layer.Size * window) + layer.Size;
                if (layer.Size * window > NetworkShape.MaxLayerWeights || (long)layer.Size * height * width > NetworkShape.MaxLayerWeights
                    || window * height * width > NetworkShape.MaxLayerWeights)
                {
                    throw new LayerSpecException($"'{token}': its weights, output or column matrix would be too large to hold");
                }

                return new TensorShape(layer.Size, height, width);
            }

            default:
                return input;
        }
    }

    /// <summary>The <c>--layers</c> grammar of the stack: "conv30x5-relu-pool2-affine100-relu-affine10".</summary>
    public override string ToString() => string.Join("-", _layers.Select(l => l.Token));

    public bool Equals(LayerStack? other) => other is not null && Input == other.Input && _layers.AsSpan().SequenceEqual(other._layers);

    public override bool Equals(object? obj) => Equals(obj as LayerStack);

    public override int GetHashCode() => ToString().GetHashCode(StringComparison.Ordinal);

    [GeneratedRegex(@"^conv(\d+)x(\d+)(?:s(\d+))?(?:p(\d+))?$", RegexOptions.CultureInvariant)]
    private static partial Regex ConvolutionToken();

    [GeneratedRegex(@"^pool(\d+)(?:s(\d+))?$", RegexOptions.CultureInvariant)]
    private static partial Regex PoolingToken();

    [GeneratedRegex(@"^affine(\d+)$", RegexOptions.CultureInvariant)]
    private static partial Regex AffineToken();

    [GeneratedRegex(@"^dropout([0-9.eE+-]+)$", RegexOptions.CultureInvariant)]
    private static partial Regex DropoutToken();
}

/// <summary>A layer list that cannot be built: one line for the user, naming the layer.</summary>
public sealed class LayerSpecException(string message) : Exception(message);
