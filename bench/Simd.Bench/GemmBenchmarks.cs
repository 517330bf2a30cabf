using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Running;
using Simd.Kernels;
using Simd.Training;

namespace Simd.Bench;

/// <summary>The products of the network.</summary>
public enum GemmShape
{
    /// <summary>Z1 = X·W1: [100x784]·[784x50] (C = A·B).</summary>
    Forward,

    /// <summary>dW1 = Xᵀ·dZ1: [784x100]·[100x50] with X stored [100x784] (C = Aᵀ·B).</summary>
    WeightGradient,

    /// <summary>dA1 = dY·W2ᵀ: [100x10]·[10x50] with W2 stored [50x10] (C = A·Bᵀ).</summary>
    HiddenGradient,

    /// <summary>Z2 = A1·W2: [100x50]·[50x10].</summary>
    Output,

    /// <summary>Evaluation of the training set: [60000x784]·[784x50].</summary>
    Evaluation,
}

/// <summary>GEMM at the network's shapes, per ISA path and precision, one thread.</summary>
[Config(typeof(KernelConfig))]
public class GemmBenchmarks : IFlopBenchmark
{
    private float[] _aSingle = [], _bSingle = [], _biasSingle = [], _cSingle = [];
    private double[] _aDouble = [], _bDouble = [], _biasDouble = [], _cDouble = [];

    [ParamsAllValues]
    public GemmShape Shape { get; set; }

    [ParamsSource(nameof(Paths))]
    public IsaPath Isa { get; set; }

    [ParamsAllValues]
    public Precision Precision { get; set; }

    public static IEnumerable<IsaPath> Paths => Kernels.Isa.Supported;

    [GlobalSetup]
    public void Setup()
    {
        (int m, int k, int n) = Dimensions(Shape);
        var rng = new Rng(3);
        _aSingle = [.. Enumerable.Range(0, m * k).Select(_ => (float)rng.NextDouble())];
        _bSingle = [.. Enumerable.Range(0, k * n).Select(_ => (float)(rng.NextDouble() - 0.5))];
        _biasSingle = [.. Enumerable.Range(0, n).Select(_ => (float)rng.NextDouble())];
        _cSingle = new float[m * n];
        _aDouble = [.. _aSingle.Select(v => (double)v)];
        _bDouble = [.. _bSingle.Select(v => (double)v)];
        _biasDouble = [.. _biasSingle.Select(v => (double)v)];
        _cDouble = new double[m * n];
    }

    [Benchmark]
    public void Gemm()
    {
        if (Precision == Precision.Single)
        {
            Run<float>(_aSingle, _bSingle, _biasSingle, _cSingle);
        }
        else
        {
            Run<double>(_aDouble, _bDouble, _biasDouble, _cDouble);
        }
    }

    public double FlopsFor(BenchmarkCase benchmarkCase)
    {
        (int m, int k, int n) = Dimensions((GemmShape)benchmarkCase.Parameters[nameof(Shape)]);
        return 2.0 * m * k * n;
    }

    public (IsaPath Isa, bool Double, int Cores) PathFor(BenchmarkCase benchmarkCase) =>
        ((IsaPath)benchmarkCase.Parameters[nameof(Isa)], (Precision)benchmarkCase.Parameters[nameof(Precision)] == Precision.Double, 1);

    /// <summary>(m, k, n) of C[m, n] = A[m, k]·B[k, n], whatever the storage.</summary>
    public static (int M, int K, int N) Dimensions(GemmShape shape) => shape switch
    {
        GemmShape.Forward => (100, 784, 50),
        GemmShape.WeightGradient => (784, 100, 50),
        GemmShape.HiddenGradient => (100, 10, 50),
        GemmShape.Output => (100, 50, 10),
        _ => (60_000, 784, 50),
    };

    private void Run<T>(T[] a, T[] b, T[] bias, T[] c)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        (int m, int k, int n) = Dimensions(Shape);
        switch (Shape)
        {
            case GemmShape.WeightGradient:
                GemmTN.Multiply<T>(Isa, a, m, b, m, k, n, c); // A stored [k, m]
                break;
            case GemmShape.HiddenGradient:
                GemmNT.Multiply<T>(Isa, a, b, m, k, n, c);    // B stored [n, k]
                break;
            default:
                GemmNN.Multiply<T>(Isa, a, b, bias, m, k, n, c);
                break;
        }
    }
}
