namespace Simd.Training;

/// <summary>How the initial weights are scaled (multi_layer_net.py's weight_init_std).</summary>
public enum WeightInitKind
{
    /// <summary>A fixed standard deviation (the ch. 4 network: 0.01).</summary>
    StandardDeviation,

    /// <summary>Xavier: √(1 / n_in), for sigmoid.</summary>
    Xavier,

    /// <summary>He: √(2 / n_in), for ReLU.</summary>
    He,
}

/// <summary>Initial weights: W = std·N(0, 1) with std by <see cref="Kind"/>, biases 0.</summary>
public readonly record struct WeightInit(WeightInitKind Kind, double Value = 0)
{
    /// <summary>The book's ch. 4 default: 0.01.</summary>
    public static WeightInit Book => new(WeightInitKind.StandardDeviation, BookDefaults.WeightInitStd);

    public static WeightInit Xavier => new(WeightInitKind.Xavier);

    public static WeightInit He => new(WeightInitKind.He);

    /// <summary>The standard deviation of a layer with <paramref name="inputs"/> inputs (its fan-in).</summary>
    public double StandardDeviation(int inputs) => Kind switch
    {
        WeightInitKind.Xavier => Math.Sqrt(1.0 / inputs),
        WeightInitKind.He => Math.Sqrt(2.0 / inputs),
        _ => Value,
    };

    public override string ToString() => Kind switch
    {
        WeightInitKind.Xavier => "xavier",
        WeightInitKind.He => "he",
        _ => Value.ToString("G", System.Globalization.CultureInfo.InvariantCulture),
    };
}
