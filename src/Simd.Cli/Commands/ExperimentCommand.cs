using System.CommandLine;
using System.Globalization;
using System.Text;
using Simd.Kernels;
using Simd.Mnist;
using Simd.Training;

namespace Simd.Cli.Commands;

/// <summary>
/// <c>simd experiment NAME</c>: one of the book's chapter-6 scripts with its settings. Each run's metrics go
/// to OUT/NAME-RUN.csv, the curves to OUT/NAME.svg (as <c>simd plot</c> draws them), and a table of the
/// numbers the script prints to the terminal.
/// </summary>
internal static class ExperimentCommand
{
    /// <summary>The experiments built so far, by name, with the book's script each reproduces.</summary>
    public static readonly IReadOnlyDictionary<string, string> Scripts = new Dictionary<string, string>
    {
        ["optimizers"] = "optimizer_compare_mnist.py",
        ["init"] = "weight_init_compare.py",
        ["weight-decay"] = "overfit_weight_decay.py",
        ["dropout"] = "overfit_dropout.py",
        ["hyperparameters"] = "hyperparameter_optimization.py",
    };

    public static Command Create()
    {
        var name = new Argument<string>("NAME")
        {
            Description = "The experiment: " + string.Join(", ", Scripts.Select(s => $"{s.Key} ({s.Value})")) + ".",
        };
        name.Validators.Add(result =>
        {
            string value = result.GetValueOrDefault<string>() ?? "";
            if (!Scripts.ContainsKey(value))
            {
                result.AddError($"unknown experiment '{value}' (one of {string.Join(", ", Scripts.Keys)})");
            }
        });
        var output = new Option<string>("--out")
        {
            Description = "Directory for the CSV files and the SVG figure (created if missing).",
            DefaultValueFactory = _ => "experiments",
            HelpName = "DIR",
        };
        var quick = new Option<bool>("--quick")
        {
            Description = "A tenth of the iterations, epochs and trials: a quick look (and the tests' setting), not the book's numbers.",
        };
        Option<string?> data = CommonOptions.Data();
        Option<ulong> seed = CommonOptions.Seed();
        Option<string?> isa = CommonOptions.Isa();
        Option<int> threads = CommonOptions.Threads();
        var command = new Command("experiment",
            "Run one of the book's chapter-6 experiments with its settings: the runs one after another, each on all threads; " +
            "a table of their numbers, a CSV of every run's metrics and an SVG figure of their curves. One --seed makes it reproducible.")
        {
            name, output, quick, data, seed, isa, threads,
        };
        command.SetAction((parseResult, cancellationToken) =>
        {
            string experiment = parseResult.GetValue(name)!;
            string directory = Path.GetFullPath(parseResult.GetValue(output)!);
            try
            {
                Directory.CreateDirectory(directory);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new UsageException($"--out {directory}: cannot create the directory: {e.Message}");
            }

            TextWriter writer = parseResult.InvocationConfiguration.Output;
            MnistData mnist = DataAccess.Load(parseResult.GetValue(data), parseResult.InvocationConfiguration.Error, cancellationToken);
            var context = new Context(experiment, directory, parseResult.GetValue(quick), parseResult.GetValue(seed),
                CommonOptions.ResolveIsa(parseResult.GetValue(isa)), parseResult.GetValue(threads), mnist, writer, cancellationToken);
            writer.WriteLine($"experiment {experiment}: the book's {Scripts[experiment]}{(context.Quick ? " (--quick: a tenth of the work)" : "")}; seed {context.Seed}, {context.Threads} threads; files in {directory}");
            switch (experiment)
            {
                case "optimizers": Optimizers(context); break;
                case "init": Init(context); break;
                case "weight-decay": Overfit(context, dropout: false); break;
                case "dropout": Overfit(context, dropout: true); break;
                default: Hyperparameters(context); break;
            }

            return Task.FromResult(ExitCodes.Success);
        });
        return command;
    }

