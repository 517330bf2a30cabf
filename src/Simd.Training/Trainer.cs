using System.Diagnostics;
using System.Numerics;
using Simd.Kernels;

namespace Simd.Training;

/// <summary>
/// The book's train_neuralnet.py: each iteration draws a batch with replacement, computes the
/// gradient (backprop or numerical), applies SGD; every <see cref="TrainingOptions.IterationsPerEpoch"/>
/// iterations (0, 600, 1200, ...) it measures accuracy on the whole training and test sets.
/// The step allocates nothing: sampling, gradient, update and timing all work in the workspace.
/// </summary>
public sealed class Trainer<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly TrainingOptions _options;
    private readonly Dataset<T> _train;
    private readonly Dataset<T> _test;
    private Rng _sampler;

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
        var shape = new NetworkShape(train.Features, options.HiddenSize, train.ClassCount);
        Network = new TwoLayerNet<T>(shape, options.Activation, isa, options.Seed, options.BatchSize);
        // The sampler has its own stream, so changing the initialisation never changes the batches.
        _sampler = new Rng(~options.Seed);
    }

    public TwoLayerNet<T> Network { get; }

    /// <summary>Called after each evaluation row (on the training thread).</summary>
    public Action<EpochReport>? Evaluated { get; set; }

    /// <summary>Numerical gradient only: (iteration, parameters done, parameter count), now and then.</summary>
    public Action<int, int, int>? NumericalProgress { get; set; }

    /// <summary>Runs the whole loop and returns every evaluation row and the timings.</summary>
    public TrainingResult Run()
    {
        Workspace<T> ws = Network.Workspace;
        int batch = _options.BatchSize;
        int perEpoch = _options.IterationsPerEpoch(_train.Count);
        T learningRate = T.CreateTruncating(_options.LearningRate);
        var epochs = new List<EpochReport>(_options.Iterations / perEpoch + 1);
        int currentIteration = 0;
        Action<int, int>? progress = NumericalProgress is { } report ? (done, total) => report(currentIteration, done, total) : null;

        long loopStart = Stopwatch.GetTimestamp();
        long gradientTicks = 0, epochGradientTicks = 0, evaluationTicks = 0;
        double epochLoss = 0;
        int epochSteps = 0;
        for (int i = 0; i < _options.Iterations; i++)
        {
            currentIteration = i;
            SampleBatch(batch);
            long start = Stopwatch.GetTimestamp();
            T loss = _options.Gradient == GradientMethod.Backprop
                ? Network.Gradient(ws.BatchImages, ws.BatchLabels, batch, ws.Gradients)
                : NumericalStep(batch, progress);
            long elapsed = Stopwatch.GetTimestamp() - start;
            gradientTicks += elapsed;
            epochGradientTicks += elapsed;
            epochLoss += double.CreateTruncating(loss);
            epochSteps++;
            Network.Update(ws.Gradients, learningRate);

            if (i % perEpoch == 0)
            {
                long evalStart = Stopwatch.GetTimestamp();
                double trainAccuracy = Network.Accuracy(_train);
                double testAccuracy = Network.Accuracy(_test);
                long evalTicks = Stopwatch.GetTimestamp() - evalStart;
                evaluationTicks += evalTicks;
                var row = new EpochReport(epochs.Count, i, Seconds(epochGradientTicks), epochLoss / epochSteps,
                    trainAccuracy, testAccuracy, Seconds(evalTicks));
                epochs.Add(row);
                Evaluated?.Invoke(row);
                epochGradientTicks = 0;
                epochLoss = 0;
                epochSteps = 0;
            }
        }

        return new TrainingResult(epochs, _options.Iterations, Seconds(Stopwatch.GetTimestamp() - loopStart),
            Seconds(gradientTicks), Seconds(evaluationTicks));
    }

    /// <summary>np.random.choice(train_size, batch_size): indices drawn with replacement; copies images and labels in.</summary>
    private void SampleBatch(int batch)
    {
        Workspace<T> ws = Network.Workspace;
        Span<int> indices = ws.BatchIndices[..batch];
        Span<T> images = ws.BatchImages;
        Span<byte> labels = ws.BatchLabels;
        ReadOnlySpan<byte> trainLabels = _train.Labels;
        int features = _train.Features;
        for (int r = 0; r < batch; r++)
        {
            int index = _sampler.NextInt(_train.Count);
            indices[r] = index;
            _train.Image(index).CopyTo(images.Slice(r * features, features));
            labels[r] = trainLabels[index];
        }
    }

    private T NumericalStep(int batch, Action<int, int>? progress)
    {
        Workspace<T> ws = Network.Workspace;
        Network.NumericalGradient(ws.BatchImages, ws.BatchLabels, batch, ws.Gradients, progress);
        return Network.Loss(ws.BatchImages, ws.BatchLabels, batch);
    }

    private static double Seconds(long ticks) => ticks / (double)Stopwatch.Frequency;
}
