using System.Globalization;
using System.Numerics;
using System.Text;
using Simd.Training.Files;

namespace Simd.Training.Models;

/// <summary>
/// Everything a training run needs to continue bitwise as if never stopped, read from a checkpoint file:
/// the model (parameters and metadata), the run's options, the steps taken, the optimizer's state and
/// step count, the batch sampler's random state and the next batch (drawn a step ahead).
/// </summary>
public sealed record Checkpoint(
    Model Model, TrainingOptions Options, CheckpointProgress Progress, long Updates, ulong[] Sampler, int[] NextBatch, NpyArray State1, NpyArray State2);

/// <summary>How far a run got: steps taken, and the loss sum and step count since its last evaluation row (the next row's mean).</summary>
public readonly record struct CheckpointProgress(int Iteration, double EpochLoss, int EpochSteps);

/// <summary>
/// A checkpoint as a model file with more simd_* arrays: it loads wherever a model does (eval, predict,
/// numpy), and <see cref="Read"/> gets the rest back. Written atomically, like every model file.
/// </summary>
public static class CheckpointFile
{
    /// <summary>The checkpoint's name inside a checkpoint directory.</summary>
    public const string FileName = "checkpoint.npz";

    public const string TrainingName = ModelFile.MetadataPrefix + "training";
    public const string IterationName = ModelFile.MetadataPrefix + "iteration";
    public const string EpochLossName = ModelFile.MetadataPrefix + "epoch_loss";
    public const string EpochStepsName = ModelFile.MetadataPrefix + "epoch_steps";
    public const string UpdatesName = ModelFile.MetadataPrefix + "updates";
    public const string SamplerName = ModelFile.MetadataPrefix + "sampler";
    public const string NextBatchName = ModelFile.MetadataPrefix + "next_batch";
    public const string State1Name = ModelFile.MetadataPrefix + "state1";
    public const string State2Name = ModelFile.MetadataPrefix + "state2";

    private static readonly string[] ArrayNames = [TrainingName, IterationName, EpochLossName, EpochStepsName, UpdatesName, SamplerName, NextBatchName, State1Name, State2Name];

    /// <summary>Whether <paramref name="name"/> is one of a checkpoint's own arrays (a model reader skips them).</summary>
    public static bool IsCheckpointArray(string name) => ArrayNames.Contains(name);

