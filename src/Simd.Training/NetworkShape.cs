using CommunityToolkit.HighPerformance;

namespace Simd.Training;

/// <summary>
/// Where each parameter of a network lives in the one flat parameter buffer, in the book's order W1, b1, W2, b2, ...
/// (an Affine's W [n_in, n_out] row-major, a Convolution's W [FN, C, FH, FW], each b [n_out] or [FN]) — the order the
/// numerical gradient walks them and model files store them. Batch normalization's γ and β follow the bias of the
/// layer before it: W1, b1, gamma1, beta1, W2, ... (MultiLayerNetExtend). Built from a <see cref="Layers.LayerStack"/>,
/// or from the sizes of a fully connected network (the book's ch. 4 network is 784-50-10). The layer-numbered members
/// (<see cref="InputsOf"/>, <see cref="Weights{T}(Span{T}, int)"/>, ...) count the layers with weights, an Affine's W
/// as [n_in, n_out] and a Convolution's as the matrix [FN, C·FH·FW].
/// </summary>
public sealed class NetworkShape : IEquatable<NetworkShape>
{
    private readonly int[] _sizes;        // the fully connected view: n_0 (input), then each weight layer's matrix columns
    private readonly int[] _weightRows;    // [L] rows of each W as a matrix
    private readonly int[] _weightOffsets; // [L]
    private readonly int[] _biasOffsets;   // [L]
    private readonly int[] _biasLengths;   // [L]
    private readonly int[] _gammaOffsets;  // [L] γ after layer l's bias, or -1; β follows γ
    private readonly int[] _batchNormLengths; // [L] γ's length after layer l, or 0
    private readonly ParameterTensor[] _tensors;

    /// <summary>One hidden layer: the book's MultiLayerNet.</summary>
    public NetworkShape(int inputSize, int hiddenSize, int outputSize)
        : this(inputSize, [hiddenSize], outputSize)
    {
    }

    /// <param name="hiddenSizes">The hidden layers, first to last (the book's hidden_size_list); may be empty.</param>
    /// <param name="batchNorm">Batch normalization before every hidden activation: γ and β for each hidden layer.</param>
    public NetworkShape(int inputSize, IReadOnlyList<int> hiddenSizes, int outputSize, bool batchNorm = false)
        : this(FullyConnectedLayers(inputSize, hiddenSizes, outputSize, batchNorm), inputSize, null)
    {
    }

    /// <summary>The parameter layout of <paramref name="stack"/>'s layers.</summary>
    internal NetworkShape(Layers.LayerStack stack)
        : this(LayersOf(stack), checked((int)stack.Input.Length), stack)
    {
    }

    private NetworkShape(List<WeightLayer> layers, int inputSize, Layers.LayerStack? stack)
    {
        Stack = stack;
        int count = layers.Count;
        _sizes = [inputSize, .. layers.Select(l => l.Columns)];
        _weightRows = [.. layers.Select(l => l.Rows)];
        _weightOffsets = new int[count];
        _biasOffsets = new int[count];
        _gammaOffsets = new int[count];
        _biasLengths = [.. layers.Select(l => l.BiasLength)];
        _batchNormLengths = [.. layers.Select(l => l.BatchNormLength)];
        var tensors = new List<ParameterTensor>();
        long offset = 0;
        for (int l = 0; l < count; l++)
        {
            WeightLayer layer = layers[l];
            string n = (l + 1).ToString(System.Globalization.CultureInfo.InvariantCulture);
            _weightOffsets[l] = (int)offset;
            tensors.Add(new ParameterTensor("W" + n, (int)offset, layer.Rows, layer.Columns) { Dimensions = layer.WeightDimensions });
            offset += (long)layer.Rows * layer.Columns;
            _biasOffsets[l] = (int)offset;
            tensors.Add(new ParameterTensor("b" + n, (int)offset, 1, layer.BiasLength));
            offset += layer.BiasLength;
            _gammaOffsets[l] = -1;
            if (layer.BatchNormLength > 0)
            {
                _gammaOffsets[l] = (int)offset;
                tensors.Add(new ParameterTensor("gamma" + n, (int)offset, 1, layer.BatchNormLength));
                tensors.Add(new ParameterTensor("beta" + n, (int)(offset + layer.BatchNormLength), 1, layer.BatchNormLength));
                offset += 2L * layer.BatchNormLength;
            }
        }

        BatchNorm = layers.Any(l => l.BatchNormLength > 0);
        _tensors = [.. tensors];
        ParameterCount = (int)offset;
        OutputSize = layers.Count > 0 ? layers[^1].BiasLength : inputSize;
    }

    /// <summary>The stack this layout was made from; null for one made from fully connected sizes.</summary>
    public Layers.LayerStack? Stack { get; }

    /// <summary>A layer with weights, as the parameter buffer holds it.</summary>
    private readonly record struct WeightLayer(int Rows, int Columns, int BiasLength, int BatchNormLength, int[] WeightDimensions);

