using System.CommandLine;
using System.Globalization;
using System.Numerics;
using Simd.Kernels;
using Simd.Mnist;
using Simd.Training;
using Simd.Training.Files;
using Simd.Training.Models;

namespace Simd.Cli.Commands;

/// <summary><c>simd train</c>: the book's train_neuralnet.py, one table row per evaluation.</summary>
internal static class TrainCommand
{
    public static Command Create()
    {
        Option<string?> data = CommonOptions.Data();
        Option<int> iterations = CommonOptions.PositiveInt("--iters", BookDefaults.Iterations, "Training iterations (the book: 10000).");
        Option<int> batch = CommonOptions.PositiveInt("--batch", BookDefaults.BatchSize, "Images per batch, drawn with replacement (the book: 100).");
        var network = new NetworkOptions();
        Option<string> optimizer = CommonOptions.Choice("--optimizer", "sgd",
            "The book's optimizers (common/optimizer.py): sgd, momentum, nesterov, adagrad, rmsprop or adam.",
            "sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam");
        Option<double?> learningRate = CommonOptions.LearningRate();
        Option<double> momentum = CommonOptions.Momentum();
        Option<string> gradient = CommonOptions.Choice("--gradient", "backprop",
            "Gradient method: backprop (ch. 5) or numerical (ch. 4: central differences, very slow).", "backprop", "numerical");
        Option<string> precision = CommonOptions.Precision("single");
        Option<ulong> seed = CommonOptions.Seed();
        Option<string?> isa = CommonOptions.Isa();
        Option<int> threads = CommonOptions.Threads();
        var files = new TrainFiles();

        Option<int?> epochs = new("--epochs")
        {
            Description = "Train this many epochs (each train size / batch iterations: 600 at batch 100) instead of --iters; a network with convolutions (--net simple-convnet, or --layers with conv) trains 20 by default, with Adam lr 0.001, as the book's train_convnet.py.",
            HelpName = "N",
        };
        Option<int?> evalImages = new("--eval-images")
        {
            Description = "Evaluate only the first N images of each set every epoch (the book's evaluate_sample_num_per_epoch: train_convnet.py takes 1000, the default for a network with convolutions); the last row always takes all.",
            HelpName = "N",
        };
        var command = new Command("train",
            "Train a network on MNIST as the book's train_neuralnet.py and ch. 6: the optimizer on batches drawn with replacement, " +
            "accuracy on all train and test images every epoch (train size / batch iterations). With no options, the ch. 4 run: " +
            "784-50-10 sigmoid, SGD lr 0.1. With --net simple-convnet (or any --layers with a convolution), ch. 7's train_convnet.py: Adam lr 0.001, 20 epochs, each evaluated on the first 1000 images.")
        {
            data, iterations, epochs, evalImages, batch, optimizer, learningRate, momentum, gradient, precision, seed, isa, threads,
        };
        network.AddTo(command);
        files.AddTo(command);

        command.SetAction((parseResult, cancellationToken) =>
        {
            TextWriter output = parseResult.InvocationConfiguration.Output;
            TextWriter error = parseResult.InvocationConfiguration.Error;
            NetworkSpec spec = network.Read(parseResult);
            // The book's convnet runs (train_convnet.py) use Adam at 0.001 for 20 epochs; the fully connected ones SGD for 10,000 iterations.
            bool convolutional = spec.Layers is not null && !spec.Stack.IsFullyConnected;
            OptimizerKind kind = IsGiven(parseResult, optimizer) || !convolutional ? CommonOptions.ParseOptimizer(parseResult.GetValue(optimizer)!) : OptimizerKind.Adam;
            if (IsGiven(parseResult, iterations) && parseResult.GetValue(epochs) is not null)
            {
                throw new UsageException("--iters and --epochs both set the run's length; give one");
            }

            // An epoch is the loaded training set's size / batch iterations (MNIST's 60,000 until the data is read: the
            // bound is checked now with it, and again with the real count once loaded).
            int? epochCount = parseResult.GetValue(epochs) ?? (convolutional && !IsGiven(parseResult, iterations) ? ConvnetEpochs : null);
            int perEpoch = Math.Max(MnistFiles.TrainCount / Math.Max(parseResult.GetValue(batch), 1), 1);
            CheckEpochs(epochCount, perEpoch, "at this batch");

            var options = new TrainingOptions
            {
                Iterations = epochCount is int count ? count * perEpoch : parseResult.GetValue(iterations),
                Layers = spec.Layers,
                EvaluationImages = parseResult.GetValue(evalImages) ?? (convolutional ? ConvnetEvaluationImages : null),
                BatchSize = parseResult.GetValue(batch),
                HiddenSizes = spec.Hidden,
                Activation = spec.Activation,
                Init = spec.Init,
                WeightDecay = spec.WeightDecay,
                Dropout = spec.Dropout,
                BatchNorm = spec.BatchNorm,
                Optimizer = new OptimizerSettings(kind, parseResult.GetValue(learningRate) ?? OptimizerSettings.DefaultLearningRate(kind))
                {
                    Momentum = parseResult.GetValue(momentum),
                },
                Gradient = parseResult.GetValue(gradient)!.Equals("numerical", StringComparison.OrdinalIgnoreCase)
                    ? GradientMethod.Numerical
                    : GradientMethod.Backprop,
                Seed = parseResult.GetValue(seed),
                Threads = parseResult.GetValue(threads),
            };
            IsaPath path = CommonOptions.ResolveIsa(parseResult.GetValue(isa));
            Precision chosen = CommonOptions.ParsePrecision(parseResult.GetValue(precision)!);
            Checkpoint? resumeFrom = files.ReadResume(parseResult, cancellationToken);
            if (resumeFrom is not null)
            {
                // The checkpoint's options decide the numbers; options given again must agree with them.
                TrainingOptions saved = resumeFrom.Options;
                Precision savedPrecision = resumeFrom.Model.Precision;
                Agree(parseResult, batch, options.BatchSize, saved.BatchSize);
                Agree(parseResult, network.Hidden, string.Join(",", options.HiddenSizes), string.Join(",", saved.HiddenSizes));
                Agree(parseResult, network.Activation, Names.Of(options.Activation), Names.Of(saved.Activation));
                Agree(parseResult, network.Init, options.Init.ToString(), saved.Init.ToString());
                Agree(parseResult, network.WeightDecay, options.WeightDecay, saved.WeightDecay);
                Agree(parseResult, network.Dropout, options.Dropout, saved.Dropout);
                Agree(parseResult, network.BatchNorm, options.BatchNorm, saved.BatchNorm);
                Agree(parseResult, network.Stack.Layers, options.Layers, saved.Layers);
                Agree(parseResult, network.Stack.Net, options.Layers, saved.Layers);
                Agree(parseResult, optimizer, options.Optimizer.Kind, saved.Optimizer.Kind);
                Agree(parseResult, learningRate, options.Optimizer.LearningRate, saved.Optimizer.LearningRate);
                Agree(parseResult, momentum, options.Optimizer.Momentum, saved.Optimizer.Momentum);
                Agree(parseResult, gradient, options.Gradient, saved.Gradient);
                Agree(parseResult, seed, options.Seed, saved.Seed);
                Agree(parseResult, precision, chosen, savedPrecision);
                Agree(parseResult, evalImages, options.EvaluationImages, saved.EvaluationImages);
                // Epochs count in the checkpoint's batches (of the data loaded below).
                epochCount = parseResult.GetValue(epochs);
                CheckEpochs(epochCount, Math.Max(MnistFiles.TrainCount / saved.BatchSize, 1), $"at the checkpoint's batch of {saved.BatchSize}");
                int iterationsWanted = IsGiven(parseResult, iterations) ? options.Iterations : saved.Iterations;
                options = saved with { Iterations = iterationsWanted, Threads = options.Threads };
                spec = new NetworkSpec([.. options.HiddenSizes], options.Activation, options.Init, options.WeightDecay, options.Dropout, options.BatchNorm, options.Layers);
                chosen = savedPrecision;
                if (epochCount is null)
                {
                    CheckSomethingLeft(resumeFrom, options.Iterations);
                }
            }

            CommonOptions.CheckRepresentable("--lr", options.Optimizer.LearningRate, chosen);
            CommonOptions.CheckRepresentable("--weight-decay", options.WeightDecay, chosen);
            // Before the data is loaded: a run that cannot fit is refused at once.
            NetworkLimits.Check(chosen, spec, options.BatchSize, options.Threads, "--batch");

            using TrainOutputs outputs = files.Prepare(parseResult, resumeFrom); // before the data: a path that cannot be written fails at once
            string? dataOption = parseResult.GetValue(data);
            MnistData mnist = DataAccess.Load(dataOption, error, cancellationToken);
            if (epochCount is int wanted)
            {
                int loadedPerEpoch = options.IterationsPerEpoch(mnist.Train.Count);
                CheckEpochs(wanted, loadedPerEpoch, $"at batch {options.BatchSize} on {mnist.Train.Count} training images");
                options = options with { Iterations = wanted * loadedPerEpoch };
                if (resumeFrom is not null)
                {
                    CheckSomethingLeft(resumeFrom, options.Iterations);
                }
            }

            output.WriteLine($"data: {DataAccess.Describe(dataOption, mnist)}");
            int code = PrecisionDispatch.Run(chosen, new Work(options, spec, mnist, path, outputs, output, error, cancellationToken));
            return Task.FromResult(code);
        });
        return command;
    }