    /// <summary>Writes a trainer's state to <paramref name="path"/>, replacing it atomically.</summary>
    internal static string Write<T>(string path, MultiLayerNet<T> network, TrainingOptions options, CheckpointProgress progress, ulong[] sampler, ReadOnlySpan<int> nextBatch)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        string text = OptionsText(options);
        int p = network.Shape.ParameterCount;
        return Npz.Write(path,
        [
            .. ModelFile.ParameterArrays(network),
            .. ModelFile.MetadataArrays(network, OptionsLine(options)),
            NpyArray.Text(TrainingName, text),
            NpyArray.Int64Scalar(IterationName, progress.Iteration),
            NpyArray.Floating<double>(EpochLossName, [progress.EpochLoss]),
            NpyArray.Int64Scalar(EpochStepsName, progress.EpochSteps),
            NpyArray.Int64Scalar(UpdatesName, network.Updates),
            NpyArray.UInt64s(SamplerName, sampler),
            NpyArray.Int32s(NextBatchName, nextBatch),
            NpyArray.Floating<T>(State1Name, network.Workspace.OptimizerState1[..p], p),
            NpyArray.Floating<T>(State2Name, network.Workspace.OptimizerState2[..p], p),
        ]);
    }

    /// <summary>Reads and checks a checkpoint: a valid model, and every checkpoint array present and consistent with it.</summary>
    /// <exception cref="ModelFileException">One line naming the file and what is wrong or missing.</exception>
    /// <param name="cancellationToken">Checked while the file is read (Ctrl+C during a long load).</param>
    public static Checkpoint Read(string path, CancellationToken cancellationToken = default)
    {
        Model model = ModelFile.Parse(path, Npz.Read(path, ModelFile.Refusal(IsCheckpointArray), cancellationToken), IsCheckpointArray);
        string file = model.Path;
        NpyArray Get(string name) => model.Metadata.TryGetValue(name, out NpyArray? array)
            ? array
            : throw new ModelFileException($"{file}: not a checkpoint ({name} is missing; a model file saved with --save cannot be resumed)");

        TrainingOptions options = ParseOptions(file, Text(file, Get(TrainingName)));
        if (options.Layers is not null)
        {
            // A fully connected stack the shapes rebuild is not stored as layers (ModelFile.KnownFromShapes).
            string held = (model.Stack ?? model.StackWith(model.Activation ?? Activation.Sigmoid)).ToString();
            if (held != options.Layers)
            {
                throw new ModelFileException($"{file}: its options say layers={Printable.Value(options.Layers)} but its arrays hold {held}");
            }
        }
        else
        {
            if (!options.HiddenSizes.SequenceEqual(model.Shape.HiddenSizes))
            {
                throw new ModelFileException($"{file}: its options give hidden layers {string.Join(",", options.HiddenSizes)} but its weights {string.Join(",", model.Shape.HiddenSizes)}");
            }

            // Every array the options imply, both ways, and the model's own metadata agreeing with the options:
            // resume takes one, eval and predict the other.
            if (options.BatchNorm != model.Shape.BatchNorm)
            {
                throw new ModelFileException(options.BatchNorm
                    ? $"{file}: its options say batchnorm=true but it holds no gamma and beta arrays"
                    : $"{file}: its options say batchnorm=false but it holds gamma and beta arrays");
            }

            if (model.Activation is { } activation && activation != options.Activation)
            {
                throw new ModelFileException($"{file}: {ModelFile.ActivationName} says {Names.Of(activation)} but its options say activation={Names.Of(options.Activation)}");
            }

            if (model.Dropout != options.Dropout)
            {
                throw new ModelFileException(string.Create(CultureInfo.InvariantCulture,
                    $"{file}: {ModelFile.DropoutName} says {model.Dropout:R} but its options say dropout={options.Dropout:R}"));
            }
        }

        if (model.Precision == Precision.Single)
        {
            OptimizerSettings o = options.Optimizer;
            foreach ((string key, double value) in (ReadOnlySpan<(string, double)>)[("lr", o.LearningRate), ("momentum", o.Momentum), ("decay_rate", o.DecayRate), ("beta1", o.Beta1), ("beta2", o.Beta2), ("weight_decay", options.WeightDecay)])
            {
                if (!float.IsFinite((float)value))
                {
                    throw new ModelFileException(string.Create(CultureInfo.InvariantCulture,
                        $"{file}: {TrainingName} has {key}={value:R}, which is infinite in the run's single precision"));
                }
            }
        }

        long iteration = Scalar(file, Get(IterationName));
        long updates = Scalar(file, Get(UpdatesName));
        long epochSteps = Scalar(file, Get(EpochStepsName));
        if (iteration < 0 || iteration > options.Iterations || updates < 0 || updates > iteration || epochSteps < 0 || epochSteps > iteration)
        {
            throw new ModelFileException($"{file}: iteration {iteration}, {updates} updates and {epochSteps} steps since the last evaluation do not fit a run of {options.Iterations} iterations");
        }

        NpyArray epochLossArray = Get(EpochLossName);
        double epochLoss = epochLossArray is { Type: NpyType.Float64, Count: 1 } && epochLossArray.Shape.Count == 0
            ? epochLossArray.ToFloating<double>()[0]
            : throw new ModelFileException($"{file}: {EpochLossName} holds {epochLossArray.Descr} {epochLossArray.ShapeText}, not one float64");

        ulong[] sampler = Get(SamplerName) is { Type: NpyType.UInt64, Count: 4 } s && s.ToUInt64s() is { } words && words.Any(w => w != 0)
            ? words
            : throw new ModelFileException($"{file}: {SamplerName} is not a generator's state (4 uint64 words, not all zero)");
        NpyArray next = Get(NextBatchName);
        int[] nextBatch = next is { Type: NpyType.Int32 } && next.Shape.Count == 1 && next.Count == options.BatchSize
            ? next.ToInt32s()
            : throw new ModelFileException($"{file}: {NextBatchName} holds {next.Descr} {next.ShapeText}, not the next batch's {options.BatchSize} indices");
        NpyArray state1 = Get(State1Name), state2 = Get(State2Name);
        foreach (NpyArray state in (ReadOnlySpan<NpyArray>)[state1, state2])
        {
            if (state.Type != model.Parameters[0].Type || state.Shape.Count != 1 || state.Count != model.Shape.ParameterCount)
            {
                throw new ModelFileException($"{file}: {state.Name} holds {state.Descr} {state.ShapeText}; the optimizer state is ({model.Shape.ParameterCount},) of {model.Parameters[0].Descr}");
            }

            ModelFile.CheckFinite(file, state);
        }

        return new Checkpoint(model, options, new CheckpointProgress((int)iteration, epochLoss, (int)epochSteps), updates, sampler, nextBatch, state1, state2);
    }

    /// <summary><see cref="OptionsText"/> on one line: a model file's simd_options.</summary>
    public static string OptionsLine(TrainingOptions options) => OptionsText(options).Replace('\n', ' ');

    /// <summary>The options that decide a run's numbers, one "key=value" a line (doubles round-trip exactly).</summary>
    public static string OptionsText(TrainingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        CultureInfo inv = CultureInfo.InvariantCulture;
        OptimizerSettings o = options.Optimizer;
        var text = new StringBuilder();
        text.Append(inv, $"iterations={options.Iterations}\n");
        text.Append(inv, $"batch={options.BatchSize}\n");
        text.Append(inv, $"hidden={string.Join(",", options.HiddenSizes)}\n");
        text.Append(inv, $"activation={Names.Of(options.Activation)}\n");
        text.Append(inv, $"init={options.Init}\n");
        text.Append(inv, $"optimizer={o.Kind}\n");
        text.Append(inv, $"lr={o.LearningRate:R}\nmomentum={o.Momentum:R}\ndecay_rate={o.DecayRate:R}\nbeta1={o.Beta1:R}\nbeta2={o.Beta2:R}\n");
        text.Append(inv, $"weight_decay={options.WeightDecay:R}\n");
        text.Append(inv, $"dropout={options.Dropout:R}\n");
        text.Append(inv, $"batchnorm={(options.BatchNorm ? "true" : "false")}\n");
        text.Append(inv, $"gradient={options.Gradient}\n");
        if (options.Layers is { } layers)
        {
            text.Append(inv, $"layers={layers}\n");
        }

        if (options.EvaluationImages is { } evaluated)
        {
            text.Append(inv, $"eval_images={evaluated}\n");
        }

        text.Append(inv, $"seed={options.Seed}");
        return text.ToString();
    }

    private static TrainingOptions ParseOptions(string file, string text)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            int equals = line.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                throw new ModelFileException($"{file}: {TrainingName} has a line without key=value: '{line}'");
            }

            values[line[..equals]] = line[(equals + 1)..];
        }

        string Value(string key) => values.TryGetValue(key, out string? v) ? v : throw new ModelFileException($"{file}: {TrainingName} lacks {key}");
        T Parse<T>(string key, Func<string, T?> parse)
            where T : struct
            => parse(Value(key)) ?? throw new ModelFileException($"{file}: {TrainingName} has {key}={Value(key)}, which is not valid");
        static double? Number(string s) => double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) ? v : null;
        static int? Integer(string s) => int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out int v) && v > 0 ? v : null;
        static TEnum? Enum<TEnum>(string s)
            where TEnum : struct, System.Enum
            => System.Enum.TryParse(s, ignoreCase: false, out TEnum v) && System.Enum.IsDefined(v) ? v : null;

        int[] hidden = Value("hidden").Split(',').Select(h => Integer(h) ?? throw new ModelFileException($"{file}: {TrainingName} has hidden={Value("hidden")}")).ToArray();
        string init = Value("init");
        WeightInit weightInit = init switch
        {
            "xavier" => WeightInit.Xavier,
            "he" => WeightInit.He,
            _ => new WeightInit(WeightInitKind.StandardDeviation, Parse("init", Number)),
        };
        var options = new TrainingOptions
        {
            Iterations = Parse("iterations", Integer),
            BatchSize = Parse("batch", Integer),
            HiddenSizes = hidden,
            Activation = Names.ActivationNamed(Value("activation")) ?? throw new ModelFileException($"{file}: {TrainingName} has activation={Printable.Value(Value("activation"))}"),
            Init = weightInit,
            Optimizer = new OptimizerSettings(Parse("optimizer", Enum<OptimizerKind>), Parse("lr", Number))
            {
                Momentum = Parse("momentum", Number),
                DecayRate = Parse("decay_rate", Number),
                Beta1 = Parse("beta1", Number),
                Beta2 = Parse("beta2", Number),
            },
            WeightDecay = Parse("weight_decay", Number),
            Dropout = values.ContainsKey("dropout") ? Parse("dropout", Number) : 0,
            BatchNorm = values.TryGetValue("batchnorm", out string? batchNorm) && batchNorm == "true",
            Gradient = Parse("gradient", Enum<GradientMethod>),
            Layers = values.TryGetValue("layers", out string? layers) ? layers : null,
            EvaluationImages = values.ContainsKey("eval_images") ? Parse("eval_images", Integer) : null,
            Seed = ulong.TryParse(Value("seed"), NumberStyles.None, CultureInfo.InvariantCulture, out ulong seed)
                ? seed
                : throw new ModelFileException($"{file}: {TrainingName} has seed={Value("seed")}"),
        };
        try
        {
            options.Validate(trainCount: 1);
        }
        catch (ArgumentException e)
        {
            throw new ModelFileException($"{file}: {TrainingName}: {e.Message}");
        }

        return options;
    }

    private static string Text(string file, NpyArray array) => array.Type == NpyType.Unicode && array.Shape.Count == 0
        ? array.ToText()
        : throw new ModelFileException($"{file}: {array.Name} holds {array.Descr} {array.ShapeText}, not one string");

    private static long Scalar(string file, NpyArray array) => array.Type == NpyType.Int64 && array.Shape.Count == 0
        ? array.ToInt64()
        : throw new ModelFileException($"{file}: {array.Name} holds {array.Descr} {array.ShapeText}, not one int64");
}
