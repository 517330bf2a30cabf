using System.CommandLine;
using Simd.Kernels;
using Simd.Training;

namespace Simd.Cli;

/// <summary>
/// Options shared by several commands. Each factory returns a fresh option (a command owns its
/// options) with its help text and validation, so a bad value fails at parse time with one line.
/// </summary>
internal static class CommonOptions
{
    public static Option<string?> Data() => new("--data")
    {
        Description = "Directory with the four MNIST IDX files (raw or .gz). Default: $MNIST_DIR, else the user cache (fetched on first use).",
        HelpName = "DIR",
    };

    public static Option<int> PositiveInt(string name, int defaultValue, string description)
    {
        var option = new Option<int>(name) { Description = description, DefaultValueFactory = _ => defaultValue, HelpName = "N" };
        return Check(option, value => value < 1 ? $"{name} must be a positive integer (got {value})" : null);
    }

    public static Option<double> PositiveFinite(string name, double defaultValue, string description)
    {
        var option = new Option<double>(name) { Description = description, DefaultValueFactory = _ => defaultValue, HelpName = "X" };
        return Check(option, value => IsPositiveFinite(value) ? null : $"{name} must be a positive finite number (got {Format.Number(value)})");
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

    public static Option<int> Hidden() =>
        PositiveInt("--hidden", BookDefaults.HiddenSize, "Hidden layer size (the book: 50).");

    public static Option<ulong> Seed() => new("--seed")
    {
        Description = "Seed of the weight initialisation and batch sampling: the same seed gives the same run.",
        DefaultValueFactory = _ => BookDefaults.Seed,
        HelpName = "N",
    };

    public static Option<int> Threads()
    {
        var option = new Option<int>("--threads")
        {
            Description = $"Worker threads sharing each step, the main thread included (default: the processor count, {Environment.ProcessorCount} here). Results are bitwise the same for any count.",
            DefaultValueFactory = _ => Environment.ProcessorCount,
            HelpName = "N",
        };
        return Check(option, value => value is < 1 or > MaxThreads ? $"--threads must be between 1 and {MaxThreads} (got {value})" : null);
    }

    /// <summary>More threads than this is a typo, not a machine.</summary>
    public const int MaxThreads = 1024;

    public static Option<string> Activation() =>
        Choice("--activation", "sigmoid", "Hidden activation: sigmoid (the book's ch. 4) or relu (ch. 5).", "sigmoid", "relu");

    public static Option<string> Precision(string defaultValue) =>
        Choice("--precision", defaultValue, "Floating-point precision: single (float32) or double (float64, as the book's numpy).", "single", "double");

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
        value.Equals("relu", StringComparison.OrdinalIgnoreCase) ? Training.Activation.Relu : Training.Activation.Sigmoid;

    public static Training.Precision ParsePrecision(string value) =>
        value.Equals("double", StringComparison.OrdinalIgnoreCase) ? Training.Precision.Double : Training.Precision.Single;

    /// <summary>The kernel path for this run (option, then SIMD_ISA, then the best); an unsupported one is a usage error.</summary>
    public static IsaPath ResolveIsa(string? requested)
    {
        try
        {
            return Kernels.Isa.Resolve(requested);
        }
        catch (ArgumentException e)
        {
            throw new UsageException(e.Message);
        }
    }
}
