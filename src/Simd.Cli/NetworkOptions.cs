using System.CommandLine;
using System.Globalization;
using Simd.Mnist;
using Simd.Training;

namespace Simd.Cli;

/// <summary>The network a command builds, as its options give it: the one place MNIST's sizes meet the hidden layers.</summary>
internal sealed record NetworkSpec(int[] Hidden, Activation Activation, WeightInit Init, double WeightDecay, double Dropout = 0, bool BatchNorm = false)
{
    public NetworkShape Shape => new(MnistFiles.PixelsPerImage, Hidden, MnistFiles.ClassCount, BatchNorm);

    /// <summary>The layers: Affine → [BatchNormalization] → activation → [Dropout] per hidden size, then the output Affine.</summary>
    public Training.Layers.LayerStack Stack => Training.Layers.LayerStack.FullyConnected(MnistFiles.PixelsPerImage, Hidden, MnistFiles.ClassCount, Activation, BatchNorm, Dropout);

    /// <summary>"784-100-100-10 relu, init he, weight decay 0.1".</summary>
    public string Describe() =>
        $"{string.Join("-", [MnistFiles.PixelsPerImage, .. Hidden, MnistFiles.ClassCount])} {Names.Of(Activation)}, init {Init}" +
        (WeightDecay == 0 ? "" : $", weight decay {Format.Number(WeightDecay)}") +
        (Dropout == 0 ? "" : $", dropout {Format.Number(Dropout)}") +
        (BatchNorm ? ", batch normalization" : "");
}

/// <summary>
/// The options that define the network, shared by <c>train</c>, <c>gradcheck</c> and <c>compare</c>:
/// --hidden, --activation, --init, --weight-decay (the book's MultiLayerNet arguments).
/// </summary>
internal sealed class NetworkOptions
{
    public Option<int[]> Hidden { get; } = CommonOptions.HiddenList();

    public Option<string> Activation { get; } = CommonOptions.Activation();

    public Option<WeightInit> Init { get; } = CommonOptions.Init();

    public Option<double> WeightDecay { get; } = CommonOptions.WeightDecay();

    public Option<double> Dropout { get; } = CommonOptions.Dropout();

    public Option<bool> BatchNorm { get; } = new("--batchnorm")
    {
        Description = "The book's BatchNormalization before every hidden activation (γ = 1, β = 0 at first, trained; momentum 0.9 running mean and variance for inference).",
    };

    public IEnumerable<Option> All => [Hidden, Activation, Init, WeightDecay, Dropout, BatchNorm];

    public NetworkSpec Read(ParseResult parseResult) => new(
        parseResult.GetValue(Hidden)!,
        CommonOptions.ParseActivation(parseResult.GetValue(Activation)!),
        parseResult.GetValue(Init),
        parseResult.GetValue(WeightDecay),
        parseResult.GetValue(Dropout),
        parseResult.GetValue(BatchNorm));

    /// <summary>Adds the options to <paramref name="command"/>.</summary>
    public void AddTo(Command command)
    {
        foreach (Option option in All)
        {
            command.Options.Add(option);
        }
    }
}

/// <summary>Parsing of the network options' values.</summary>
internal static class NetworkOptionParsing
{
    /// <summary>"50" or "100,100,100": positive integers separated by commas.</summary>
    public static int[]? HiddenSizes(string text)
    {
        string[] parts = text.Split(',', StringSplitOptions.TrimEntries);
        var sizes = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
        {
            if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out sizes[i]) || sizes[i] < 1)
            {
                return null;
            }
        }

        return parts.Length == 0 ? null : sizes;
    }

    /// <summary>"xavier", "he", or a positive standard deviation such as "0.01".</summary>
    public static WeightInit? Init(string text) =>
        text.ToLowerInvariant() switch
        {
            "xavier" or "sigmoid" => WeightInit.Xavier,
            "he" or "relu" => WeightInit.He,
            _ => CommonOptions.ParseDouble(text) is { } std && double.IsFinite(std) && std > 0
                ? new WeightInit(WeightInitKind.StandardDeviation, std)
                : null,
        };
}