    /// <summary>--epochs: at least 1, and few enough that the run's iterations (<paramref name="perEpoch"/> an epoch) fit in 32 bits.</summary>
    private static void CheckEpochs(int? epochs, int perEpoch, string where)
    {
        if (epochs is < 1 || (long)(epochs ?? 0) * perEpoch > int.MaxValue)
        {
            throw new UsageException($"--epochs must be at least 1 and at most {int.MaxValue / perEpoch} {where} (got {epochs})");
        }
    }

    /// <summary>A resumed run must have iterations left to train.</summary>
    private static void CheckSomethingLeft(Checkpoint resumeFrom, int iterations)
    {
        if (resumeFrom.Progress.Iteration >= iterations)
        {
            throw new UsageException(
                $"--resume {resumeFrom.Model.Path}: the run is at iteration {resumeFrom.Progress.Iteration} of {iterations}: nothing left; give --iters above {resumeFrom.Progress.Iteration} to train further");
        }
    }

    /// <summary>train_convnet.py's max_epochs.</summary>
    private const int ConvnetEpochs = 20;

    /// <summary>train_convnet.py's evaluate_sample_num_per_epoch.</summary>
    private const int ConvnetEvaluationImages = 1000;

    /// <summary>An option given on the command line (not its default).</summary>
    private static bool IsGiven(ParseResult parseResult, Option option) =>
        parseResult.GetResult(option) is System.CommandLine.Parsing.OptionResult { Implicit: false };

