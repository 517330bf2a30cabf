using BenchmarkDotNet.Attributes;
using Simd.Kernels;
using Simd.Training;

namespace Simd.Bench;

/// <summary>
/// One backprop gradient and one loss (a forward pass) of the book's network on a batch of 100,
/// per precision. Synthetic images: the time does not depend on pixel values.
/// </summary>
[MemoryDiagnoser]
public class GradientBenchmarks
{
    private const int Batch = 100;
    private TwoLayerNet<float> _single = null!;
    private TwoLayerNet<double> _double = null!;
    private float[] _xSingle = null!;
    private double[] _xDouble = null!;
    private byte[] _labels = null!;
    private float[] _gradSingle = null!;
    private double[] _gradDouble = null!;

    [GlobalSetup]
    public void Setup()
    {
        IsaPath isa = Isa.Best;
        _single = new TwoLayerNet<float>(NetworkShape.Book, Activation.Sigmoid, isa, BookDefaults.Seed, Batch);
        _double = new TwoLayerNet<double>(NetworkShape.Book, Activation.Sigmoid, isa, BookDefaults.Seed, Batch);
        var rng = new Rng(1);
        _xSingle = [.. Enumerable.Range(0, Batch * 784).Select(_ => (float)rng.NextDouble())];
        _xDouble = [.. _xSingle.Select(v => (double)v)];
        _labels = [.. Enumerable.Range(0, Batch).Select(i => (byte)(i % 10))];
        _gradSingle = new float[NetworkShape.Book.ParameterCount];
        _gradDouble = new double[NetworkShape.Book.ParameterCount];
    }

    [Benchmark]
    public float BackpropSingle() => _single.Gradient(_xSingle, _labels, Batch, _gradSingle);

    [Benchmark]
    public double BackpropDouble() => _double.Gradient(_xDouble, _labels, Batch, _gradDouble);

    [Benchmark]
    public float LossSingle() => _single.Loss(_xSingle, _labels, Batch);
}
