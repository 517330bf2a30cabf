using System.Numerics;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Running;
using Simd.Kernels;
using Simd.Training;

namespace Simd.Bench;

/// <summary>
/// The training loop's pieces at the book's sizes, on the widest ISA path, for 1 and 2 threads:
/// one training step (sampling, backprop, SGD), one backprop gradient, one evaluation of all 70,000
/// images. Synthetic images (random pixels): the time does not depend on the pixel values.
/// </summary>
[Config(typeof(KernelConfig))]
public class TrainingBenchmarks : IFlopBenchmark, IDisposable
{
    private const int Batch = BookDefaults.BatchSize;
    private Bench<float>? _single;
    private Bench<double>? _double;

    [Params(1, 2)]
    public int Threads { get; set; }

    [ParamsAllValues]
    public Precision Precision { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        if (Precision == Precision.Single)
        {
            _single = new Bench<float>(Threads);
        }
        else
        {
            _double = new Bench<double>(Threads);
        }
    }

    [GlobalCleanup]
    public void Dispose()
    {
        _single?.Dispose();
        _double?.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>Sampling a batch of 100, the backprop gradient and the SGD update: one iteration of the book's loop.</summary>
    [Benchmark]
    public double TrainingStep() => Precision == Precision.Single ? _single!.Trainer.Step() : _double!.Trainer.Step();

    /// <summary>One backprop gradient on a batch of 100 (the blog's 1.1 ms in numpy).</summary>
    [Benchmark]
    public double BackpropGradient() => Precision == Precision.Single ? _single!.Gradient() : _double!.Gradient();

    /// <summary>Accuracy over all 70,000 images (60,000 train + 10,000 test), as every epoch of the book's loop.</summary>
    [Benchmark]
    public int Evaluation() => Precision == Precision.Single ? _single!.Evaluate() : _double!.Evaluate();

    public double FlopsFor(BenchmarkCase benchmarkCase) => benchmarkCase.Descriptor.WorkloadMethod.Name switch
    {
        nameof(Evaluation) => FlopCount.Forward(NetworkShape.Book, 70_000),
        _ => FlopCount.Backprop(NetworkShape.Book, Batch),
    };

    public (IsaPath Isa, bool Double, int Cores) PathFor(BenchmarkCase benchmarkCase) =>
        (BenchIsa.Chosen, (Precision)benchmarkCase.Parameters[nameof(Precision)] == Precision.Double, (int)benchmarkCase.Parameters[nameof(Threads)]);

    /// <summary>MNIST-sized random images and labels.</summary>
    internal static Dataset<T> Synthetic<T>(int count, ulong seed)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Rng(seed);
        byte[] pixels = new byte[count * 784];
        byte[] labels = new byte[count];
        for (int i = 0; i < pixels.Length; i++)
        {
            pixels[i] = (byte)rng.NextInt(256);
        }

        for (int i = 0; i < labels.Length; i++)
        {
            labels[i] = (byte)rng.NextInt(10);
        }

        return Dataset<T>.FromBytes(pixels, labels, count, 784, 10);
    }

    /// <summary>Everything one precision needs.</summary>
    private sealed class Bench<T> : IDisposable
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        private readonly T[] _x;
        private readonly byte[] _labels;
        private readonly T[] _gradients;

        public Bench(int threads)
        {
            Train = Synthetic<T>(60_000, seed: 1);
            Test = Synthetic<T>(10_000, seed: 2);
            Trainer = new Trainer<T>(new TrainingOptions { Threads = threads, Iterations = int.MaxValue }, Train, Test, BenchIsa.Chosen);
            (_x, _labels) = Train.Take([.. Enumerable.Range(0, Batch)]);
            _gradients = new T[NetworkShape.Book.ParameterCount];
        }

        public Dataset<T> Train { get; }

        public Dataset<T> Test { get; }

        public Trainer<T> Trainer { get; }

        public double Gradient() => double.CreateTruncating(Trainer.Network.Gradient(_x, _labels, Batch, _gradients));

        public int Evaluate() => Trainer.Network.CountCorrect(Train) + Trainer.Network.CountCorrect(Test);

        public void Dispose() => Trainer.Dispose();
    }
}
