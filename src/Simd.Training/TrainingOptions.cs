namespace Simd.Training;

/// <summary>
/// Everything that defines a training run; the defaults are the book's ch. 4 run (train_neuralnet.py:
/// 784-50-10 sigmoid, weights 0.01·N(0, 1), SGD lr 0.1, batches of 100, 10,000 iterations).
/// </summary>
public sealed record TrainingOptions
{
    public int Iterations { get; init; } = BookDefaults.Iterations;

    public int BatchSize { get; init; } = BookDefaults.BatchSize;

    /// <summary>The hidden layers' sizes (the book's hidden_size_list): [50] for the ch. 4 network.</summary>
    public IReadOnlyList<int> HiddenSizes { get; init; } = [BookDefaults.HiddenSize];

    public Activation Activation { get; init; } = Activation.Sigmoid;

    /// <summary>Initial weights (the book's weight_init_std).</summary>
    public WeightInit Init { get; init; } = WeightInit.Book;

    public OptimizerSettings Optimizer { get; init; } = OptimizerSettings.Book;

    /// <summary>λ of the weight decay (the book's weight_decay_lambda); 0 for none.</summary>
    public double WeightDecay { get; init; }

    /// <summary>Batch normalization before every hidden activation (the book's use_batchnorm).</summary>
    public bool BatchNorm { get; init; }

    /// <summary>The dropout ratio after every hidden activation (the book's dropout_ration); 0 for none.</summary>
    public double Dropout { get; init; }

    public GradientMethod Gradient { get; init; } = GradientMethod.Backprop;

    /// <summary>
    /// The network's layers in the <c>--layers</c> grammar (conv30x5-relu-pool2-affine100-relu-affine10), or null for the
    /// fully connected network of <see cref="HiddenSizes"/>, <see cref="Activation"/>, <see cref="BatchNorm"/> and <see cref="Dropout"/>.
    /// </summary>
    public string? Layers { get; init; }

    /// <summary>
    /// Images of each set the evaluation of every epoch takes, the first ones (the book's evaluate_sample_num_per_epoch:
    /// train_convnet.py evaluates 1000); null for all, as train_neuralnet.py. The row after the last step takes all.
    /// </summary>
    public int? EvaluationImages { get; init; }

    /// <summary>The network these options train on images of <paramref name="features"/> values (MNIST's 28x28 for a convolution) and <paramref name="classes"/> classes.</summary>
    /// <exception cref="Training.Layers.LayerSpecException">The layers do not fit.</exception>
    public Layers.LayerStack StackFor(int features, int classes)
    {
        if (Layers is null)
        {
            return Training.Layers.LayerStack.FullyConnected(features, HiddenSizes, classes, Activation, BatchNorm, Dropout);
        }

        var image = features == Training.Layers.LayerStack.MnistImage.Length ? Training.Layers.LayerStack.MnistImage : new Training.Layers.TensorShape(features);
        Training.Layers.LayerStack stack = Training.Layers.LayerStack.Parse(Layers, image);
        return stack.OutputSize == classes
            ? stack
            : throw new Training.Layers.LayerSpecException($"'{stack.Layers[^1].Token}': the last affine layer gives the classes, {classes} here");
    }

    public ulong Seed { get; init; } = BookDefaults.Seed;

    /// <summary>Worker threads sharing each step (1 = the calling thread alone). Results do not depend on it.</summary>
    public int Threads { get; init; } = 1;

    /// <summary>Throws <see cref="ArgumentException"/> with a one-line message naming the setting.</summary>
    public void Validate(int trainCount)
    {
        Require(Iterations >= 1, $"iterations must be at least 1 (got {Iterations})");
        Require(BatchSize >= 1, $"the batch size must be at least 1 (got {BatchSize})");
        Require(HiddenSizes.All(size => size >= 1), $"every hidden layer needs at least 1 unit (got {string.Join(",", HiddenSizes)})");
        Require(double.IsFinite(Optimizer.LearningRate) && Optimizer.LearningRate > 0,
            $"the learning rate must be a positive finite number (got {Optimizer.LearningRate})");
        Require(double.IsFinite(WeightDecay) && WeightDecay >= 0, $"the weight decay must be a finite number, 0 or more (got {WeightDecay})");
        Require(Dropout is >= 0 and < 1, $"the dropout ratio must be at least 0 and below 1 (got {Dropout})");
        Require(Init.Kind != WeightInitKind.StandardDeviation || (double.IsFinite(Init.Value) && Init.Value > 0),
            $"the initial weights' standard deviation must be a positive finite number (got {Init.Value})");
        Require(Threads >= 1, $"threads must be at least 1 (got {Threads})");
        Require(EvaluationImages is null or >= 1, $"the images evaluated each epoch must be at least 1 (got {EvaluationImages})");
        Require(trainCount >= 1, "the training set is empty");
    }

    /// <summary>
    /// Iterations per "epoch" (the evaluation interval): the book's max(train_size / batch_size, 1),
    /// 600 for 60,000 images in batches of 100. Integer division, so every batch size gets a regular interval.
    /// </summary>
    public int IterationsPerEpoch(int trainCount) => Math.Max(trainCount / BatchSize, 1);

    private static void Require(bool condition, string message)
    {
        if (!condition)
        {
            throw new ArgumentException(message);
        }
    }
}