    /// <summary>784-100x4-10 ReLU/He, batches of 128, 2000 iterations, the same batches for SGD, Momentum, AdaGrad, Adam (and Nesterov, RMSprop).</summary>
    private static void Optimizers(Context context)
    {
        var runs = new List<Run>();
        foreach (OptimizerKind kind in (OptimizerKind[])[OptimizerKind.Sgd, OptimizerKind.Momentum, OptimizerKind.AdaGrad, OptimizerKind.Adam, OptimizerKind.Nesterov, OptimizerKind.RmsProp])
        {
            // optimizer.py's own defaults: SGD 0.01 here (the ch. 4 run's 0.1 is train_neuralnet.py's).
            double lr = kind == OptimizerKind.Sgd ? 0.01 : OptimizerSettings.DefaultLearningRate(kind);
            runs.Add(context.Train(OptimizerSettings.Name(kind), DeepOptions(context) with { Optimizer = new OptimizerSettings(kind, lr) }, context.Mnist.Train, context.Mnist.Test));
        }

        LossTable(context, runs);
        context.Figure(runs);
    }

    /// <summary>The same network with SGD lr 0.01: std 0.01 against Xavier against He.</summary>
    private static void Init(Context context)
    {
        var runs = new List<Run>();
        foreach ((string label, WeightInit init) in new[] { ("std=0.01", WeightInit.Book), ("Xavier", WeightInit.Xavier), ("He", WeightInit.He) })
        {
            runs.Add(context.Train(label, DeepOptions(context) with { Init = init, Optimizer = new OptimizerSettings(OptimizerKind.Sgd, 0.01) }, context.Mnist.Train, context.Mnist.Test));
        }

        LossTable(context, runs);
        context.Figure(runs);
    }

    /// <summary>
    /// Overfitting on 300 training images, 784-100x6-10 ReLU/He, SGD lr 0.01, batches of 100: without and with
    /// weight decay λ 0.1 (201 epochs), or without and with dropout 0.2 (301 epochs, the book's Trainer).
    /// </summary>
    private static void Overfit(Context context, bool dropout)
    {
        const int Images = 300, Batch = 100;
        int epochs = context.Scale(dropout ? 301 : 201);
        MnistSplit train = context.Mnist.Train;
        var options = new TrainingOptions
        {
            HiddenSizes = [100, 100, 100, 100, 100, 100], Activation = Activation.Relu, Init = WeightInit.He,
            Optimizer = new OptimizerSettings(OptimizerKind.Sgd, 0.01), BatchSize = Batch,
            Iterations = ((epochs - 1) * (Images / Batch)) + 1, // evaluations at 0, 3, ..., as many as epochs
            Seed = context.Seed, Threads = context.Threads,
        };
        Subset subset = new(train, [.. Enumerable.Range(0, Images)]);
        var runs = new List<Run>
        {
            context.Train("none", options, subset, context.Mnist.Test),
            dropout
                ? context.Train("dropout 0.2", options with { Dropout = 0.2 }, subset, context.Mnist.Test)
                : context.Train("weight decay 0.1", options with { WeightDecay = 0.1 }, subset, context.Mnist.Test),
        };

        // The book prints train and test accuracy every epoch; every 20th here, and the gap at the end.
        var table = new StringBuilder();
        CultureInfo inv = CultureInfo.InvariantCulture;
        table.Append("epoch ");
        foreach (Run run in runs)
        {
            table.Append(inv, $"  {run.Label + " train",18} {"test",6}");
        }

        table.AppendLine();
        int rows = runs[0].Evaluations.Count;
        for (int e = 0; e < rows; e++)
        {
            if (e % Math.Max(1, rows / 10) != 0 && e != rows - 1)
            {
                continue;
            }

            table.Append(inv, $"{e,5} ");
            foreach (Run run in runs)
            {
                EpochReport row = run.Evaluations[Math.Min(e, run.Evaluations.Count - 1)];
                table.Append(inv, $"  {row.TrainAccuracy,18:F4} {row.TestAccuracy,6:F4}");
            }

            table.AppendLine();
        }

        foreach (Run run in runs)
        {
            EpochReport last = run.Evaluations[^1];
            table.AppendLine(inv, $"{run.Label}: train {last.TrainAccuracy:F4}, test {last.TestAccuracy:F4}, gap {last.TrainAccuracy - last.TestAccuracy:F4}");
        }

        context.Writer.Write(table.ToString());
        context.Figure(runs);
    }

