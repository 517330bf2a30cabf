using System.Globalization;
using Simd.Kernels;

namespace Simd.Training.Experiments;

/// <summary>
/// The book's chapter-6 experiments, each as its script sets it up: the runs (options and images) for the trained
/// ones, the computation itself for the activation histograms. The CLI only prints, writes and draws them.
/// </summary>
public static class BookExperiments
{
    /// <summary>The experiments, by name, with the book's script each reproduces.</summary>
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

    /// <summary>784-100x4-10 ReLU/He, batches of 128, 2000 iterations, the same batches for SGD, Momentum, AdaGrad, Adam (and Nesterov, RMSprop).</summary>
    public static IReadOnlyList<ExperimentRun> Optimizers(ExperimentSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var runs = new List<ExperimentRun>();
        foreach (OptimizerKind kind in (OptimizerKind[])[OptimizerKind.Sgd, OptimizerKind.Momentum, OptimizerKind.AdaGrad, OptimizerKind.Adam, OptimizerKind.Nesterov, OptimizerKind.RmsProp])
        {
            // optimizer.py's own defaults: SGD 0.01 here (the ch. 4 run's 0.1 is train_neuralnet.py's).
            double lr = kind == OptimizerKind.Sgd ? 0.01 : OptimizerSettings.DefaultLearningRate(kind);
            runs.Add(OnAllImages(OptimizerSettings.Name(kind), DeepOptions(settings) with { Optimizer = new OptimizerSettings(kind, lr) }));
        }

        return runs;
    }

    /// <summary>The same network with SGD lr 0.01: std 0.01 against Xavier against He.</summary>
    public static IReadOnlyList<ExperimentRun> Init(ExperimentSettings settings) =>
        [.. new[] { ("std=0.01", WeightInit.Book), ("Xavier", WeightInit.Xavier), ("He", WeightInit.He) }
            .Select(c => OnAllImages(c.Item1, DeepOptions(settings) with { Init = c.Item2, Optimizer = new OptimizerSettings(OptimizerKind.Sgd, 0.01) }))];

    /// <summary>
    /// Overfitting on 300 training images, 784-100x6-10 ReLU/He, SGD lr 0.01, batches of 100: without and with
    /// weight decay λ 0.1 (201 epochs), or without and with dropout 0.2 (301 epochs, the book's Trainer).
    /// </summary>
    public static IReadOnlyList<ExperimentRun> Overfit(ExperimentSettings settings, bool dropout)
    {
        ArgumentNullException.ThrowIfNull(settings);
        const int Images = 300, Batch = 100;
        int epochs = settings.Scale(dropout ? 301 : 201);
        var options = new TrainingOptions
        {
            HiddenSizes = [100, 100, 100, 100, 100, 100], Activation = Activation.Relu, Init = WeightInit.He,
            Optimizer = new OptimizerSettings(OptimizerKind.Sgd, 0.01), BatchSize = Batch,
            Iterations = ((epochs - 1) * (Images / Batch)) + 1, // evaluations at 0, 3, ..., as many as epochs
            Seed = settings.Seed, Threads = settings.Threads,
        };
        var train = new ImageSelection(ExperimentSplit.Train, [.. Enumerable.Range(0, Images)]);
        var test = new ImageSelection(ExperimentSplit.Test);
        return
        [
            new ExperimentRun("none", options, train, test),
            dropout
                ? new ExperimentRun("dropout 0.2", options with { Dropout = 0.2 }, train, test)
                : new ExperimentRun("weight decay 0.1", options with { WeightDecay = 0.1 }, train, test),
        ];
    }

