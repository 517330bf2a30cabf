using System.Diagnostics;
using System.Numerics;
using Simd.Kernels;
using Simd.Training.Models;

namespace Simd.Training;

/// <summary>
/// The book's train_neuralnet.py: each iteration draws a batch with replacement, computes the
/// gradient (backprop or numerical), applies the optimizer; every <see cref="TrainingOptions.IterationsPerEpoch"/>
/// iterations (0, 600, 1200, ...) it measures accuracy on the whole training and test sets.
/// A step allocates nothing: sampling, gradient, update and timing all work in the workspace, and the
/// steps' losses wait in a buffer until the next evaluation hands them to <see cref="StepLosses"/>.
/// A run can be saved (<see cref="SaveCheckpoint"/>) and continued (<see cref="Restore"/>) bitwise.
/// </summary>
public sealed class Trainer<T> : IDisposable
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly TrainingOptions _options;
    private readonly Dataset<T> _train;
    private readonly Dataset<T> _test;
    private readonly Action<int, int> _numericalProgress;
    private readonly double[] _stepLosses; // [steps per epoch] losses not yet handed to StepLosses
    private Rng _sampler;
    private int _iteration;
    private int _lossesHeld;
    private long _evaluatedImages; // images evaluated in this run, both sets
    private double _epochLoss;  // Σ loss of the steps since the last evaluation row
    private int _epochSteps;
    private long _gradientTicks;

    public Trainer(TrainingOptions options, Dataset<T> train, Dataset<T> test, IsaPath isa)
    {
        options.Validate(train.Count);
        if (test.Features != train.Features || test.ClassCount != train.ClassCount)
        {
            throw new ArgumentException(
                $"train and test sets differ in shape ({train.Features} vs {test.Features} values, {train.ClassCount} vs {test.ClassCount} classes)");
        }

        _options = options;
        _train = train;
        _test = test;
        Network = new MultiLayerNet<T>(options.StackFor(train.Features, train.ClassCount), isa, options.Seed, options.BatchSize, options.Threads, options.Init, options.WeightDecay);
        // The sampler has its own stream, so changing the initialisation never changes the batches.
        _sampler = new Rng(~options.Seed);
        DrawSample(Network.Workspace.NextBatchIndices[..options.BatchSize]);
        _numericalProgress = (done, total) => NumericalProgress?.Invoke(_iteration, done, total);
        _stepLosses = new double[options.IterationsPerEpoch(train.Count)];
    }

    /// <summary>Receives the losses of consecutive steps, the first being step <c>first</c> (0-based).</summary>
    public delegate void StepLossHandler(int first, ReadOnlySpan<double> losses);

    public MultiLayerNet<T> Network { get; }

    /// <summary>Called after each evaluation row (on the training thread).</summary>
    public Action<EpochReport>? Evaluated { get; set; }

    /// <summary>
    /// Every step's loss (the book's train_loss_list), handed over in order at each evaluation, when the buffer
    /// of one epoch's steps is full, and when <see cref="Run"/> ends or is cancelled — never inside a step.
    /// </summary>
    public StepLossHandler? StepLosses { get; set; }

    /// <summary>Numerical gradient only: (iteration, parameters done, parameter count), now and then.</summary>
    public Action<int, int, int>? NumericalProgress { get; set; }

    /// <summary>Steps taken so far.</summary>
    public int Iteration => _iteration;

    /// <summary>Time spent in gradient (and, for backprop, the fused update) so far.</summary>
    public double GradientSeconds => Seconds(_gradientTicks);

    /// <summary>
    /// One iteration: draw the batch, compute the gradient, apply the optimizer. Returns the batch loss (from the
    /// gradient's forward pass, before the update). Allocates nothing.
    /// </summary>
    /// <param name="cancellationToken">Checked by the numerical gradient between chunks of parameters (a backprop step is too short to need it).</param>
    /// <exception cref="TrainingDivergedException">The loss came out NaN or infinite.</exception>
    public T Step(CancellationToken cancellationToken = default)
    {
        int batch = _options.BatchSize;
        // This step's sample was drawn (and its images prefetched) last step; draw the next one now, in
        // the same order from the same generator, so the batches are exactly those of drawing each in turn.
        Workspace<T> ws = Network.Workspace;
        ws.NextBatchIndices[..batch].CopyTo(ws.BatchIndices);
        Rng samplerBefore = _sampler;
        DrawSample(ws.NextBatchIndices[..batch]);

        long start = Stopwatch.GetTimestamp();
        T loss;
        if (_options.Gradient == GradientMethod.Backprop)
        {
            loss = Network.TrainStep(_train, batch, _options.Optimizer);
        }
        else
        {
            try
            {
                loss = NumericalStep(batch, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                // Cancelled inside the gradient, before the update: back to the state before this step, so
                // that a checkpoint written now continues exactly (the next batch is this one again).
                _sampler = samplerBefore;
                ws.BatchIndices[..batch].CopyTo(ws.NextBatchIndices);
                throw;
            }
        }

        long ticks = Stopwatch.GetTimestamp() - start;
        _gradientTicks += ticks;
        if (_lossesHeld == _stepLosses.Length)
        {
            FlushStepLosses();
        }

        _stepLosses[_lossesHeld++] = double.CreateTruncating(loss);
        _iteration++;
        TrainingEventSource.Log.Step(batch, ticks, double.CreateTruncating(loss));
        if (!T.IsFinite(loss))
        {
            // The loss is bounded (-log(1e-7) per image) while the parameters are finite: NaN or infinity
            // means they no longer are, and every later step would only spread it.
            throw new TrainingDivergedException(_iteration - 1, double.CreateTruncating(loss));
        }

        return loss;
    }

    /// <summary>
    /// Runs the whole loop and returns every evaluation row and the timings. When the last step is not an
    /// evaluation step (say 1000 iterations, evaluated at 0 and 600), the network is evaluated once more
    /// after it, so the result is always the trained network's.
    /// </summary>
    /// <exception cref="TrainingDivergedException">The loss became NaN or infinite.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled (checked every step).</exception>
    public TrainingResult Run(CancellationToken cancellationToken = default)
    {
        int perEpoch = _options.IterationsPerEpoch(_train.Count);
        var epochs = new List<EpochReport>((_options.Iterations / perEpoch) + 2);
        TrainingEventSource.Log.RunStart(_options.Iterations, _options.BatchSize, _options.Threads, _options.HiddenSizes.Count > 0 ? _options.HiddenSizes[0] : 0, System.Runtime.CompilerServices.Unsafe.SizeOf<T>());
        long loopStart = Stopwatch.GetTimestamp();
        long evaluationTicks = 0, epochStartTicks = _gradientTicks;
        long allocated = 0, allocationMark = 0;
        bool warmedUp = false;

        // all: every image of both sets; else the first EvaluationImages when the options ask for a sample.
        void Evaluate(int iteration, bool afterLastStep, bool all)
        {
            if (warmedUp)
            {
                allocated += GC.GetTotalAllocatedBytes(precise: true) - allocationMark;
            }

            FlushStepLosses();
            long evalStart = Stopwatch.GetTimestamp();
            int count = all || _options.EvaluationImages is null ? int.MaxValue : _options.EvaluationImages.Value;
            _evaluatedImages += Math.Min(count, _train.Count) + Math.Min(count, _test.Count);
            double trainAccuracy = Network.Accuracy(_train, count);
            double testAccuracy = Network.Accuracy(_test, count);
            long evalTicks = Stopwatch.GetTimestamp() - evalStart;
            evaluationTicks += evalTicks;
            // Epochs count from the run's start, so a resumed run numbers its rows as the uninterrupted one.
            var row = new EpochReport(afterLastStep ? (iteration / perEpoch) + 1 : iteration / perEpoch, iteration, Seconds(_gradientTicks - epochStartTicks), _epochLoss / _epochSteps,
                trainAccuracy, testAccuracy, Seconds(evalTicks), afterLastStep);
            epochs.Add(row);
            TrainingEventSource.Log.Epoch(row.Epoch, row.Iteration, row.TrainAccuracy, row.TestAccuracy, row.Loss, row.GradientSeconds);
            Evaluated?.Invoke(row);
            epochStartTicks = _gradientTicks;
            if (!afterLastStep)
            {
                // After the last step nothing follows in this run, but a checkpoint written now must carry the
                // epoch's sums on, as a longer run would have them.
                _epochLoss = 0;
                _epochSteps = 0;
            }
            warmedUp = true;
            allocationMark = GC.GetTotalAllocatedBytes(precise: true);
        }

        try
        {
            while (_iteration < _options.Iterations)
            {
                cancellationToken.ThrowIfCancellationRequested();
                int i = _iteration;
                _epochLoss += double.CreateTruncating(Step(cancellationToken));
                _epochSteps++;
                if (i % perEpoch == 0)
                {
                    Evaluate(i, afterLastStep: false, all: i == _options.Iterations - 1);
                }
            }
        }
        catch
        {
            FlushStepLosses(); // cancelled or diverged: the steps taken are still reported
            throw;
        }

        if (_iteration > 0 && (_iteration - 1) % perEpoch != 0)
        {
            Evaluate(_iteration - 1, afterLastStep: true, all: true);
        }

        var result = new TrainingResult(epochs, _iteration, Seconds(Stopwatch.GetTimestamp() - loopStart), GradientSeconds, Seconds(evaluationTicks), allocated)
        {
            EvaluatedImages = _evaluatedImages,
        };
        TrainingEventSource.Log.RunStop(result.Iterations, result.TotalSeconds, result.GradientSeconds, result.EvaluationSeconds);
        return result;
    }

    public void Dispose() => Network.Dispose();

    /// <summary>
    /// Writes the run's state after the steps taken so far to <paramref name="path"/> (atomically): parameters,
    /// optimizer state, steps, the sampler's random state and the next batch, and the options.
    /// </summary>
    /// <exception cref="ModelFileException">The file cannot be written.</exception>
    /// <returns>The file written, in full (a symlink's target).</returns>
    /// <exception cref="Files.OutputFileException">It cannot be written; the old file is untouched.</exception>
    public string SaveCheckpoint(string path) =>
        CheckpointFile.Write(path, Network, _options, new CheckpointProgress(_iteration, _epochLoss, _epochSteps), _sampler.State, Network.Workspace.NextBatchIndices[.._options.BatchSize]);

    /// <summary>
    /// Continues from <paramref name="checkpoint"/>: its parameters, optimizer state, steps and random state
    /// replace this trainer's, so the steps that follow are bitwise those of the run that wrote it. This
    /// trainer's options must match the checkpoint's in everything but the iteration count and the threads.
    /// </summary>
    /// <exception cref="ArgumentException">The checkpoint is of another network, precision or run.</exception>
    public void Restore(Checkpoint checkpoint)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        TrainingOptions saved = checkpoint.Options with { Iterations = _options.Iterations, Threads = _options.Threads };
        if (!saved.HiddenSizes.SequenceEqual(_options.HiddenSizes) || saved with { HiddenSizes = _options.HiddenSizes } != _options)
        {
            throw new ArgumentException("the checkpoint was written by a run with other options");
        }

        if (checkpoint.Model.Precision != (typeof(T) == typeof(float) ? Precision.Single : Precision.Double))
        {
            throw new ArgumentException($"the checkpoint holds {checkpoint.Model.Parameters[0].Descr} parameters; this run is {typeof(T).Name}");
        }

        if (checkpoint.Progress.Iteration > _options.Iterations)
        {
            throw new ArgumentException($"the checkpoint is at iteration {checkpoint.Progress.Iteration}, past this run's {_options.Iterations}");
        }

        if (checkpoint.NextBatch.Any(index => index < 0 || index >= _train.Count))
        {
            throw new ArgumentException($"the checkpoint's next batch holds indices outside the {_train.Count} training images");
        }

        Workspace<T> ws = Network.Workspace;
        checkpoint.Model.CopyParametersTo(Network.Parameters);
        checkpoint.Model.CopyRunningStatisticsTo(Network);
        checkpoint.State1.ToFloating<T>().CopyTo(ws.OptimizerState1);
        checkpoint.State2.ToFloating<T>().CopyTo(ws.OptimizerState2);
        Network.Updates = checkpoint.Updates;
        _sampler = Rng.FromState(checkpoint.Sampler);
        checkpoint.NextBatch.CopyTo(ws.NextBatchIndices);
        _iteration = checkpoint.Progress.Iteration;
        _epochLoss = checkpoint.Progress.EpochLoss;
        _epochSteps = checkpoint.Progress.EpochSteps;
        _lossesHeld = 0;
    }

    private void FlushStepLosses()
    {
        if (_lossesHeld > 0)
        {
            StepLosses?.Invoke(_iteration - _lossesHeld, _stepLosses.AsSpan(0, _lossesHeld));
            _lossesHeld = 0;
        }
    }

    /// <summary>np.random.choice(train_size, batch_size): indices drawn with replacement.</summary>
    private void DrawSample(Span<int> indices)
    {
        for (int r = 0; r < indices.Length; r++)
        {
            indices[r] = _sampler.NextInt(_train.Count);
        }
    }

    private T NumericalStep(int batch, CancellationToken cancellationToken)
    {
        Workspace<T> ws = Network.Workspace;
        Network.GatherBatch(_train, batch);
        Network.NumericalGradient(ws.BatchImagesMemory, ws.BatchLabelsMemory, batch, ws.GradientsMemory, _numericalProgress, cancellationToken: cancellationToken);
        T loss = Network.Loss(ws.BatchImages, ws.BatchLabels, batch);
        Network.Update(ws.Gradients, _options.Optimizer);
        return loss;
    }

    private static double Seconds(long ticks) => ticks / (double)Stopwatch.Frequency;
}
