namespace Simd.Training;

/// <summary>Everything that defines a training run; the defaults are the book's train_neuralnet.py.</summary>
public sealed record TrainingOptions
{
    public int Iterations { get; init; } = BookDefaults.Iterations;

    public int BatchSize { get; init; } = BookDefaults.BatchSize;

    public double LearningRate { get; init; } = BookDefaults.LearningRate;

    public int HiddenSize { get; init; } = BookDefaults.HiddenSize;

    public Activation Activation { get; init; } = Activation.Sigmoid;

    public GradientMethod Gradient { get; init; } = GradientMethod.Backprop;

    public ulong Seed { get; init; } = BookDefaults.Seed;

    /// <summary>Worker threads sharing each step (1 = the calling thread alone). Results do not depend on it.</summary>
    public int Threads { get; init; } = 1;

    /// <summary>Throws <see cref="ArgumentException"/> with a one-line message for the user.</summary>
    public void Validate(int trainCount)
    {
        if (Iterations < 1)
        {
            throw new ArgumentException($"--iters must be at least 1 (got {Iterations})");
        }

        if (BatchSize < 1)
        {
            throw new ArgumentException($"--batch must be at least 1 (got {BatchSize})");
        }

        if (!double.IsFinite(LearningRate) || LearningRate <= 0)
        {
            throw new ArgumentException($"--lr must be a positive finite number (got {LearningRate})");
        }

        if (HiddenSize < 1)
        {
            throw new ArgumentException($"--hidden must be at least 1 (got {HiddenSize})");
        }

        if (Threads < 1)
        {
            throw new ArgumentException($"--threads must be at least 1 (got {Threads})");
        }

        if (trainCount < 1)
        {
            throw new ArgumentException("the training set is empty");
        }
    }

    /// <summary>
    /// Iterations per "epoch" (the evaluation interval): the book's max(train_size / batch_size, 1),
    /// 600 for 60,000 images in batches of 100. Integer division, so every batch size gets a regular interval.
    /// </summary>
    public int IterationsPerEpoch(int trainCount) => Math.Max(trainCount / BatchSize, 1);
}
