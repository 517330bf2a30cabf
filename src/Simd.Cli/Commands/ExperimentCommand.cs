using System.CommandLine;
using System.Globalization;
using System.Text;
using Simd.Kernels;
using Simd.Mnist;
using Simd.Training;
using Simd.Training.Experiments;
using Simd.Training.Files;

namespace Simd.Cli.Commands;

/// <summary>
/// <c>simd experiment NAME</c>: one of the book's chapter-6 scripts with its settings. Each run's metrics go
/// to OUT/NAME-RUN.csv, the curves to OUT/NAME.svg (as <c>simd plot</c> draws them), and a table of the
/// numbers the script prints to the terminal.
/// </summary>
internal static class ExperimentCommand
{
    /// <summary>The experiments, by name, with the book's script each reproduces (defined in the library).</summary>
    public static IReadOnlyDictionary<string, string> Scripts => BookExperiments.Scripts;

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

    /// <summary>optimizer_compare_mnist.py: every run's loss every 100 iterations, the final accuracies, the curves.</summary>
    private static void Optimizers(Context context)
    {
        List<ExperimentRecord> runs = context.TrainAll(BookExperiments.Optimizers(context.Settings));
        LossTable(context, runs);
        context.Figure(runs);
    }

    /// <summary>weight_init_compare.py: as <see cref="Optimizers"/>.</summary>
    private static void Init(Context context)
    {
        List<ExperimentRecord> runs = context.TrainAll(BookExperiments.Init(context.Settings));
        LossTable(context, runs);
        context.Figure(runs);
    }

    /// <summary>overfit_weight_decay.py and overfit_dropout.py: train and test accuracy about every tenth of the run, and the gap at the end.</summary>
    private static void Overfit(Context context, bool dropout)
    {
        List<ExperimentRecord> runs = context.TrainAll(BookExperiments.Overfit(context.Settings, dropout));

        // The book prints train and test accuracy every epoch; about every tenth of the run here, and the gap at the end.
        var table = new StringBuilder();
        CultureInfo inv = CultureInfo.InvariantCulture;
        table.Append("epoch ");
        foreach (ExperimentRecord run in runs)
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
            foreach (ExperimentRecord run in runs)
            {
                EpochReport row = run.Evaluations[Math.Min(e, run.Evaluations.Count - 1)];
                table.Append(inv, $"  {row.TrainAccuracy,18:F4} {row.TestAccuracy,6:F4}");
            }

            table.AppendLine();
        }

        foreach (ExperimentRecord run in runs)
        {
            EpochReport last = run.Evaluations[^1];
            table.AppendLine(inv, $"{run.Label}: train {last.TrainAccuracy:F4}, test {last.TestAccuracy:F4}, gap {last.TrainAccuracy - last.TestAccuracy:F4}");
        }

