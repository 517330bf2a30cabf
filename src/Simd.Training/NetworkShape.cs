using CommunityToolkit.HighPerformance;

namespace Simd.Training;

/// <summary>
/// Sizes of a fully connected network (the book's MultiLayerNet): an input, any number of hidden
/// layers, an output; and where each parameter lives in the one flat parameter buffer, in the book's
/// order W1, b1, W2, b2, ... (W_l [n_(l-1), n_l] row-major, b_l [n_l]) — the order the numerical
/// gradient walks them and model files store them. With batch normalization (MultiLayerNetExtend),
/// each hidden layer's γ and β follow its bias: W1, b1, gamma1, beta1, W2, ... The book's ch. 4
/// network is 784-50-10.
/// </summary>
public sealed class NetworkShape : IEquatable<NetworkShape>
{
    private readonly int[] _sizes;        // n_0 (input), n_1, ..., n_L (output)
    private readonly int[] _weightOffsets; // [L]
    private readonly int[] _biasOffsets;   // [L]
    private readonly int[] _gammaOffsets;  // [L - 1] with batch normalization; β follows γ

    /// <summary>One hidden layer: the book's MultiLayerNet.</summary>
    public NetworkShape(int inputSize, int hiddenSize, int outputSize)
        : this(inputSize, [hiddenSize], outputSize)
    {
    }

    /// <param name="hiddenSizes">The hidden layers, first to last (the book's hidden_size_list); may be empty.</param>
    /// <param name="batchNorm">Batch normalization before every hidden activation: γ and β for each hidden layer.</param>
    public NetworkShape(int inputSize, IReadOnlyList<int> hiddenSizes, int outputSize, bool batchNorm = false)
    {
        BatchNorm = batchNorm;
        ArgumentNullException.ThrowIfNull(hiddenSizes);
        _sizes = [inputSize, .. hiddenSizes, outputSize];
        if (_sizes.Any(size => size <= 0))
        {
            throw new ArgumentException($"network sizes must be positive ({string.Join("-", _sizes)})");
        }

        if (SizeProblem(_sizes) is { } problem)
        {
            throw new ArgumentException($"network too large: {problem}");
        }

        _weightOffsets = new int[LayerCount];
        _biasOffsets = new int[LayerCount];
        _gammaOffsets = new int[LayerCount - 1];
        long offset = 0;
        for (int l = 0; l < LayerCount; l++)
        {
            _weightOffsets[l] = (int)offset;
            offset += (long)_sizes[l] * _sizes[l + 1];
            _biasOffsets[l] = (int)offset;
            offset += _sizes[l + 1];
            if (batchNorm && l < LayerCount - 1)
            {
                _gammaOffsets[l] = (int)offset;
                offset += 2L * _sizes[l + 1];
            }
        }

        ParameterCount = (int)offset;
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

    public int InputSize => _sizes[0];

    public int OutputSize => _sizes[^1];

    /// <summary>The hidden layers' sizes, first to last.</summary>
    public IReadOnlyList<int> HiddenSizes => _sizes[1..^1];

    /// <summary>Affine layers: hidden layers + 1 (the output layer).</summary>
    public int LayerCount => _sizes.Length - 1;

    /// <summary>The widest layer output (hidden or output): the size of a row of scratch that any layer's output fits in.</summary>
    public int MaxOutputWidth => _sizes[1..].Max();

    /// <summary>All parameters: 784*50 + 50 + 50*10 + 10 = 39,760 for the book's sizes.</summary>
    public int ParameterCount { get; }

    /// <summary>Inputs of affine layer <paramref name="layer"/> (0-based): n_(layer).</summary>
    public int InputsOf(int layer) => _sizes[layer];

    /// <summary>Outputs of affine layer <paramref name="layer"/> (0-based): n_(layer+1).</summary>
    public int OutputsOf(int layer) => _sizes[layer + 1];

    public int WeightOffset(int layer) => _weightOffsets[layer];

    public int WeightLength(int layer) => _sizes[layer] * _sizes[layer + 1];

    public int BiasOffset(int layer) => _biasOffsets[layer];

    /// <summary>Batch normalization before every hidden activation (the book's use_batchnorm).</summary>
    public bool BatchNorm { get; }

    /// <summary>Where γ of hidden layer <paramref name="layer"/> starts (batch normalization only); β follows it.</summary>
    public int GammaOffset(int layer) => BatchNorm && layer < LayerCount - 1
        ? _gammaOffsets[layer]
        : throw new ArgumentOutOfRangeException(nameof(layer), layer, "only hidden layers of a network with batch normalization have γ and β");

    public int BetaOffset(int layer) => GammaOffset(layer) + OutputsOf(layer);

    /// <summary>W of layer <paramref name="layer"/> (0-based) inside a parameter (or gradient, or state) buffer: [n_in, n_out].</summary>
    public Span2D<T> Weights<T>(Span<T> parameters, int layer) =>
        parameters.Slice(WeightOffset(layer), WeightLength(layer)).AsSpan2D(InputsOf(layer), OutputsOf(layer));

    /// <inheritdoc cref="Weights{T}(Span{T}, int)"/>
    public ReadOnlySpan2D<T> Weights<T>(ReadOnlySpan<T> parameters, int layer) =>
        parameters.Slice(WeightOffset(layer), WeightLength(layer)).AsSpan2D(InputsOf(layer), OutputsOf(layer));

    /// <summary>b of layer <paramref name="layer"/> (0-based): [n_out].</summary>
    public Span<T> Bias<T>(Span<T> parameters, int layer) => parameters.Slice(BiasOffset(layer), OutputsOf(layer));

    /// <inheritdoc cref="Bias{T}(Span{T}, int)"/>
    public ReadOnlySpan<T> Bias<T>(ReadOnlySpan<T> parameters, int layer) => parameters.Slice(BiasOffset(layer), OutputsOf(layer));

    /// <summary>The parameter tensors in buffer order (W1, b1, [gamma1, beta1,] W2, b2, ...), with their offsets and shapes.</summary>
    public IReadOnlyList<ParameterTensor> Tensors =>
    [
        .. Enumerable.Range(0, LayerCount).SelectMany(l => (ParameterTensor[])
        [
            new($"W{l + 1}", WeightOffset(l), InputsOf(l), OutputsOf(l)),
            new($"b{l + 1}", BiasOffset(l), 1, OutputsOf(l)),
            .. BatchNorm && l < LayerCount - 1
                ? (ParameterTensor[])[new($"gamma{l + 1}", GammaOffset(l), 1, OutputsOf(l)), new($"beta{l + 1}", BetaOffset(l), 1, OutputsOf(l))]
                : [],
        ]),
    ];

    /// <summary>"784-100-100-10", with " batchnorm" when it has it.</summary>
    public override string ToString() => string.Join("-", _sizes) + (BatchNorm ? " batchnorm" : "");

    public bool Equals(NetworkShape? other) => other is not null && _sizes.AsSpan().SequenceEqual(other._sizes) && BatchNorm == other.BatchNorm;

    public override bool Equals(object? obj) => Equals(obj as NetworkShape);

    public override int GetHashCode() => ToString().GetHashCode(StringComparison.Ordinal);
}

/// <summary>One named parameter tensor inside the flat buffer.</summary>
public readonly record struct ParameterTensor(string Name, int Offset, int Rows, int Columns)
{
    public int Length => Rows * Columns;

    public string ShapeText => Rows == 1 ? $"[{Columns}]" : $"[{Rows}, {Columns}]";
}
