using System.Diagnostics;
using System.Numerics;
using Simd.Kernels;

namespace Simd.Training;

/// <summary>
/// The book's train_neuralnet.py: each iteration draws a batch with replacement, computes the
/// gradient (backprop or numerical), applies the optimizer; every <see cref="TrainingOptions.IterationsPerEpoch"/>
/// iterations (0, 600, 1200, ...) it measures accuracy on the whole training and test sets.
/// A step allocates nothing: sampling, gradient, update and timing all work in the workspace.
/// </summary>
public sealed class Trainer<T> : IDisposable
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly TrainingOptions _options;
    private readonly Dataset<T> _train;
    private readonly Dataset<T> _test;
    private readonly Action<int, int> _numericalProgress;
    private Rng _sampler;
    private int _iteration;
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
        var shape = new NetworkShape(train.Features, options.HiddenSizes, train.ClassCount);
        Network = new MultiLayerNet<T>(shape, options.Activation, isa, options.Seed, options.BatchSize, options.Threads, options.Init, options.WeightDecay);
        // The sampler has its own stream, so changing the initialisation never changes the batches.
        _sampler = new Rng(~options.Seed);
        DrawSample(Network.Workspace.NextBatchIndices[..options.BatchSize]);
        _numericalProgress = (done, total) => NumericalProgress?.Invoke(_iteration, done, total);
    }

    public MultiLayerNet<T> Network { get; }

    /// <summary>Called after each evaluation row (on the training thread).</summary>
    public Action<EpochReport>? Evaluated { get; set; }

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
        DrawSample(ws.NextBatchIndices[..batch]);

        long start = Stopwatch.GetTimestamp();
        T loss = _options.Gradient == GradientMethod.Backprop
            ? Network.TrainStep(_train, batch, _options.Optimizer)
            : NumericalStep(batch, cancellationToken);
        long ticks = Stopwatch.GetTimestamp() - start;
        _gradientTicks += ticks;
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
        double epochLoss = 0;
        int epochSteps = 0;

        void Evaluate(int iteration, bool afterLastStep)
        {
            if (warmedUp)
            {
                allocated += GC.GetTotalAllocatedBytes(precise: true) - allocationMark;
            }

            long evalStart = Stopwatch.GetTimestamp();
            double trainAccuracy = Network.Accuracy(_train);
            double testAccuracy = Network.Accuracy(_test);
            long evalTicks = Stopwatch.GetTimestamp() - evalStart;
            evaluationTicks += evalTicks;
            var row = new EpochReport(epochs.Count, iteration, Seconds(_gradientTicks - epochStartTicks), epochLoss / epochSteps,
                trainAccuracy, testAccuracy, Seconds(evalTicks), afterLastStep);
            epochs.Add(row);
            TrainingEventSource.Log.Epoch(row.Epoch, row.Iteration, row.TrainAccuracy, row.TestAccuracy, row.Loss, row.GradientSeconds);
            Evaluated?.Invoke(row);
            epochStartTicks = _gradientTicks;
            epochLoss = 0;
            epochSteps = 0;
            warmedUp = true;
            allocationMark = GC.GetTotalAllocatedBytes(precise: true);
        }

        while (_iteration < _options.Iterations)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int i = _iteration;
            epochLoss += double.CreateTruncating(Step(cancellationToken));
            epochSteps++;
            if (i % perEpoch == 0)
            {
                Evaluate(i, afterLastStep: false);
            }
        }

        if (epochSteps > 0)
        {
            Evaluate(_iteration - 1, afterLastStep: true);
        }

        var result = new TrainingResult(epochs, _iteration, Seconds(Stopwatch.GetTimestamp() - loopStart), GradientSeconds, Seconds(evaluationTicks), allocated);
        TrainingEventSource.Log.RunStop(result.Iterations, result.TotalSeconds, result.GradientSeconds, result.EvaluationSeconds);
        return result;
    }

    public void Dispose() => Network.Dispose();

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
        Network.NumericalGradient(ws.BatchImagesMemory, ws.BatchLabelsMemory, batch, ws.GradientsMemory, _numericalProgress, cancellationToken);
        T loss = Network.Loss(ws.BatchImages, ws.BatchLabels, batch);
        Network.Update(ws.Gradients, _options.Optimizer);
        return loss;
    }

    private static double Seconds(long ticks) => ticks / (double)Stopwatch.Frequency;
}
