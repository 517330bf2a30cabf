using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using Simd.Kernels;
using Simd.Training;

namespace Simd.Cli;

/// <summary>
/// Options shared by several commands. Each factory returns a fresh option (a command owns its
/// options) with its help text and validation, so a bad value fails at parse time with one line.
/// </summary>
internal static class CommonOptions
{
    public static Option<string?> Data()
    {
        var option = new Option<string?>("--data")
        {
            Description = "Directory with the four MNIST IDX files (raw or .gz). Default: $MNIST_DIR, else the user cache (fetched on first use).",
            HelpName = "DIR",
        };
        // An empty value is a mistake (an unset shell variable), never a request for the default places.
        return Check(option, value => value is not null && string.IsNullOrWhiteSpace(value) ? "--data must name a directory (got an empty value)" : null);
    }

    /// <summary>
    /// Refuses an empty or blank path (an unset shell variable): "--model must name a file (got an empty value)".
    /// </summary>
    /// <param name="what">"a file" or "a directory".</param>
    public static Option<T> NonEmptyPath<T>(Option<T> option, string what) =>
        Check(option, value => value is string text && string.IsNullOrWhiteSpace(text) ? $"{option.Name} must name {what} (got an empty value)" : null);

    /// <summary>--output / -o: the SVG a drawing command writes (default <paramref name="defaultName"/>).</summary>
    public static Option<string> SvgOutput(string defaultName) => NonEmptyPath(new Option<string>("--output", "-o")
    {
        Description = "The SVG file to write.",
        DefaultValueFactory = _ => defaultName,
        HelpName = "FILE",
    }, "a file");

    /// <summary>Where the SVG of <paramref name="option"/> goes, checked before any work: links followed, a regular file in an existing directory, named .svg.</summary>
    /// <exception cref="UsageException">One line naming --output and the problem.</exception>
    public static string SvgTarget(ParseResult parseResult, Option<string> option) => OutputTarget(parseResult.GetValue(option)!, ".svg");

    /// <summary>
    /// Where --output <paramref name="path"/> goes, checked before any work: links followed, a regular file in an
    /// existing directory, named with <paramref name="extension"/> (<paramref name="hint"/> follows the refusal).
    /// </summary>
    /// <exception cref="UsageException">One line naming --output and the problem.</exception>
    public static string OutputTarget(string path, string extension, string hint = "")
    {
        string target;
        try
        {
            target = Training.Files.OutputFile.Target(path);
        }
        catch (Training.Files.OutputFileException e)
        {
            throw new UsageException($"--output {e.Message}");
        }

        return target.EndsWith(extension, StringComparison.OrdinalIgnoreCase) ? target : throw new UsageException($"--output {target}: the name must end in {extension}{hint}");
    }

    /// <summary>Refuses empty or blank paths among an argument's values.</summary>
    public static Argument<string[]> NonEmptyPaths(Argument<string[]> argument)
    {
        argument.Validators.Add(result =>
        {
            if (result.Tokens.Any(t => string.IsNullOrWhiteSpace(t.Value)))
            {
                result.AddError($"{argument.Name}: an empty file name (every {argument.Name} must name a file)");
            }
        });
        return argument;
    }