    /// <summary>
    /// Random search: 500 training images shuffled, 20% kept for validation (the runs' "test" set); 100 trials of
    /// lr = 10^U(-6, -2) and λ = 10^U(-8, -4) on 784-100x6-10, 50 epochs each. A trial's lr and λ are in its options.
    /// </summary>
    public static IReadOnlyList<ExperimentRun> Hyperparameters(ExperimentSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        const int Images = 500, Batch = 100;
        int trials = settings.Scale(100), epochs = settings.Scale(50);
        var rng = new Rng(settings.Seed);
        int[] order = [.. Enumerable.Range(0, Images)];
        for (int i = order.Length - 1; i > 0; i--)
        {
            int j = rng.NextInt(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }

        int validationCount = Images / 5;
        var validation = new ImageSelection(ExperimentSplit.Train, order[..validationCount]);
        var train = new ImageSelection(ExperimentSplit.Train, order[validationCount..]);
        var runs = new List<ExperimentRun>();
        for (int trial = 0; trial < trials; trial++)
        {
            double decay = Math.Pow(10, -8 + (4 * rng.NextDouble()));
            double lr = Math.Pow(10, -6 + (4 * rng.NextDouble()));
            var options = new TrainingOptions
            {
                HiddenSizes = [100, 100, 100, 100, 100, 100], Activation = Activation.Relu, Init = WeightInit.He,
                Optimizer = new OptimizerSettings(OptimizerKind.Sgd, lr), WeightDecay = decay, BatchSize = Batch,
                Iterations = epochs * ((Images - validationCount) / Batch), Seed = settings.Seed + (ulong)trial + 1, Threads = settings.Threads,
            };
            runs.Add(new ExperimentRun(string.Create(CultureInfo.InvariantCulture, $"trial {trial + 1}"), options, train, validation, Quiet: true));
        }

        return runs;
    }

    /// <summary>The initial weights' scales of <see cref="BatchNormalization"/>: np.logspace(0, -4, 16) (4 with Quick).</summary>
    public static double[] BatchNormScales(ExperimentSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        int scales = settings.Quick ? 4 : 16;
        return [.. Enumerable.Range(0, scales).Select(i => Math.Pow(10, -4.0 * i / (scales - 1)))];
    }

    /// <summary>The epochs of <see cref="BatchNormalization"/>: 20 (2 with Quick).</summary>
    public static int BatchNormEpochs(ExperimentSettings settings) => settings.Scale(20);

    /// <summary>
    /// With and without batch normalization over the initial weight scales of <see cref="BatchNormScales"/>: the first
    /// 1000 training images, 784-100x5-10 ReLU, SGD lr 0.01, batches of 100; training accuracy (the script measures the
    /// training images only: they are the "test" set here too). Runs in pairs, without then with, scale by scale.
    /// </summary>
    public static IReadOnlyList<ExperimentRun> BatchNormalization(ExperimentSettings settings)
    {
        const int Images = 1000, Batch = 100;
        int epochs = BatchNormEpochs(settings);
        var train = new ImageSelection(ExperimentSplit.Train, [.. Enumerable.Range(0, Images)]);
        var runs = new List<ExperimentRun>();
        foreach (double w in BatchNormScales(settings))
        {
            var options = new TrainingOptions
            {
                HiddenSizes = [100, 100, 100, 100, 100], Activation = Activation.Relu, Init = new WeightInit(WeightInitKind.StandardDeviation, w),
                Optimizer = new OptimizerSettings(OptimizerKind.Sgd, 0.01), BatchSize = Batch,
                Iterations = ((epochs - 1) * (Images / Batch)) + 1, Seed = settings.Seed, Threads = settings.Threads,
            };
            string scale = w.ToString("G3", CultureInfo.InvariantCulture);
            runs.Add(new ExperimentRun($"w {scale}", options, train, train, Quiet: true));
            runs.Add(new ExperimentRun($"w {scale} batch norm", options with { BatchNorm = true }, train, train, Quiet: true));
        }

        return runs;
    }

    /// <summary>The cases of <see cref="Activations"/>: the activation and the initial weights' std.</summary>
    public static IReadOnlyList<(string Label, Activation Activation, double Std)> ActivationCases { get; } =
    [
        ("sigmoid, std 1", Activation.Sigmoid, 1),
        ("sigmoid, std 0.01", Activation.Sigmoid, 0.01),
        ("sigmoid, Xavier", Activation.Sigmoid, Math.Sqrt(1.0 / ActivationUnits)),
        ("ReLU, std 0.01", Activation.Relu, 0.01),
        ("ReLU, Xavier", Activation.Relu, Math.Sqrt(1.0 / ActivationUnits)),
        ("ReLU, He", Activation.Relu, Math.Sqrt(2.0 / ActivationUnits)),
    ];

    /// <summary>Points of <see cref="Activations"/>: the rows of its input.</summary>
    public const int ActivationPoints = 1000;

    /// <summary>Units of each layer of <see cref="Activations"/>.</summary>
    public const int ActivationUnits = 100;

    /// <summary>Layers of <see cref="Activations"/>.</summary>
    public const int ActivationLayers = 5;

    /// <summary>Bins of each histogram of <see cref="Activations"/> over (0, 1), as the script's plt.hist.</summary>
    public const int ActivationBins = 30;

    /// <summary>
    /// 1000 points of N(0, 1)^100 through 5 layers of 100 units (no bias), for each case of <see cref="ActivationCases"/>
    /// (figs. 6-10, 6-11, 6-13, 6-14): each layer's activations as a histogram [case, layer, bin] of 30 bins over
    /// [0, 1] (1 falls in the last, as plt.hist(range=(0, 1)) puts it), and each layer's mean [case, layer].
    /// </summary>
    public static (int[,,] Histograms, double[,] Means) Activations(ulong seed, IsaPath isa)
    {
        const int Points = ActivationPoints, Units = ActivationUnits, Layers = ActivationLayers, Bins = ActivationBins;
        var cases = ActivationCases;
        var histograms = new int[cases.Count, Layers, Bins];
        var means = new double[cases.Count, Layers];
        for (int c = 0; c < cases.Count; c++)
        {
            var rng = new Rng(seed);
            double[] x = [.. Enumerable.Range(0, Points * Units).Select(_ => rng.NextGaussian())];
            var w = new double[Units * Units];
            var a = new double[Points * Units];
            for (int l = 0; l < Layers; l++)
            {
                for (int i = 0; i < w.Length; i++)
                {
                    w[i] = rng.NextGaussian() * cases[c].Std;
                }

                GemmNN.Multiply<double>(isa, x, w, [], Points, Units, Units, a);
                if (cases[c].Activation == Activation.Sigmoid)
                {
                    Sigmoid.Forward<double>(isa, a, a);
                }
                else
                {
                    Relu.Forward<double>(isa, a, a);
                }

                foreach (double v in a)
                {
                    if (v >= 0 && v <= 1)
                    {
                        histograms[c, l, Math.Min(Bins - 1, (int)(v * Bins))]++;
                    }
                }

                means[c, l] = a.Average();
                (x, a) = (a, x);
            }
        }

        return (histograms, means);
    }

    private static ExperimentRun OnAllImages(string label, TrainingOptions options) =>
        new(label, options, new ImageSelection(ExperimentSplit.Train), new ImageSelection(ExperimentSplit.Test));

    private static TrainingOptions DeepOptions(ExperimentSettings settings) => new()
    {
        HiddenSizes = [100, 100, 100, 100], Activation = Activation.Relu, Init = WeightInit.He, BatchSize = 128,
        Iterations = settings.Scale(2000), Seed = settings.Seed, Threads = settings.Threads,
    };
}