        context.Writer.Write(table.ToString());
        context.Figure(runs);
    }

    /// <summary>hyperparameter_optimization.py: every trial's validation accuracy with its lr and λ, then the best 20.</summary>
    private static void Hyperparameters(Context context)
    {
        List<ExperimentRecord> trialRuns = context.TrainAll(BookExperiments.Hyperparameters(context.Settings));
        var results = new List<(ExperimentRecord Run, double Lr, double Decay)>();
        foreach (ExperimentRecord run in trialRuns)
        {
            (double lr, double decay) = (run.Run.Options.Optimizer.LearningRate, run.Run.Options.WeightDecay);
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

    /// <summary>batch_norm_test.py: the final training accuracy without and with batch normalization, scale by scale, and the figure.</summary>
    private static void BatchNormalization(Context context)
    {
        double[] scales = BookExperiments.BatchNormScales(context.Settings);
        int epochs = BookExperiments.BatchNormEpochs(context.Settings);
        List<ExperimentRecord> runs = context.TrainAll(BookExperiments.BatchNormalization(context.Settings));
        var without = new List<(double X, double Y)>();
        var with = new List<(double X, double Y)>();
        var table = new StringBuilder("    w (init std)   without       with batch norm (final training accuracy)\n");
        for (int i = 0; i < scales.Length; i++)
        {
            double w = scales[i];
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
        context.Writer.WriteLine($"wrote {file} and {2 * scales.Length} CSV files of metrics");
    }

    /// <summary>weight_init_activation_histogram.py: each layer's mean and the share in the end bins, and the histograms.</summary>
    private static void Activations(Context context)
    {
        var cases = BookExperiments.ActivationCases;
        (int[,,] histograms, double[,] means) = BookExperiments.Activations(context.Seed, context.Isa);
        var table = new StringBuilder("initial weights        layer   mean      in (0, 1/30)   in (29/30, 1)\n");
        double values = (double)BookExperiments.ActivationPoints * BookExperiments.ActivationUnits; // every layer's activations
        for (int c = 0; c < cases.Count; c++)
        {
            for (int l = 0; l < BookExperiments.ActivationLayers; l++)
            {
                table.Append(CultureInfo.InvariantCulture,
                    $"{(l == 0 ? cases[c].Label : ""),-22} {l + 1,5} {means[c, l],7:F3} {histograms[c, l, 0] / values,12:P1} {histograms[c, l, BookExperiments.ActivationBins - 1] / values,14:P1}\n");
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

    /// <summary>The book's printout of the comparisons: every run's loss every 100 iterations, then the final accuracies.</summary>
    private static void LossTable(Context context, List<ExperimentRecord> runs)
    {
        var table = new StringBuilder();
        CultureInfo inv = CultureInfo.InvariantCulture;
        table.Append("iteration");
        foreach (ExperimentRecord run in runs)
        {
            table.Append(inv, $" {run.Label,9}");
        }

        table.AppendLine();
        int every = context.Quick ? 20 : 100;
        for (int i = 0; i < runs[0].Losses.Count; i += every)
        {
            table.Append(inv, $"{i,9}");
            foreach (ExperimentRecord run in runs)
            {
                table.Append(inv, $" {run.Losses[i],9:F4}");
            }

            table.AppendLine();
        }

        table.Append("test acc ");
        foreach (ExperimentRecord run in runs)
        {
            table.Append(inv, $" {run.Evaluations[^1].TestAccuracy,9:F4}");
        }

        table.AppendLine();
        context.Writer.Write(table.ToString());
    }

    private sealed class Context(
        string name, string directory, bool quick, ulong seed, IsaPath isa, int threads, MnistData mnist, TextWriter writer, CancellationToken cancellationToken)
    {
        private Dataset<float>? _train, _test; // made at the first runs (the activations experiment trains none)

        public string Directory => directory;

        public bool Quick => quick;

        public ulong Seed => seed;

        /// <summary>The kernel path of --isa (or SIMD_ISA): every run and every product of the experiment uses it.</summary>
        public IsaPath Isa => isa;

        public int Threads => threads;

        public TextWriter Writer => writer;

        public ExperimentSettings Settings { get; } = new(quick, seed, threads);

        /// <summary>
        /// Trains the runs (<see cref="ExperimentRunner.TrainAll"/>), each one's metrics written to NAME-LABEL.csv as it
        /// goes; then their summary lines in the given order (a quiet run's only when it diverged).
        /// </summary>
        public List<ExperimentRecord> TrainAll(IReadOnlyList<ExperimentRun> runs)
        {
            _train ??= DataAccess.ToDataset<float>(mnist.Train);
            _test ??= DataAccess.ToDataset<float>(mnist.Test);
            List<ExperimentRecord> records = ExperimentRunner.TrainAll(runs, _train, _test, isa, threads,
                run => new MetricsWriter(Path.Combine(directory, $"{name}-{FileName(run.Label)}.csv")), cancellationToken);
            foreach (ExperimentRecord record in records.Where(r => !r.Run.Quiet || r.Diverged))
            {
                writer.WriteLine(record.Result is { } result
                    ? string.Create(CultureInfo.InvariantCulture,
                        $"  {record.Label}: {record.Run.Options.Iterations} iterations in {result.TotalSeconds:F2} s, final train accuracy {result.Final.TrainAccuracy:F4}, test {result.Final.TestAccuracy:F4}")
                    : $"  {record.Label}: {record.Divergence}");
            }

            return records;
        }

        /// <summary>NAME.svg: the runs' curves as 'simd plot' draws them, from the CSV files just written.</summary>
        public void Figure(List<ExperimentRecord> runs)
        {
            RunMetrics[] metrics = [.. runs.Select(r => MetricsFile.Read(Path.Combine(directory, $"{name}-{FileName(r.Label)}.csv")) with { Name = r.Label })];
            string svg = Path.Combine(directory, $"{name}.svg");
            OutputFile.WriteText(svg, PlotCommand.Render(metrics));
            writer.WriteLine($"wrote {svg} and {runs.Count} CSV file{(runs.Count == 1 ? "" : "s")} of metrics");
        }

        private static string FileName(string label) =>
            string.Concat(label.ToLowerInvariant().Select(c => char.IsAsciiLetterOrDigit(c) || c == '.' ? c : '-'));
    }

    /// <summary>A run's metrics file: written as it trains; a failure to write is the experiment's one line at the end of the run.</summary>
    private sealed class MetricsWriter(string file) : IExperimentRunWriter
    {
        private readonly MetricsFile _metrics = MetricsFile.Open(file, append: false, failed: _ => { });

        public void WriteSteps(int first, ReadOnlySpan<double> losses) => _metrics.WriteSteps(first, losses);

        public void WriteEvaluation(EpochReport row) => _metrics.WriteEvaluation(row);

        public void Complete()
        {
            _metrics.Flush();
            if (_metrics.Failure is { } failure)
            {
                throw new OutputFileException($"{file}: cannot write: {OutputFile.WriteFailure(failure)}", failure);
            }
        }

        public void Dispose() => _metrics.Dispose();
    }
}
