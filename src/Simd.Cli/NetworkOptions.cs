using System.CommandLine;
using System.Globalization;
using Simd.Mnist;
using Simd.Training;
using Simd.Training.Layers;

namespace Simd.Cli;

/// <summary>The network a command builds, as its options give it: the one place MNIST's sizes meet the hidden layers.</summary>
/// <param name="Layers">The whole stack in the <c>--layers</c> grammar (from --layers or --net), or null for the fully connected shorthand.</param>
internal sealed record NetworkSpec(int[] Hidden, Activation Activation, WeightInit Init, double WeightDecay, double Dropout = 0, bool BatchNorm = false, string? Layers = null)
{
    public NetworkShape Shape => Stack.Shape;

    /// <summary>The layers: <see cref="Layers"/>, else Affine → [BatchNormalization] → activation → [Dropout] per hidden size, then the output Affine.</summary>
    public LayerStack Stack => Layers is not null
        ? LayerStack.Parse(Layers, LayerStack.MnistImage)
        : LayerStack.FullyConnected(MnistFiles.PixelsPerImage, Hidden, MnistFiles.ClassCount, Activation, BatchNorm, Dropout);

    /// <summary>"784-100-100-10 relu, init he, weight decay 0.1", or "conv30x5-relu-pool2-affine100-relu-affine10 on 1x28x28, init 0.01".</summary>
    public string Describe() =>
        (Layers is not null
            ? $"{Layers} on {LayerStack.MnistImage}, init {Init}"
            : $"{string.Join("-", [MnistFiles.PixelsPerImage, .. Hidden, MnistFiles.ClassCount])} {Names.Of(Activation)}, init {Init}") +
        (WeightDecay == 0 ? "" : $", weight decay {Format.Number(WeightDecay)}") +
        (Dropout == 0 ? "" : $", dropout {Format.Number(Dropout)}") +
        (BatchNorm ? ", batch normalization" : "");
}

/// <summary>
/// --net and --layers: a network by name (two-layer, simple-convnet, deep-convnet) or as a stack of the book's layers; shared by the
/// commands that build a network and those that read one (a file without its layers, as the book's np.savez and pickles).
/// </summary>
internal sealed class LayerOptions
{
    public Option<string?> Net { get; } = CommonOptions.Check(
        new Option<string?>("--net")
        {
            Description = "A network of the book's: two-layer (ch. 4's 784-50-10, the default), simple-convnet (ch. 7: conv30x5-relu-pool2-affine100-relu-affine10) " +
                "or deep-convnet (ch. 8: six 3x3 convolutions 16-16-32-32-64-64 with ReLU, a 2x2 pooling after every second, affine50-relu-dropout0.5-affine10-dropout0.5; He initial weights).",
            HelpName = string.Join("|", LayerStack.Names),
        },
        value => value is null || LayerStack.Named(value) is not null ? null : $"--net must be one of {string.Join(", ", LayerStack.Names)} (got '{value}')");

    public Option<string?> Layers { get; } = new("--layers")
    {
        Description = "Any stack of the book's layers joined by '-': conv<N>x<K>[s<S>][p<P>], pool<K>[s<S>] (max), affine<N>, relu, sigmoid, batchnorm, dropout<R>; " +
            "the last affine10 gives the classes, softmax with loss follows. conv30x5-relu-pool2-affine100-relu-affine10 is --net simple-convnet.",
        HelpName = "SPEC",
    };

    public IEnumerable<Option> All => [Net, Layers];

    /// <summary>The stack --layers or --net names (null: neither, or --net two-layer, the fully connected shorthand).</summary>
    /// <exception cref="UsageException">Both given, or a spec that cannot be built: one line naming the layer.</exception>
    public LayerStack? Read(ParseResult parseResult)
    {
        string? net = parseResult.GetValue(Net), layers = parseResult.GetValue(Layers);
        if (net is not null && layers is not null)
        {
            throw new UsageException("--net and --layers both name the network; give one");
        }

        if (layers is not null)
        {
            try
            {
                return LayerStack.Parse(layers, LayerStack.MnistImage) is { OutputSize: MnistFiles.ClassCount } stack
                    ? stack
                    : throw new UsageException($"--layers {layers}: the last affine layer gives MNIST's {MnistFiles.ClassCount} classes (end with affine{MnistFiles.ClassCount})");
            }
            catch (LayerSpecException e)
            {
                throw new UsageException($"--layers {layers}: {e.Message}");
            }
        }

        return net is null or "two-layer" ? null : LayerStack.Named(net);
    }
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

    public LayerOptions Stack { get; } = new();

    public IEnumerable<Option> All => [.. Stack.All, Hidden, Activation, Init, WeightDecay, Dropout, BatchNorm];

    /// <exception cref="UsageException">--net or --layers with an option of the fully connected shorthand, or a bad spec.</exception>
    public NetworkSpec Read(ParseResult parseResult)
    {
        LayerStack? stack = Stack.Read(parseResult);
        if (stack is not null)
        {
            foreach (Option shorthand in (Option[])[Hidden, Activation, Dropout, BatchNorm])
            {
                if (parseResult.GetResult(shorthand) is System.CommandLine.Parsing.OptionResult { Implicit: false })
                {
                    throw new UsageException($"{shorthand.Name} shapes a fully connected network; with --net or --layers write it in the layers (relu, batchnorm, dropout0.5, affine100)");
                }
            }
        }

        // A named network starts from the book's initial weights for it (He's for deep-convnet) unless --init says otherwise.
        string? net = parseResult.GetValue(Stack.Net);
        WeightInit init = parseResult.GetResult(Init) is System.CommandLine.Parsing.OptionResult { Implicit: false } || net is null
            ? parseResult.GetValue(Init)
            : LayerStack.NamedInit(net) ?? parseResult.GetValue(Init);
        return new NetworkSpec(
            parseResult.GetValue(Hidden)!,
            CommonOptions.ParseActivation(parseResult.GetValue(Activation)!),
            init,
            parseResult.GetValue(WeightDecay),
            parseResult.GetValue(Dropout),
            parseResult.GetValue(BatchNorm),
            stack?.ToString());
    }

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