    /// <summary>A resumed run refuses an option given with a value other than its checkpoint's.</summary>
    private static void Agree<TValue>(ParseResult parseResult, Option option, TValue given, TValue saved)
    {
        if (IsGiven(parseResult, option) && !EqualityComparer<TValue>.Default.Equals(given, saved))
        {
            throw new UsageException(
                $"{option.Name} {Shown(given)} differs from the checkpoint's {Shown(saved)}: a resumed run keeps its checkpoint's options (only --iters or --epochs, --threads, --isa and the output files may change)");
        }
    }

    private static string Shown<TValue>(TValue value) => value switch
    {
        double d => Format.Number(d),
        Precision p => Names.Of(p),
        OptimizerKind k => k.ToString().ToLowerInvariant(),
        GradientMethod g => g.ToString().ToLowerInvariant(),
        _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "",
    };

    private static int Run<T>(TrainingOptions options, NetworkSpec spec, MnistData mnist, IsaPath isa, TrainOutputs outputs, TextWriter output, TextWriter error, CancellationToken cancellationToken)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Dataset<T> train = DataAccess.ToDataset<T>(mnist.Train);
        Dataset<T> test = DataAccess.ToDataset<T>(mnist.Test);
        try
        {
            options.Validate(train.Count);
        }
        catch (ArgumentException e)
        {
            throw new UsageException(e.Message);
        }

