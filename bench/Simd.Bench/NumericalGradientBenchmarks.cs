using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using BenchmarkDotNet.Running;
using Simd.Kernels;
using Simd.Training;

namespace Simd.Bench;

/// <summary>
/// One numerical gradient of the book's network on a batch of 100: 79,520 full forward passes, 631 GFLOP
/// (the blog's 40 s in numpy). Seconds per operation, so few iterations.
/// </summary>
[Config(typeof(KernelConfig))]
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 1, iterationCount: 3, id: "Seconds")]
public class NumericalGradientBenchmarks : IFlopBenchmark, IDisposable
{
    private const int Batch = BookDefaults.BatchSize;
    private MultiLayerNet<float>? _single;
    private MultiLayerNet<double>? _double;
    private float[] _xs = [], _gs = [];
    private double[] _xd = [], _gd = [];
    private byte[] _labels = [];

    [Params(1, 2)]
    public int Threads { get; set; }

    [ParamsAllValues]
    public Precision Precision { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Rng(4);
        _xs = [.. Enumerable.Range(0, Batch * 784).Select(_ => (float)rng.NextDouble())];
        _xd = [.. _xs.Select(v => (double)v)];
        _labels = [.. Enumerable.Range(0, Batch).Select(i => (byte)(i % 10))];
        _gs = new float[NetworkShape.Book.ParameterCount];
        _gd = new double[NetworkShape.Book.ParameterCount];
        _single = new MultiLayerNet<float>(NetworkShape.Book, Activation.Sigmoid, BenchIsa.Chosen, BookDefaults.Seed, Batch, Threads);
        _double = new MultiLayerNet<double>(NetworkShape.Book, Activation.Sigmoid, BenchIsa.Chosen, BookDefaults.Seed, Batch, Threads);
    }

    [GlobalCleanup]
    public void Dispose()
    {
        _single?.Dispose();
        _double?.Dispose();
        GC.SuppressFinalize(this);
    }

    [Benchmark]
    public void NumericalGradient()
    {
        if (Precision == Precision.Single)
        {
            _single!.NumericalGradient(_xs, _labels, Batch, _gs);
        }
        else
        {
            _double!.NumericalGradient(_xd, _labels, Batch, _gd);
        }
    }

    public double FlopsFor(BenchmarkCase benchmarkCase) => FlopCount.NumericalGradient(NetworkShape.Book, Batch);

    public (IsaPath Isa, bool Double, int Cores) PathFor(BenchmarkCase benchmarkCase) =>
        (BenchIsa.Chosen, (Precision)benchmarkCase.Parameters[nameof(Precision)] == Precision.Double, (int)benchmarkCase.Parameters[nameof(Threads)]);
}