    private static List<WeightLayer> FullyConnectedLayers(int inputSize, IReadOnlyList<int> hiddenSizes, int outputSize, bool batchNorm)
    {
        ArgumentNullException.ThrowIfNull(hiddenSizes);
        int[] sizes = [inputSize, .. hiddenSizes, outputSize];
        if (sizes.Any(size => size <= 0))
        {
            throw new ArgumentException($"network sizes must be positive ({string.Join("-", sizes)})");
        }

        if (SizeProblem(sizes) is { } problem)
        {
            throw new ArgumentException($"network too large: {problem}");
        }

        return [.. Enumerable.Range(0, sizes.Length - 1).Select(l => new WeightLayer(
            sizes[l], sizes[l + 1], sizes[l + 1], batchNorm && l < sizes.Length - 2 ? sizes[l + 1] : 0, [sizes[l], sizes[l + 1]]))];
    }

    private static List<WeightLayer> LayersOf(Layers.LayerStack stack)
    {
        var layers = new List<WeightLayer>();
        for (int i = 0; i < stack.Layers.Count; i++)
        {
            Layers.LayerSpec spec = stack.Layers[i];
            Layers.TensorShape input = stack.InputOf(i);
            if (spec.Kind == Layers.LayerKind.Affine)
            {
                layers.Add(new WeightLayer((int)input.Length, spec.Size, spec.Size, 0, [(int)input.Length, spec.Size]));
            }
            else if (spec.Kind == Layers.LayerKind.Convolution)
            {
                int window = input.Channels * spec.Kernel * spec.Kernel;
                layers.Add(new WeightLayer(spec.Size, window, spec.Size, 0, [spec.Size, input.Channels, spec.Kernel, spec.Kernel]));
            }
            else if (spec.Kind == Layers.LayerKind.BatchNormalization)
            {
                if (layers.Count == 0 || layers[^1].BatchNormLength > 0)
                {
                    throw new Layers.LayerSpecException("'batchnorm' must follow an affine or convolution layer, once (its γ and β take that layer's number)");
                }

                layers[^1] = layers[^1] with { BatchNormLength = checked((int)input.Length) };
            }
        }

        return layers;
    }

    /// <summary>The most weights a layer (and parameters a network) may have: buffers of several times this must still be addressable.</summary>
    public const long MaxLayerWeights = int.MaxValue / 4;

    /// <summary>
    /// Null when a network of <paramref name="sizes"/> (input, hidden..., output; all positive) fits the
    /// limits of <see cref="MaxLayerWeights"/>; else what is too large, e.g. "W1 would hold 784 x 1000000 =
    /// 784,000,000 weights, at most 536,870,911". The one place the rule lives: the CLI asks it too.
    /// </summary>
    public static string? SizeProblem(IReadOnlyList<int> sizes)
    {
        ArgumentNullException.ThrowIfNull(sizes);
        long parameters = 0;
        for (int l = 0; l + 1 < sizes.Count; l++)
        {
            long weights = (long)sizes[l] * sizes[l + 1];
            if (weights > MaxLayerWeights)
            {
                return string.Create(System.Globalization.CultureInfo.InvariantCulture,
                    $"W{l + 1} would hold {sizes[l]} x {sizes[l + 1]} = {weights:N0} weights, at most {MaxLayerWeights:N0}");
            }

            parameters += weights + sizes[l + 1];
        }

        return parameters > MaxLayerWeights
            ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{parameters:N0} parameters, at most {MaxLayerWeights:N0}")
            : null;
    }

    /// <summary>The book's ch. 4 network: 784 -> 50 -> 10.</summary>
    public static NetworkShape Book { get; } = new(784, 50, 10);

    /// <summary>Values of one image the network takes.</summary>
    public int InputSize => _sizes[0];

    /// <summary>The classes: the last layer's outputs.</summary>
    public int OutputSize { get; }

    /// <summary>The hidden layers' sizes, first to last.</summary>
    public IReadOnlyList<int> HiddenSizes => _sizes[1..^1];

    /// <summary>Layers with weights (Affine, Convolution): for a fully connected network, hidden layers + 1 (the output layer).</summary>
    public int LayerCount => _sizes.Length - 1;

    /// <summary>All parameters: 784*50 + 50 + 50*10 + 10 = 39,760 for the book's sizes.</summary>
    public int ParameterCount { get; }

    /// <summary>Rows of weight layer <paramref name="layer"/>'s W (0-based): an Affine's inputs n_(layer), a Convolution's filters.</summary>
    public int InputsOf(int layer) => _weightRows[layer];

    /// <summary>Outputs of affine layer <paramref name="layer"/> (0-based): n_(layer+1).</summary>
    public int OutputsOf(int layer) => _sizes[layer + 1];

    public int WeightOffset(int layer) => _weightOffsets[layer];