    /// <summary>
    /// Random search: 500 training images shuffled, 20% kept for validation; 100 trials of lr = 10^U(-6, -2) and
    /// λ = 10^U(-8, -4) on 784-100x6-10, 50 epochs each; the best 20 by final validation accuracy.
    /// </summary>
    private static void Hyperparameters(Context context)
    {
        const int Images = 500, Batch = 100;
        int trials = context.Scale(100), epochs = context.Scale(50);
        var rng = new Rng(context.Seed);
        int[] order = [.. Enumerable.Range(0, Images)];
        for (int i = order.Length - 1; i > 0; i--)
        {
            int j = rng.NextInt(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }

        int validationCount = Images / 5;
        Subset validation = new(context.Mnist.Train, order[..validationCount]);
        Subset train = new(context.Mnist.Train, order[validationCount..]);
        var results = new List<(Run Run, double Lr, double Decay)>();
        for (int trial = 0; trial < trials; trial++)
        {
            double decay = Math.Pow(10, -8 + (4 * rng.NextDouble()));
            double lr = Math.Pow(10, -6 + (4 * rng.NextDouble()));
            var options = new TrainingOptions
            {
                HiddenSizes = [100, 100, 100, 100, 100, 100], Activation = Activation.Relu, Init = WeightInit.He,
                Optimizer = new OptimizerSettings(OptimizerKind.Sgd, lr), WeightDecay = decay, BatchSize = Batch,
                Iterations = epochs * ((Images - validationCount) / Batch), Seed = context.Seed + (ulong)trial + 1, Threads = context.Threads,
            };
            Run run = context.Train(string.Create(CultureInfo.InvariantCulture, $"trial {trial + 1}"), options, train, validation, quiet: true);
            results.Add((run, lr, decay));
            context.Writer.WriteLine(string.Create(CultureInfo.InvariantCulture, $"val acc:{run.Evaluations[^1].TestAccuracy:F2} | lr:{lr:E3}, weight decay:{decay:E3}"));
        }

        context.Writer.WriteLine("=========== Hyper-Parameter Optimization Result ===========");
        var best = results.OrderByDescending(r => r.Run.Evaluations[^1].TestAccuracy).ThenBy(r => r.Run.Label, StringComparer.Ordinal).Take(20).ToList();
        for (int i = 0; i < best.Count; i++)
        {
            context.Writer.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Best-{i + 1}(val acc:{best[i].Run.Evaluations[^1].TestAccuracy:F2}) | lr:{best[i].Lr:E3}, weight decay:{best[i].Decay:E3}"));
        }

        string summary = Path.Combine(context.Directory, "hyperparameters.csv");
        File.WriteAllLines(summary, [
            "trial,lr,weight_decay,val_acc,train_acc",
            .. results.Select(r => string.Create(CultureInfo.InvariantCulture,
                $"{r.Run.Label.Split(' ')[1]},{r.Lr:R},{r.Decay:R},{r.Run.Evaluations[^1].TestAccuracy:R},{r.Run.Evaluations[^1].TrainAccuracy:R}")),
        ]);
        context.Figure([.. best.Take(5).Select(b => b.Run)]);
    }

    private static TrainingOptions DeepOptions(Context context) => new()
    {
        HiddenSizes = [100, 100, 100, 100], Activation = Activation.Relu, Init = WeightInit.He, BatchSize = 128,
        Iterations = context.Scale(2000), Seed = context.Seed, Threads = context.Threads,
    };

    /// <summary>The book's printout of the comparisons: every run's loss every 100 iterations, then the final accuracies.</summary>
    private static void LossTable(Context context, List<Run> runs)
    {
        var table = new StringBuilder();
        CultureInfo inv = CultureInfo.InvariantCulture;
        table.Append("iteration");
        foreach (Run run in runs)
        {
            table.Append(inv, $" {run.Label,9}");
        }

        table.AppendLine();
        int every = context.Quick ? 20 : 100;
        for (int i = 0; i < runs[0].Losses.Count; i += every)
        {
            table.Append(inv, $"{i,9}");
            foreach (Run run in runs)
            {
                table.Append(inv, $" {run.Losses[i],9:F4}");
            }

            table.AppendLine();
        }

        table.Append("test acc ");
        foreach (Run run in runs)
        {
            table.Append(inv, $" {run.Evaluations[^1].TestAccuracy,9:F4}");
        }

        table.AppendLine();
        context.Writer.Write(table.ToString());
    }

    /// <summary>Some images of a split (the first 300, a shuffled 400...), as the scripts slice x_train.</summary>
    private sealed record Subset(MnistSplit From, int[] Indices);

    /// <summary>One training run's record: every step's loss and every evaluation row.</summary>
    private sealed record Run(string Label, List<double> Losses, List<EpochReport> Evaluations);

    private sealed class Context(
        string name, string directory, bool quick, ulong seed, IsaPath isa, int threads, MnistData mnist, TextWriter writer, CancellationToken cancellationToken)
    {
        public string Name => name;

        public string Directory => directory;

        public bool Quick => quick;

        public ulong Seed => seed;

        public int Threads => threads;

        public MnistData Mnist => mnist;

        public TextWriter Writer => writer;

        public int Scale(int count) => quick ? Math.Max(2, count / 10) : count;

        public Run Train(string label, TrainingOptions options, MnistSplit train, MnistSplit test, bool quiet = false) =>
            Train(label, options, new Subset(train, [.. Enumerable.Range(0, train.Count)]), test, quiet);

        public Run Train(string label, TrainingOptions options, Subset train, MnistSplit test, bool quiet = false) =>
            Train(label, options, train, new Subset(test, [.. Enumerable.Range(0, test.Count)]), quiet);

        /// <summary>Trains one run in float32, its metrics written to NAME-LABEL.csv as it goes.</summary>
        public Run Train(string label, TrainingOptions options, Subset train, Subset test, bool quiet = false)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var run = new Run(label, [], []);
            string file = Path.Combine(directory, $"{name}-{FileName(label)}.csv");
            using (MetricsFile metrics = MetricsFile.Open(file, append: false))
            using (var trainer = new Trainer<float>(options, Data(train), Data(test), isa))
            {
                trainer.StepLosses = (first, losses) =>
                {
                    run.Losses.AddRange(losses.ToArray());
                    metrics.WriteSteps(first, losses);
                };
                trainer.Evaluated = row =>
                {
                    run.Evaluations.Add(row);
                    metrics.WriteEvaluation(row);
                };
                TrainingResult result = trainer.Run(cancellationToken);
                if (!quiet)
                {
                    writer.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"  {label}: {options.Iterations} iterations in {result.TotalSeconds:F2} s, final train accuracy {result.Final.TrainAccuracy:F4}, test {result.Final.TestAccuracy:F4}"));
                }
            }

