namespace Simd.Training;

/// <summary>
/// Sizes of the two-layer network and where each parameter lives in the one flat parameter buffer:
/// W1 [input, hidden], b1 [hidden], W2 [hidden, output], b2 [output], in that order, row-major —
/// the order the numerical gradient walks them.
/// </summary>
public readonly record struct NetworkShape(int InputSize, int HiddenSize, int OutputSize)
{
    /// <summary>The book's network: 784 -> 50 -> 10.</summary>
    public static NetworkShape Book => new(784, 50, 10);

    public const int W1Offset = 0;

    public int W1Length => InputSize * HiddenSize;

    public int B1Offset => W1Length;

    public int B2Offset => W2Offset + W2Length;

    public int W2Offset => B1Offset + HiddenSize;

    public int W2Length => HiddenSize * OutputSize;

    /// <summary>All parameters: 784*50 + 50 + 50*10 + 10 = 39,760 for the book's sizes.</summary>
    public int ParameterCount => B2Offset + OutputSize;

    /// <summary>The parameter tensors in buffer order, with their offsets and lengths.</summary>
    public IReadOnlyList<ParameterTensor> Tensors =>
    [
        new("W1", W1Offset, InputSize, HiddenSize),
        new("b1", B1Offset, 1, HiddenSize),
        new("W2", W2Offset, HiddenSize, OutputSize),
        new("b2", B2Offset, 1, OutputSize),
    ];

    /// <summary>W1 inside a parameter (or gradient) buffer: [input, hidden].</summary>
    public Span<T> W1<T>(Span<T> parameters) => parameters.Slice(W1Offset, W1Length);

    /// <summary>b1 inside a parameter buffer: [hidden].</summary>
    public Span<T> B1<T>(Span<T> parameters) => parameters.Slice(B1Offset, HiddenSize);

    /// <summary>W2 inside a parameter buffer: [hidden, output].</summary>
    public Span<T> W2<T>(Span<T> parameters) => parameters.Slice(W2Offset, W2Length);

    /// <summary>b2 inside a parameter buffer: [output].</summary>
    public Span<T> B2<T>(Span<T> parameters) => parameters.Slice(B2Offset, OutputSize);

    /// <inheritdoc cref="W1{T}(Span{T})"/>
    public ReadOnlySpan<T> W1<T>(ReadOnlySpan<T> parameters) => parameters.Slice(W1Offset, W1Length);

    /// <inheritdoc cref="B1{T}(Span{T})"/>
    public ReadOnlySpan<T> B1<T>(ReadOnlySpan<T> parameters) => parameters.Slice(B1Offset, HiddenSize);

    /// <inheritdoc cref="W2{T}(Span{T})"/>
    public ReadOnlySpan<T> W2<T>(ReadOnlySpan<T> parameters) => parameters.Slice(W2Offset, W2Length);

    /// <inheritdoc cref="B2{T}(Span{T})"/>
    public ReadOnlySpan<T> B2<T>(ReadOnlySpan<T> parameters) => parameters.Slice(B2Offset, OutputSize);

    /// <summary>Throws when a size is not positive.</summary>
    public void Validate()
    {
        if (InputSize <= 0 || HiddenSize <= 0 || OutputSize <= 0)
        {
            throw new ArgumentException($"network sizes must be positive (input {InputSize}, hidden {HiddenSize}, output {OutputSize})");
        }

        if ((long)InputSize * HiddenSize > int.MaxValue / 4)
        {
            throw new ArgumentException($"network too large: {InputSize} x {HiddenSize} weights");
        }
    }

    public override string ToString() => $"{InputSize}-{HiddenSize}-{OutputSize}";
}

/// <summary>One named parameter tensor inside the flat buffer.</summary>
public readonly record struct ParameterTensor(string Name, int Offset, int Rows, int Columns)
{
    public int Length => Rows * Columns;

    public string ShapeText => Rows == 1 ? $"[{Columns}]" : $"[{Rows}, {Columns}]";
}