    public int WeightLength(int layer) => _weightRows[layer] * _sizes[layer + 1];

    public int BiasOffset(int layer) => _biasOffsets[layer];

    /// <summary>Some layer has batch normalization (the book's use_batchnorm: before every hidden activation).</summary>
    public bool BatchNorm { get; }

    /// <summary>Where γ after weight layer <paramref name="layer"/> starts (batch normalization only); β follows it.</summary>
    public int GammaOffset(int layer) => _gammaOffsets[layer] >= 0
        ? _gammaOffsets[layer]
        : throw new ArgumentOutOfRangeException(nameof(layer), layer, "only layers followed by batch normalization have γ and β");

    public int BetaOffset(int layer) => GammaOffset(layer) + BatchNormLength(layer);

    /// <summary>
    /// The number each batch normalization's γ and β carry (gamma2 → "2"), in order: the k-th is the workspace's running
    /// statistics k, and the file's simd_running_mean and simd_running_var take the number.
    /// </summary>
    public IReadOnlyList<string> BatchNormNumbers =>
        [.. Enumerable.Range(0, LayerCount).Where(l => _gammaOffsets[l] >= 0).Select(l => (l + 1).ToString(System.Globalization.CultureInfo.InvariantCulture))];

    /// <summary>Features of the batch normalization after weight layer <paramref name="layer"/>: the length of γ and of β.</summary>
    public int BatchNormLength(int layer) => _gammaOffsets[layer] >= 0
        ? _batchNormLengths[layer]
        : throw new ArgumentOutOfRangeException(nameof(layer), layer, "only layers followed by batch normalization have γ and β");

    /// <summary>W of layer <paramref name="layer"/> (0-based) inside a parameter (or gradient, or state) buffer: [n_in, n_out].</summary>
    public Span2D<T> Weights<T>(Span<T> parameters, int layer) =>
        parameters.Slice(WeightOffset(layer), WeightLength(layer)).AsSpan2D(InputsOf(layer), OutputsOf(layer));

    /// <inheritdoc cref="Weights{T}(Span{T}, int)"/>
    public ReadOnlySpan2D<T> Weights<T>(ReadOnlySpan<T> parameters, int layer) =>
        parameters.Slice(WeightOffset(layer), WeightLength(layer)).AsSpan2D(InputsOf(layer), OutputsOf(layer));

    /// <summary>b of layer <paramref name="layer"/> (0-based): [n_out].</summary>
    public Span<T> Bias<T>(Span<T> parameters, int layer) => parameters.Slice(BiasOffset(layer), BiasLength(layer));

    /// <inheritdoc cref="Bias{T}(Span{T}, int)"/>
    public ReadOnlySpan<T> Bias<T>(ReadOnlySpan<T> parameters, int layer) => parameters.Slice(BiasOffset(layer), BiasLength(layer));

    /// <summary>Values of weight layer <paramref name="layer"/>'s b: an Affine's outputs, a Convolution's filters.</summary>
    public int BiasLength(int layer) => _biasLengths[layer];

    /// <summary>The parameter tensors in buffer order (W1, b1, [gamma1, beta1,] W2, b2, ...), with their offsets and shapes.</summary>
    public IReadOnlyList<ParameterTensor> Tensors => _tensors;

    /// <summary>A fully connected layout: "784-100-100-10", with " batchnorm" when it has it; else its stack's layers.</summary>
    public override string ToString() => Stack is { IsFullyConnected: false } stack
        ? $"{stack.Input} {stack}"
        : string.Join("-", _sizes) + (BatchNorm ? " batchnorm" : "");

    /// <summary>The same parameters: names, shapes and places, and the same input size.</summary>
    public bool Equals(NetworkShape? other) => other is not null && InputSize == other.InputSize
        && _tensors.Length == other._tensors.Length
        && _tensors.Zip(other._tensors).All(pair => pair.First.Name == pair.Second.Name && pair.First.Offset == pair.Second.Offset && pair.First.ShapeText == pair.Second.ShapeText);

    public override bool Equals(object? obj) => Equals(obj as NetworkShape);

    public override int GetHashCode() => ToString().GetHashCode(StringComparison.Ordinal);
}

/// <summary>One named parameter tensor inside the flat buffer: [Rows, Columns] as a matrix, <see cref="Dimensions"/> as the book shapes it.</summary>
public readonly record struct ParameterTensor(string Name, int Offset, int Rows, int Columns)
{
    public int Length => Rows * Columns;

    /// <summary>The book's shape: (n_in, n_out) for an Affine's W, (FN, C, FH, FW) for a Convolution's, (n,) for the rest.</summary>
    public IReadOnlyList<int> Dimensions
    {
        get => _dimensions ?? (Rows == 1 ? [Columns] : [Rows, Columns]);
        init => _dimensions = value;
    }

    private readonly IReadOnlyList<int>? _dimensions;

    public string ShapeText => "[" + string.Join(", ", Dimensions) + "]";
}
