namespace Simd.Training;

/// <summary>
/// The book's settings (train_neuralnet.py, two_layer_net.py, gradient.py): the defaults of every
/// option, in one place.
/// </summary>
public static class BookDefaults
{
    public const int Iterations = 10_000;
    public const int BatchSize = 100;
    public const double LearningRate = 0.1;
    public const int HiddenSize = 50;

    /// <summary>weight_init_std: weights start as 0.01 * N(0, 1), biases at 0.</summary>
    public const double WeightInitStd = 0.01;

    /// <summary>h of the central difference (f(x+h) - f(x-h)) / 2h.</summary>
    public const double NumericalGradientStep = 1e-4;

    /// <summary>Images used by gradient_check.py.</summary>
    public const int GradientCheckImages = 3;

    /// <summary>Our default seed (the book's runs are unseeded; ours are reproducible).</summary>
    public const ulong Seed = 42;
}

/// <summary>Sizes that affect speed but never results.</summary>
public static class Tuning
{
    /// <summary>
    /// Images per evaluation chunk: enough rows for efficient GEMM tiles, few enough that the chunk's
    /// normalized images (128 x 784 floats, 400 KB) stay in L2 between normalizing and multiplying.
    /// </summary>
    public const int EvaluationChunkRows = 128;

    /// <summary>Work is split in whole multiples of this many rows: the widest GEMM tile's rows, so no split adds an edge tile.</summary>
    public const int RowAlignment = 8;

    /// <summary>
    /// The backprop's small weight work (dW2, db1, db2 and their updates) weighs about this many rows of
    /// dW1 (measured: 16 left that worker 5 µs behind, 48 and 80 balance); the worker that does it takes
    /// that many fewer rows of dW1.
    /// </summary>
    public const int SmallWeightWorkRows = 48;
}
