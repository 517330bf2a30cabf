using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Running;
using Simd.Kernels;
using Simd.Training;
using Simd.Training.Layers;

namespace Simd.Bench;

/// <summary>
/// The book's ch. 7 SimpleConvNet (conv30x5-relu-pool2-affine100-relu-affine10) as train_convnet.py runs it, float32
/// on the widest ISA path, 1 and 2 threads: one training step at batch 100 (sampling, backprop, Adam lr 0.001) and
/// the evaluation of 10,000 images. Synthetic images (random pixels): the time does not depend on the pixel values,
/// and the steps are those of early training, before any optimizer state could decay to subnormals.
/// </summary>
[Config(typeof(KernelConfig))]
public class ConvNetBenchmarks : IFlopBenchmark, IDisposable
{
    private const int Batch = BookDefaults.BatchSize, TestImages = 10_000;
    private static readonly LayerStack Stack = LayerStack.Named("simple-convnet")!;
    private Trainer<float>? _trainer;
    private Dataset<float>? _test;

    [Params(1, 2)]
    public int Threads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _test = TrainingBenchmarks.Synthetic<float>(TestImages, seed: 2);
        var options = new TrainingOptions
        {
            Threads = Threads, Iterations = int.MaxValue, Layers = Stack.ToString(),
            Optimizer = new OptimizerSettings(OptimizerKind.Adam, 0.001),
        };
        _trainer = new Trainer<float>(options, TrainingBenchmarks.Synthetic<float>(60_000, seed: 1), _test, BenchIsa.Chosen);
    }

    [GlobalCleanup]
    public void Dispose()
    {
        _trainer?.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>Sampling a batch of 100, the backprop gradient and Adam's update.</summary>
    [Benchmark]
    public double TrainingStep() => _trainer!.Step();

    /// <summary>Accuracy over 10,000 images (the test set's size).</summary>
    [Benchmark]
    public int Evaluation() => _trainer!.Network.CountCorrect(_test!);

    public double FlopsFor(BenchmarkCase benchmarkCase) => benchmarkCase.Descriptor.WorkloadMethod.Name switch
    {
        nameof(Evaluation) => FlopCount.Forward(Stack, TestImages),
        _ => FlopCount.Backprop(Stack, Batch),
    };

    public (IsaPath Isa, bool Double, int Cores) PathFor(BenchmarkCase benchmarkCase) =>
        (BenchIsa.Chosen, false, (int)benchmarkCase.Parameters[nameof(Threads)]);
}