        using var trainer = new Trainer<T>(options, train, test, isa);
        if (outputs.ResumeFrom is { } checkpoint)
        {
            try
            {
                trainer.Restore(checkpoint);
            }
            catch (ArgumentException e)
            {
                // The run's options are the checkpoint's own, so what does not fit is in the file.
                throw new ModelFileException($"{checkpoint.Model.Path}: {e.Message}", e);
            }
        }

        // An output that fails mid-run (a full disk, a file-size limit) stops the run as Ctrl+C does, at the end of a
        // step, and the run is kept in a checkpoint: nothing trained is lost.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        string? failure = null;
        void Fail(string message)
        {
            failure ??= message;
            stop.Cancel();
        }

        using MetricsFile? metrics = outputs.Metrics is { } metricsPath
            ? MetricsFile.Open(metricsPath, append: outputs.ResumeFrom is not null, e => Fail($"--metrics {metricsPath}: cannot write: {OutputFile.WriteFailure(e)}"))
            : null;

        string precision = Names.Of(Names.PrecisionOf<T>());
        output.WriteLine(
            $"train: {spec.Describe()}, {Name(options.Gradient)} gradient, {precision} precision, " +
            $"{options.Iterations} iterations of batch {options.BatchSize}, {OptimizerSettings.Name(options.Optimizer.Kind)} lr {Format.Number(options.Optimizer.LearningRate)}" +
            $"{(options.Optimizer.Kind is OptimizerKind.Momentum or OptimizerKind.Nesterov ? $" momentum {Format.Number(options.Optimizer.Momentum)}" : "")}, " +
            $"seed {options.Seed}, {Isa.Name(isa)} kernels, {options.Threads} thread{(options.Threads == 1 ? "" : "s")}; " +
            $"evaluation every {options.IterationsPerEpoch(train.Count)} iterations" +
            (options.EvaluationImages is { } sample ? $" on the first {sample} images of each set (all after the last step)" : "") +
            (outputs.ResumeFrom is { } from ? $"; resumed from {from.Model.Path} at iteration {from.Progress.Iteration}" : ""));
        output.WriteLine("epoch   iter   grad time (s)     loss   train acc   test acc");
        var progress = new ProgressLine(error);
        using var stepProgress = new TrainingProgress(error, progress.Enabled && options.Gradient == GradientMethod.Backprop,
            () => trainer.Iteration, options.Iterations, options.IterationsPerEpoch(train.Count));
        // The extra evaluation after a last step that is not an evaluation step says "end", not an epoch number.
        trainer.Evaluated = row =>
        {
            stepProgress.Clear();
            progress.Done();
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{(row.AfterLastStep ? "end" : row.Epoch.ToString(CultureInfo.InvariantCulture)),5} {row.Iteration,6} {row.GradientSeconds,15:F6} {row.Loss,8:F4} {row.TrainAccuracy,11:F4} {row.TestAccuracy,10:F4}"));
            metrics?.WriteEvaluation(row);
            if (outputs.CheckpointFile is { } checkpointFile && failure is null)
            {
                try
                {
                    trainer.SaveCheckpoint(checkpointFile);
                }
                catch (OutputFileException e)
                {
                    Fail($"--checkpoint {e.Message}");
                }
            }
        };
        if (metrics is not null)
        {
            trainer.StepLosses = metrics.WriteSteps;
        }

        int parameterCount = trainer.Network.Shape.ParameterCount;
        trainer.NumericalProgress = (iteration, done, total) =>
            progress.Report($"iteration {iteration}: numerical gradient", done, total, "parameters");