            return run;
        }

        /// <summary>NAME.svg: the runs' curves as 'simd plot' draws them, from the CSV files just written.</summary>
        public void Figure(IReadOnlyList<Run> runs)
        {
            RunMetrics[] metrics = [.. runs.Select(r => MetricsFile.Read(Path.Combine(directory, $"{name}-{FileName(r.Label)}.csv")) with { Name = r.Label })];
            string svg = Path.Combine(directory, $"{name}.svg");
            File.WriteAllText(svg, PlotCommand.Render(metrics), new UTF8Encoding(false));
            writer.WriteLine($"wrote {svg} and {runs.Count} CSV file{(runs.Count == 1 ? "" : "s")} of metrics");
        }

        private static Dataset<float> Data(Subset subset)
        {
            var pixels = new byte[subset.Indices.Length * MnistFiles.PixelsPerImage];
            var labels = new byte[subset.Indices.Length];
            ReadOnlySpan<byte> images = subset.From.Images.Span, allLabels = subset.From.Labels.Span;
            for (int i = 0; i < subset.Indices.Length; i++)
            {
                images.Slice(subset.Indices[i] * MnistFiles.PixelsPerImage, MnistFiles.PixelsPerImage).CopyTo(pixels.AsSpan(i * MnistFiles.PixelsPerImage));
                labels[i] = allLabels[subset.Indices[i]];
            }

            return Dataset<float>.FromBytes(pixels, labels, labels.Length, MnistFiles.PixelsPerImage, MnistFiles.ClassCount);
        }

        private static string FileName(string label) =>
            string.Concat(label.ToLowerInvariant().Select(c => char.IsAsciiLetterOrDigit(c) || c == '.' ? c : '-'));
    }
}
