using System.CommandLine;
using System.Globalization;
using System.Text;
using Simd.Kernels;
using Simd.Mnist;
using Simd.Training;
using Simd.Training.Files;

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
        ["batchnorm"] = "batch_norm_test.py",
        ["activations"] = "weight_init_activation_histogram.py",
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
        Option<string> output = CommonOptions.NonEmptyPath(new Option<string>("--out")
        {
            Description = "Directory for the CSV files and the SVG figure (created if missing).",
            DefaultValueFactory = _ => "experiments",
            HelpName = "DIR",
        }, "a directory");
        var quick = new Option<bool>("--quick")
        {
            Description = "A tenth of the iterations, epochs and trials: a quick look (and the tests' setting), not the book's numbers.",
        };
        Option<string?> data = CommonOptions.Data();
        Option<ulong> seed = CommonOptions.Seed();
        Option<string?> isa = CommonOptions.Isa();
        Option<int> threads = CommonOptions.Threads();
        threads.Description = $"Runs trained side by side, one thread each (default: the processor count, {Environment.ProcessorCount} here). A run's numbers do not depend on it.";
        var command = new Command("experiment",
            "Run one of the book's chapter-6 experiments with its settings: its independent runs side by side, one thread each, up to " +
            "--threads at a time; a table of their numbers, a CSV of every run's metrics and an SVG figure. One --seed makes it reproducible.")
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

            TrainFiles.Probe("--out", directory); // before any run: a directory that takes no files fails now

            TextWriter writer = parseResult.InvocationConfiguration.Output;
            MnistData mnist = DataAccess.Load(parseResult.GetValue(data), parseResult.InvocationConfiguration.Error, cancellationToken);
            var context = new Context(experiment, directory, parseResult.GetValue(quick), parseResult.GetValue(seed),
                CommonOptions.ResolveIsa(parseResult.GetValue(isa)), parseResult.GetValue(threads), mnist, writer, cancellationToken);
            writer.WriteLine($"experiment {experiment}: the book's {Scripts[experiment]}{(context.Quick ? " (--quick: a tenth of the work)" : "")}; seed {context.Seed}, up to {context.Threads} runs side by side, one thread each; files in {directory}");
            switch (experiment)
            {
                case "optimizers": Optimizers(context); break;
                case "init": Init(context); break;
                case "weight-decay": Overfit(context, dropout: false); break;
                case "dropout": Overfit(context, dropout: true); break;
                case "batchnorm": BatchNormalization(context); break;
                case "activations": Activations(context); break;
                default: Hyperparameters(context); break;
            }

            return Task.FromResult(ExitCodes.Success);
        });
        return command;
    }

    /// <summary>784-100x4-10 ReLU/He, batches of 128, 2000 iterations, the same batches for SGD, Momentum, AdaGrad, Adam (and Nesterov, RMSprop).</summary>
    private static void Optimizers(Context context)
    {
        var specs = new List<RunSpec>();
        foreach (OptimizerKind kind in (OptimizerKind[])[OptimizerKind.Sgd, OptimizerKind.Momentum, OptimizerKind.AdaGrad, OptimizerKind.Adam, OptimizerKind.Nesterov, OptimizerKind.RmsProp])
        {
            // optimizer.py's own defaults: SGD 0.01 here (the ch. 4 run's 0.1 is train_neuralnet.py's).
            double lr = kind == OptimizerKind.Sgd ? 0.01 : OptimizerSettings.DefaultLearningRate(kind);
            specs.Add(context.Spec(OptimizerSettings.Name(kind), DeepOptions(context) with { Optimizer = new OptimizerSettings(kind, lr) }));
        }

        List<Run> runs = context.TrainAll(specs);

        LossTable(context, runs);
        context.Figure(runs);
    }

    /// <summary>The same network with SGD lr 0.01: std 0.01 against Xavier against He.</summary>
    private static void Init(Context context)
    {
        List<Run> runs = context.TrainAll([.. new[] { ("std=0.01", WeightInit.Book), ("Xavier", WeightInit.Xavier), ("He", WeightInit.He) }
            .Select(c => context.Spec(c.Item1, DeepOptions(context) with { Init = c.Item2, Optimizer = new OptimizerSettings(OptimizerKind.Sgd, 0.01) }))]);

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
        Subset test = Subset.All(context.Mnist.Test);
        List<Run> runs = context.TrainAll(
        [
            new RunSpec("none", options, subset, test),
            dropout
                ? new RunSpec("dropout 0.2", options with { Dropout = 0.2 }, subset, test)
                : new RunSpec("weight decay 0.1", options with { WeightDecay = 0.1 }, subset, test),
        ]);

        // The book prints train and test accuracy every epoch; about every tenth of the run here, and the gap at the end.
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
        var specs = new List<(RunSpec Spec, double Lr, double Decay)>();
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
            specs.Add((new RunSpec(string.Create(CultureInfo.InvariantCulture, $"trial {trial + 1}"), options, train, validation, Quiet: true), lr, decay));
        }

        List<Run> trialRuns = context.TrainAll([.. specs.Select(t => t.Spec)]);
        var results = new List<(Run Run, double Lr, double Decay)>();
        for (int trial = 0; trial < trials; trial++)
        {
            (Run run, double lr, double decay) = (trialRuns[trial], specs[trial].Lr, specs[trial].Decay);
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
        OutputFile.WriteText(summary, string.Join('\n', (string[])[
            "trial,lr,weight_decay,val_acc,train_acc",
            .. results.Select(r => string.Create(CultureInfo.InvariantCulture,
                $"{r.Run.Label.Split(' ')[1]},{r.Lr:R},{r.Decay:R},{r.Run.Evaluations[^1].TestAccuracy:R},{r.Run.Evaluations[^1].TrainAccuracy:R}")),
        ]) + "\n");
        context.Figure([.. best.Take(5).Select(b => b.Run)]);
    }

    /// <summary>
    /// With and without batch normalization over 16 initial weight scales w = 10^0 ... 10^-4: the first 1000
    /// training images, 784-100x5-10 ReLU, SGD lr 0.01, batches of 100, 20 epochs; training accuracy.
    /// </summary>
    private static void BatchNormalization(Context context)
    {
        const int Images = 1000, Batch = 100;
        int scales = context.Quick ? 4 : 16, epochs = context.Scale(20);
        Subset train = new(context.Mnist.Train, [.. Enumerable.Range(0, Images)]);
        var without = new List<(double X, double Y)>();
        var with = new List<(double X, double Y)>();
        var table = new StringBuilder("    w (init std)   without       with batch norm (final training accuracy)\n");
        var specs = new List<RunSpec>();
        for (int i = 0; i < scales; i++)
        {
            double w = Math.Pow(10, -4.0 * i / (scales - 1)); // np.logspace(0, -4, 16)
            var options = new TrainingOptions
            {
                HiddenSizes = [100, 100, 100, 100, 100], Activation = Activation.Relu, Init = new WeightInit(WeightInitKind.StandardDeviation, w),
                Optimizer = new OptimizerSettings(OptimizerKind.Sgd, 0.01), BatchSize = Batch,
                Iterations = ((epochs - 1) * (Images / Batch)) + 1, Seed = context.Seed, Threads = context.Threads,
            };
            string scale = w.ToString("G3", CultureInfo.InvariantCulture);
            // The script measures the training images only: they are the "test" set here too.
            specs.Add(new RunSpec($"w {scale}", options, train, train, Quiet: true));
            specs.Add(new RunSpec($"w {scale} batch norm", options with { BatchNorm = true }, train, train, Quiet: true));
        }

        List<Run> runs = context.TrainAll(specs);
        for (int i = 0; i < scales; i++)
        {
            double w = Math.Pow(10, -4.0 * i / (scales - 1));
            string scale = w.ToString("G3", CultureInfo.InvariantCulture);
            double a = runs[2 * i].FinalTrainAccuracy, b = runs[(2 * i) + 1].FinalTrainAccuracy;
            without.Add((Math.Log10(w), a));
            with.Add((Math.Log10(w), b));
            table.Append(CultureInfo.InvariantCulture, $"{scale,16} {Accuracy(a),10} {Accuracy(b),12}\n");
        }

        context.Writer.Write(table.ToString());
        var chart = new Plotting.SvgChart { Title = $"training accuracy after {epochs} epochs", XLabel = "log10 of the initial weights' std", YLabel = "accuracy", YRange = (0, 1), LegendAtBottom = true };
        chart.Lines.Add(new Plotting.Series("without batch norm", without, Plotting.SvgChart.Palette[0], Dashed: true));
        chart.Lines.Add(new Plotting.Series("with batch norm", with, Plotting.SvgChart.Palette[1]));
        var svg = new StringBuilder("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"600\" height=\"420\" viewBox=\"0 0 600 420\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
        chart.Draw(svg, 0, 0, 600, 420);
        svg.Append("</svg>\n");
        string file = Path.Combine(context.Directory, "batchnorm.svg");
        OutputFile.WriteText(file, svg.ToString());
        context.Writer.WriteLine($"wrote {file} and {2 * scales} CSV files of metrics");
    }

    /// <summary>
    /// 1000 points of N(0, 1)^100 through 5 layers of 100 units (no bias), for the book's initial weights and
    /// activations (figs. 6-10, 6-11, 6-13, 6-14): each layer's activations as a histogram of 30 bins over
    /// (0, 1), as the script plots them; the table gives each layer's mean and the share in the end bins.
    /// </summary>
    private static void Activations(Context context)
    {
        const int Points = 1000, Units = 100, Layers = 5, Bins = 30;
        (string Label, Activation Activation, double Std)[] cases =
        [
            ("sigmoid, std 1", Activation.Sigmoid, 1),
            ("sigmoid, std 0.01", Activation.Sigmoid, 0.01),
            ("sigmoid, Xavier", Activation.Sigmoid, Math.Sqrt(1.0 / Units)),
            ("ReLU, std 0.01", Activation.Relu, 0.01),
            ("ReLU, Xavier", Activation.Relu, Math.Sqrt(1.0 / Units)),
            ("ReLU, He", Activation.Relu, Math.Sqrt(2.0 / Units)),
        ];
        var histograms = new int[cases.Length, Layers, Bins];
        var table = new StringBuilder("initial weights        layer   mean      in (0, 1/30)   in (29/30, 1)\n");
        for (int c = 0; c < cases.Length; c++)
        {
            var rng = new Rng(context.Seed);
            double[] x = [.. Enumerable.Range(0, Points * Units).Select(_ => rng.NextGaussian())];
            var w = new double[Units * Units];
            var a = new double[Points * Units];
            for (int l = 0; l < Layers; l++)
            {
                for (int i = 0; i < w.Length; i++)
                {
                    w[i] = rng.NextGaussian() * cases[c].Std;
                }

                GemmNN.Multiply<double>(context.Isa, x, w, [], Points, Units, Units, a);
                if (cases[c].Activation == Activation.Sigmoid)
                {
                    Sigmoid.Forward<double>(context.Isa, a, a);
                }
                else
                {
                    Relu.Forward<double>(context.Isa, a, a);
                }

                foreach (double v in a)
                {
                    if (v >= 0 && v <= 1)
                    {
                        histograms[c, l, Math.Min(Bins - 1, (int)(v * Bins))]++; // plt.hist(range=(0, 1)): 1 falls in the last bin
                    }
                }

                table.Append(CultureInfo.InvariantCulture,
                    $"{(l == 0 ? cases[c].Label : ""),-22} {l + 1,5} {a.Average(),7:F3} {histograms[c, l, 0] / (double)a.Length,12:P1} {histograms[c, l, Bins - 1] / (double)a.Length,14:P1}\n");
                (x, a) = (a, x);
            }
        }

        context.Writer.Write(table.ToString());
        string file = Path.Combine(context.Directory, "activations.svg");
        OutputFile.WriteText(file, HistogramGrid([.. cases.Select(k => k.Label)], histograms));
        context.Writer.WriteLine($"wrote {file}");
    }

    /// <summary>A grid of bar histograms: a row per case, a column per layer, each scaled to its own bars.</summary>
    private static string HistogramGrid(string[] labels, int[,,] histograms)
    {
        int rows = histograms.GetLength(0), columns = histograms.GetLength(1), bins = histograms.GetLength(2);
        const double CellWidth = 170, CellHeight = 110, Left = 130, Top = 30;
        CultureInfo inv = CultureInfo.InvariantCulture;
        var svg = new StringBuilder();
        svg.Append(inv, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Left + (columns * CellWidth)}\" height=\"{Top + (rows * CellHeight)}\" font-family=\"sans-serif\" font-size=\"11\">\n");
        svg.Append("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
        for (int l = 0; l < columns; l++)
        {
            svg.Append(inv, $"<text x=\"{Left + (l * CellWidth) + (CellWidth / 2):F0}\" y=\"18\" text-anchor=\"middle\" font-weight=\"bold\">{l + 1}-layer</text>\n");
        }

        for (int c = 0; c < rows; c++)
        {
            double y0 = Top + (c * CellHeight);
            svg.Append(inv, $"<text x=\"6\" y=\"{y0 + (CellHeight / 2):F0}\">{Plotting.SvgChart.Escape(labels[c])}</text>\n");
            for (int l = 0; l < columns; l++)
            {
                double x0 = Left + (l * CellWidth), plotW = CellWidth - 16, plotH = CellHeight - 24;
                // ReLU puts half of everything at 0: scaled to the other bins (the 0 bin clipped, as the book's
                // ReLU figures set ylim), the shape of the rest shows.
                int rest = Enumerable.Range(1, bins - 1).Max(b => histograms[c, l, b]);
                int tallest = Math.Max(1, histograms[c, l, 0] > 3 * rest && rest > 0 ? 3 * rest : Math.Max(rest, histograms[c, l, 0]));
                svg.Append(inv, $"<rect x=\"{x0:F1}\" y=\"{y0:F1}\" width=\"{plotW:F1}\" height=\"{plotH:F1}\" fill=\"none\" stroke=\"#ccc\"/>\n");
                for (int b = 0; b < bins; b++)
                {
                    double h = Math.Min(histograms[c, l, b], tallest) * plotH / tallest;
                    svg.Append(inv, $"<rect x=\"{x0 + (b * plotW / bins):F1}\" y=\"{y0 + plotH - h:F1}\" width=\"{(plotW / bins) - 0.5:F1}\" height=\"{h:F1}\" fill=\"{Plotting.SvgChart.Palette[0]}\"/>");
                }

                svg.Append(inv, $"\n<text x=\"{x0:F1}\" y=\"{y0 + plotH + 12:F1}\">0</text><text x=\"{x0 + plotW:F1}\" y=\"{y0 + plotH + 12:F1}\" text-anchor=\"end\">1</text>\n");
            }
        }

        svg.Append("</svg>\n");
        return svg.ToString();
    }

    private static string Accuracy(double value) => double.IsNaN(value) ? "diverged" : value.ToString("F4", CultureInfo.InvariantCulture);

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
    private sealed record Subset(MnistSplit From, int[] Indices)
    {
        public static Subset All(MnistSplit split) => new(split, [.. Enumerable.Range(0, split.Count)]);
    }

    /// <summary>One run to train: its label (and file name), options and data.</summary>
    private sealed record RunSpec(string Label, TrainingOptions Options, Subset Train, Subset Test, bool Quiet = false);

    /// <summary>One training run's record: every step's loss and every evaluation row.</summary>
    private sealed record Run(string Label, List<double> Losses, List<EpochReport> Evaluations)
    {
        /// <summary>The loss became NaN or infinite and the run stopped there (the book's numpy run goes on with NaN weights, at chance accuracy).</summary>
        public bool Diverged { get; set; }

        /// <summary>The line printed for it: its time and accuracies, or where it diverged.</summary>
        public string Summary { get; set; } = "";

        /// <summary>The last training accuracy measured, NaN when it diverged before any.</summary>
        public double FinalTrainAccuracy => Diverged ? double.NaN : Evaluations.Count == 0 ? double.NaN : Evaluations[^1].TrainAccuracy;
    }

    private sealed class Context(
        string name, string directory, bool quick, ulong seed, IsaPath isa, int threads, MnistData mnist, TextWriter writer, CancellationToken cancellationToken)
    {
        public string Name => name;

        public string Directory => directory;

        public bool Quick => quick;

        public ulong Seed => seed;

        /// <summary>The kernel path of --isa (or SIMD_ISA): every run and every product of the experiment uses it.</summary>
        public IsaPath Isa => isa;

        public int Threads => threads;

        public MnistData Mnist => mnist;

        public TextWriter Writer => writer;

        public int Scale(int count) => quick ? Math.Max(2, count / 10) : count;

        /// <summary>A run on all MNIST training images, evaluated on the test set.</summary>
        public RunSpec Spec(string label, TrainingOptions options) => new(label, options, Subset.All(mnist.Train), Subset.All(mnist.Test));

        /// <summary>
        /// Trains the runs side by side, one thread each, as many at a time as --threads (measured faster than
        /// one after another on all threads: docs/PERFORMANCE.md); results and lines in the given order.
        /// Each run's numbers do not depend on the thread count, so neither does the experiment's.
        /// </summary>
        public List<Run> TrainAll(IReadOnlyList<RunSpec> specs)
        {
            var runs = new Run[specs.Count];
            try
            {
                Parallel.For(0, specs.Count, new ParallelOptions { MaxDegreeOfParallelism = threads, CancellationToken = cancellationToken },
                    i => runs[i] = Train(specs[i] with { Options = specs[i].Options with { Threads = 1 } }));
            }
            catch (AggregateException e)
            {
                // One run's failure (a full disk, Ctrl+C) is the experiment's: its own one line, not a list.
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e.InnerExceptions[0]);
            }

            foreach (Run run in runs.Where((_, i) => !specs[i].Quiet || runs[i].Diverged))
            {
                writer.WriteLine(run.Summary);
            }

            return [.. runs];
        }

        /// <summary>Trains one run in float32, its metrics written to NAME-LABEL.csv as it goes.</summary>
        private Run Train(RunSpec spec)
        {
            cancellationToken.ThrowIfCancellationRequested();
            (string label, TrainingOptions options) = (spec.Label, spec.Options);
            var run = new Run(label, [], []);
            string file = Path.Combine(directory, $"{name}-{FileName(label)}.csv");
            using (MetricsFile metrics = MetricsFile.Open(file, append: false, failed: _ => { }))
            using (var trainer = new Trainer<float>(options, Data(spec.Train), Data(spec.Test), isa))
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
                try
                {
                    TrainingResult result = trainer.Run(cancellationToken);
                    run.Summary = string.Create(CultureInfo.InvariantCulture,
                        $"  {label}: {options.Iterations} iterations in {result.TotalSeconds:F2} s, final train accuracy {result.Final.TrainAccuracy:F4}, test {result.Final.TestAccuracy:F4}");
                }
                catch (TrainingDivergedException e)
                {
                    run.Diverged = true;
                    run.Summary = $"  {label}: {e.Message}";
                }

                metrics.Flush();
                if (metrics.Failure is { } failure)
                {
                    throw new OutputFileException($"{file}: cannot write: {OutputFile.WriteFailure(failure)}", failure);
                }
            }

            return run;
        }

        /// <summary>NAME.svg: the runs' curves as 'simd plot' draws them, from the CSV files just written.</summary>
        public void Figure(IReadOnlyList<Run> runs)
        {
            RunMetrics[] metrics = [.. runs.Select(r => MetricsFile.Read(Path.Combine(directory, $"{name}-{FileName(r.Label)}.csv")) with { Name = r.Label })];
            string svg = Path.Combine(directory, $"{name}.svg");
            OutputFile.WriteText(svg, PlotCommand.Render(metrics));
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