        TrainingResult result;
        try
        {
            result = trainer.Run(stop.Token);
        }
        catch (OperationCanceledException)
        {
            stepProgress.Dispose();
            progress.Done();
            // Ctrl+C or a failed output: the step under way has finished (or, in a numerical gradient, was undone); keep the run.
            (string? written, string? problem) = outputs.InterruptCheckpoint is not null || failure is not null
                ? SaveOrRescue(outputs.InterruptCheckpoint, outputs.Metrics, trainer.SaveCheckpoint)
                : (null, null);
            string kept = written is not null
                ? $"checkpoint written to {written}{(problem is null ? "" : $" ({problem})")} (continue with: simd train --resume {written})"
                : problem is not null ? $"no checkpoint could be written: {problem}" : "no checkpoint was requested (--checkpoint DIR or --save FILE keeps one)";
            if (failure is not null)
            {
                error.WriteLine($"simd: {Printable.Line(failure)}; training stopped at iteration {trainer.Iteration}; {Printable.Line(kept)}");
                return ExitCodes.DataError;
            }

            error.WriteLine($"simd: interrupted at iteration {trainer.Iteration}; {Printable.Line(kept)}");
            return ExitCodes.Interrupted;
        }
        finally
        {
            stepProgress.Dispose();
            progress.Done();
        }

        EpochReport final = result.Final;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"total {result.TotalSeconds:F3} s: gradients {result.GradientSeconds:F3} s, evaluation {result.EvaluationSeconds:F3} s ({(options.EvaluationImages is null ? $"{result.Epochs.Count} passes over {train.Count + test.Count} images" : $"{result.Epochs.Count} passes, {result.EvaluatedImages} images")}), {parameterCount} parameters"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"final (iteration {final.Iteration}): train accuracy {final.TrainAccuracy:F4}, test accuracy {final.TestAccuracy:F4}"));
        if (result.Iterations > 1)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"allocated in steps 1-{result.Iterations - 1}: {result.SteadyAllocatedBytes} bytes (whole process, GC.GetTotalAllocatedBytes; evaluation and output excluded)"));
        }

        metrics?.Flush();
        int code = ExitCodes.Success;
        if (outputs.Save is { } save)
        {
            (string? written, string? problem) = SaveOrRescue(save, null, path => ModelFile.Save(path, trainer.Network, CheckpointFile.OptionsLine(options)));
            if (problem is null)
            {
                output.WriteLine($"saved: {written}");
            }
            else
            {
                error.WriteLine(Printable.Line(written is not null
                    ? $"simd: {problem}; the trained network was written to {written} instead"
                    : $"simd: {problem}; the trained network could not be kept"));
                code = ExitCodes.DataError;
            }
        }

        if (failure is not null)
        {
            // The run finished, but its metrics file failed on the last write.
            error.WriteLine($"simd: {Printable.Line(failure)}");
            code = ExitCodes.DataError;
        }

        return code;
    }

    /// <summary>
    /// Writes with <paramref name="save"/> to <paramref name="target"/>; when that fails (or there is none), to a rescue
    /// place beside it or in $TMPDIR (<see cref="OutputFile.Rescue"/>), named after <paramref name="target"/> or else
    /// after <paramref name="besideFile"/>.
    /// </summary>
    /// <returns>The file written (null: none), and why the target itself was not (null: it was).</returns>
    private static (string? Written, string? Problem) SaveOrRescue(string? target, string? besideFile, Func<string, string> save)
    {
        string? problem = null;
        if (target is not null)
        {
            try
            {
                return (save(target), null);
            }
            catch (OutputFileException e)
            {
                problem = e.Message;
            }
        }

        string name = target ?? Path.ChangeExtension(besideFile ?? Path.Combine(Environment.CurrentDirectory, "simd"), null) + ".checkpoint.npz";
        string? rescued = OutputFile.Rescue(name, save, out string? reason);
        return (rescued, rescued is null
            ? $"{(problem is null ? "it could not" : problem + "; nor could it")} be written beside it or in {Path.GetTempPath()}: {reason}"
            : problem);
    }

    private static string Name(GradientMethod method) => method == GradientMethod.Numerical ? "numerical" : "backprop";

    private sealed class Work(TrainingOptions options, NetworkSpec spec, MnistData mnist, IsaPath isa, TrainOutputs outputs, TextWriter output, TextWriter error, CancellationToken cancellationToken)
        : IPrecisionWork<int>
    {
        public int Run<T>()
            where T : unmanaged, IFloatingPointIeee754<T>
            => TrainCommand.Run<T>(options, spec, mnist, isa, outputs, output, error, cancellationToken);
    }
}