    public static Option<int> PositiveInt(string name, int defaultValue, string description)
    {
        var option = new Option<int>(name) { Description = description, DefaultValueFactory = _ => defaultValue, HelpName = "N" };
        option.CustomParser = result => ParseToken<int>(result, name, "a positive integer", text =>
            int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int v) ? v : null);
        return Check(option, value => value < 1 ? $"{name} must be a positive integer (got {value})" : null);
    }

    /// <summary>A number in invariant culture ("1e-3", "0.1", "nan", "Infinity"), or null.</summary>
    public static double? ParseDouble(string text) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) ? v : null;

    /// <summary>
    /// Parses an option's one token with <paramref name="parse"/>; a token that is not a number becomes the
    /// one-line error "NAME must be WHAT (got 'TEXT')" instead of the parser's type-name message.
    /// </summary>
    public static T ParseToken<T>(ArgumentResult result, string name, string what, Func<string, T?> parse)
        where T : struct
    {
        string text = result.Tokens.Count > 0 ? result.Tokens[^1].Value : "";
        if (parse(text) is { } value)
        {
            return value;
        }

        result.AddError($"{name} must be {what} (got '{text}')");
        return default;
    }

    /// <summary>
    /// Refuses a value that the chosen precision cannot hold: it overflows to infinity, or rounds to 0.
    /// (A double-valid --lr 1e39 is infinite in float32, and 1e-50 is 0 there.)
    /// </summary>
    public static void CheckRepresentable(string name, double value, Training.Precision precision)
    {
        if (precision != Training.Precision.Single || value == 0 || !double.IsFinite(value))
        {
            return;
        }

        float single = (float)value;
        if (float.IsInfinity(single))
        {
            throw new UsageException($"{name} {Format.Number(value)} is too large for single precision (at most {float.MaxValue.ToString("G3", CultureInfo.InvariantCulture)}); use a smaller value or --precision double");
        }

        if (single == 0)
        {
            throw new UsageException($"{name} {Format.Number(value)} rounds to 0 in single precision (the smallest is {float.Epsilon.ToString("G3", CultureInfo.InvariantCulture)}); use a larger value or --precision double");
        }
    }

    public static bool IsPositiveFinite(double value) => double.IsFinite(value) && value > 0;

    /// <summary>
    /// Adds a validator that reports <paramref name="problem"/>'s message as a parse error. A value that
    /// did not even convert (e.g. "--batch abc") already has the parser's own error, so it is not checked again.
    /// </summary>
    public static Option<T> Check<T>(Option<T> option, Func<T, string?> problem)
    {
        option.Validators.Add(result =>
        {
            T value;
            try
            {
                value = result.GetValueOrDefault<T>();
            }
            catch (InvalidOperationException)
            {
                return;
            }

            if (problem(value) is { } message)
            {
                result.AddError(message);
            }
        });
        return option;
    }

    /// <summary>The hidden layers: "50" (the ch. 4 network) or a list such as "100,100,100,100" (MultiLayerNet's hidden_size_list).</summary>
    public static Option<int[]> HiddenList()
    {
        var option = new Option<int[]>("--hidden")
        {
            Description = "Hidden layer sizes, comma-separated: 50 (the ch. 4 network, the default) or e.g. 100,100,100,100 (ch. 6's MultiLayerNet).",
            DefaultValueFactory = _ => [BookDefaults.HiddenSize],
            HelpName = "N[,N...]",
        };
        option.CustomParser = result =>
        {
            string text = result.Tokens.Count > 0 ? result.Tokens[^1].Value : "";
            if (NetworkOptionParsing.HiddenSizes(text) is { } sizes)
            {
                return sizes;
            }

            result.AddError($"--hidden must be positive integers separated by commas, like 50 or 100,100,100 (got '{text}')");
            return null;
        };
        return option;
    }

    /// <summary>--init: a standard deviation, xavier or he.</summary>
    public static Option<WeightInit> Init()
    {
        var option = new Option<WeightInit>("--init")
        {
            Description = "Initial weights: a standard deviation (0.01, the ch. 4 network's, is the default), xavier (sqrt(1/n_in), for sigmoid) or he (sqrt(2/n_in), for relu); biases start at 0.",
            DefaultValueFactory = _ => WeightInit.Book,
            HelpName = "STD|xavier|he",
        };
        option.CustomParser = result => ParseToken(result, "--init", "a positive number, xavier or he", NetworkOptionParsing.Init);
        return option;
    }

    /// <summary>--weight-decay λ (the book's weight_decay_lambda).</summary>
    public static Option<double> WeightDecay()
    {
        var option = new Option<double>("--weight-decay")
        {
            Description = "Weight decay λ: the loss gains ½λ·ΣW² over the weights (not the biases), their gradients λW (default 0: none).",
            DefaultValueFactory = _ => 0,
            HelpName = "X",
        };
        option.CustomParser = result => ParseToken(result, "--weight-decay", "a number", ParseDouble);
        return Check(option, value => double.IsFinite(value) && value >= 0 ? null : $"--weight-decay must be a finite number, 0 or more (got {Format.Number(value)})");
    }

    /// <summary>--dropout: the book's dropout ratio, 0 (none) up to but not including 1.</summary>
    public static Option<double> Dropout()
    {
        var option = new Option<double>("--dropout")
        {
            Description = "The book's Dropout after every hidden activation: in training each unit is dropped when its uniform number is not above RATIO; in inference every activation is scaled by 1 - RATIO (default 0: none).",
            DefaultValueFactory = _ => 0,
            HelpName = "RATIO",
        };
        option.CustomParser = result => ParseToken(result, "--dropout", "a number", ParseDouble);
        return Check(option, value => value is >= 0 and < 1 ? null : $"--dropout must be at least 0 and below 1 (got {Format.Number(value)})");
    }

    /// <summary>--lr: a positive finite number; absent, the optimizer's book default (see <see cref="OptimizerSettings.DefaultLearningRate"/>).</summary>
    public static Option<double?> LearningRate()
    {
        var option = new Option<double?>("--lr")
        {
            Description = "Learning rate (default: the book's for the optimizer: 0.1 for sgd as in ch. 4, 0.01 for momentum, nesterov, adagrad and rmsprop, 0.001 for adam).",
            HelpName = "X",
        };
        option.CustomParser = result => ParseToken<double>(result, "--lr", "a positive finite number", ParseDouble);
        return Check(option, value => value is not { } v || IsPositiveFinite(v) ? null : $"--lr must be a positive finite number (got {Format.Number(v)})");
    }

    /// <summary>--momentum of Momentum and Nesterov.</summary>
    public static Option<double> Momentum()
    {
        var option = new Option<double>("--momentum")
        {
            Description = "Momentum of the momentum and nesterov optimizers (the book: 0.9); 0 or more and below 1.",
            DefaultValueFactory = _ => OptimizerSettings.DefaultMomentum,
            HelpName = "X",
        };
        option.CustomParser = result => ParseToken<double>(result, "--momentum", "a number", ParseDouble);
        return Check(option, value => value is >= 0 and < 1 ? null : $"--momentum must be 0 or more and below 1 (got {Format.Number(value)})");
    }

    public static OptimizerKind ParseOptimizer(string value) => value.ToLowerInvariant() switch
    {
        "momentum" => OptimizerKind.Momentum,
        "nesterov" => OptimizerKind.Nesterov,
        "adagrad" => OptimizerKind.AdaGrad,
        "rmsprop" => OptimizerKind.RmsProp,
        "adam" => OptimizerKind.Adam,
        _ => OptimizerKind.Sgd,
    };

    /// <summary>The name the options use for an activation.</summary>

    /// <summary>--json: the command's report as one JSON object instead of text.</summary>
    public static Option<bool> Json() => new("--json") { Description = "Print the report as one JSON object (for machines) instead of text." };

    public static Option<ulong> Seed()
    {
        var option = new Option<ulong>("--seed")
        {
            Description = "Seed of the weight initialisation and batch sampling: the same seed gives the same run.",
            DefaultValueFactory = _ => BookDefaults.Seed,
            HelpName = "N",
        };
        option.CustomParser = result => ParseToken<ulong>(result, "--seed", $"an integer from 0 to {ulong.MaxValue}", text =>
            ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out ulong v) ? v : null);
        return option;
    }

    public static Option<int> Threads()
    {
        var option = new Option<int>("--threads")
        {
            Description = $"Worker threads sharing each step, the main thread included (default: the processor count, {Environment.ProcessorCount} here). Results are bitwise the same for any count.",
            DefaultValueFactory = _ => Environment.ProcessorCount,
            HelpName = "N",
        };
        option.CustomParser = result => ParseToken<int>(result, "--threads", $"an integer from 1 to {MaxThreads}", text =>
            int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int v) ? v : null);
        return Check(option, value => value is < 1 or > MaxThreads ? $"--threads must be between 1 and {MaxThreads} (got {value})" : null);
    }

    /// <summary>More threads than this is a typo, not a machine.</summary>
    public const int MaxThreads = 1024;

    public static Option<string> Activation() =>
        Choice("--activation", Training.Names.Of(Training.Activation.Sigmoid), "Hidden activation: sigmoid (the book's ch. 4) or relu (ch. 5).", [.. Training.Names.Activations]);

    public static Option<string> Precision(string defaultValue) =>
        Choice("--precision", defaultValue, "Floating-point precision: single (float32) or double (float64, as the book's numpy).", [.. Training.Names.Precisions]);

    public static Option<string?> Isa()
    {
        var option = new Option<string?>("--isa")
        {
            Description = $"Force a kernel path: {Kernels.Isa.AcceptedNames}. Default: ${Kernels.Isa.EnvironmentVariable}, else the widest this CPU supports.",
            HelpName = "PATH",
        };
        return Check(option, value =>
            Kernels.Isa.TryParse(value, out _) ? null : $"--isa: unknown ISA path '{value}' (expected {Kernels.Isa.AcceptedNames})");
    }

    /// <summary>A string option restricted to <paramref name="choices"/> (case-insensitive), with a one-line error.</summary>
    public static Option<string> Choice(string name, string defaultValue, string description, params string[] choices)
    {
        var option = new Option<string>(name)
        {
            Description = description,
            DefaultValueFactory = _ => defaultValue,
            HelpName = string.Join('|', choices),
        };
        return Check(option, value =>
            choices.Contains(value, StringComparer.OrdinalIgnoreCase) ? null : $"{name} must be one of {string.Join(", ", choices)} (got '{value}')");
    }

    public static Training.Activation ParseActivation(string value) =>
        Training.Names.ActivationNamed(value.ToLowerInvariant()) ?? Training.Activation.Sigmoid;

    public static Training.Precision ParsePrecision(string value) =>
        Training.Names.PrecisionNamed(value.ToLowerInvariant()) ?? Training.Precision.Single;

    /// <summary>The kernel path for this run (option, then SIMD_ISA, then the best); an unsupported one is a usage error.</summary>
    public static IsaPath ResolveIsa(string? requested)
    {
        string source = "--isa";
        string? text = requested;
        if (string.IsNullOrWhiteSpace(text))
        {
            text = Environment.GetEnvironmentVariable(Kernels.Isa.EnvironmentVariable);
            source = Kernels.Isa.EnvironmentVariable;
        }

        if (!Kernels.Isa.TryParse(text, out IsaPath? path))
        {
            throw new UsageException($"{source}: unknown ISA path '{text}' (expected {Kernels.Isa.AcceptedNames})");
        }

        if (path is not { } chosen)
        {
            return Kernels.Isa.Best;
        }

        if (!Kernels.Isa.IsSupported(chosen))
        {
            throw new UsageException(
                $"{source}: ISA path '{Kernels.Isa.Name(chosen)}' is not supported on this CPU/runtime " +
                $"(supported: {string.Join(", ", Kernels.Isa.Supported.Select(Kernels.Isa.Name))})");
        }

        return chosen;
    }
}
