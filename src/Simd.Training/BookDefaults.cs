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

    /// <summary>
    /// Rows of a weight matrix per block of the weight phase: each block's gradient, weight decay and
    /// update are one worker's (a multiple of the 512-bit GEMM tile's 8 rows; the book's W1 is 25 blocks, enough
    /// for two or four workers to balance by claiming).
    /// </summary>
    public const int WeightBlockRows = 32;

    /// <summary>
    /// The most weight blocks of one W a worker takes in one gradient-and-update call: 8 blocks of the ch. 7 network's
    /// 100-wide W2 are a 100 KB gradient, still in L2 when its update reads it (a worker's whole half was 860 KB,
    /// written out and read back). Rows are grouped however they come: each element's value does not depend on it.
    /// </summary>
    public const int WeightRunBlocks = 8;

    /// <summary>
    /// Features per block of a batch-normalization phase: each feature's sums run over every row in row
    /// order inside one block, so the block size changes no bit (16 float32 values: one cache line of a row).
    /// </summary>
    public const int FeatureBlock = 16;

    /// <summary>The most chunks an evaluation pass is split into; larger sets get larger chunks.</summary>
    public const int MaxEvaluationChunks = 1024;
}
