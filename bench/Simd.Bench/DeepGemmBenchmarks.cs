using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Running;
using Simd.Kernels;
using Simd.Training;

namespace Simd.Bench;

/// <summary>The products of ch. 6's deeper and wider networks (MultiLayerNet), one thread, on the widest path.</summary>
public enum DeepGemmShape
{
    /// <summary>A hidden layer of optimizer_compare_mnist.py's 784-100-100-100-100-10, batch 128: [128x100]·[100x100].</summary>
    Hidden100,

    /// <summary>Its weight gradient: [100x128]·[128x100] (C = Aᵀ·B).</summary>
    Hidden100WeightGradient,

    /// <summary>Its input gradient: [128x100]·[100x100]ᵀ (C = A·Bᵀ).</summary>
    Hidden100InputGradient,

    /// <summary>The first layer of that network: [128x784]·[784x100].</summary>
    Input784To100,

    /// <summary>A 1024-wide layer, batch 1: [1x1024]·[1024x1024].</summary>
    Wide1024Batch1,

    /// <summary>A 1024-wide layer, batch 128.</summary>
    Wide1024Batch128,

    /// <summary>A 1024-wide layer, batch 1000.</summary>
    Wide1024Batch1000,

    /// <summary>Its weight gradient at batch 128: [1024x128]·[128x1024] (C = Aᵀ·B).</summary>
    Wide1024WeightGradient,
}

/// <summary>GEMM beyond the book's shapes (the goal: at least 70% of the path's peak on one core).</summary>
[Config(typeof(KernelConfig))]
public class DeepGemmBenchmarks : IFlopBenchmark
{
    private float[] _a = [], _b = [], _bias = [], _c = [];

    [ParamsAllValues]
    public DeepGemmShape Shape { get; set; }

    public static IsaPath Path => Kernels.Isa.Best;

    [GlobalSetup]
    public void Setup()
    {
        (int m, int k, int n) = Dimensions(Shape);
        var rng = new Rng(5);
        _a = [.. Enumerable.Range(0, m * k).Select(_ => (float)rng.NextDouble())];
        _b = [.. Enumerable.Range(0, k * n).Select(_ => (float)(rng.NextDouble() - 0.5))];
        _bias = [.. Enumerable.Range(0, n).Select(_ => (float)rng.NextDouble())];
        _c = new float[m * n];
    }

    [Benchmark]
    public void Gemm()
    {
        (int m, int k, int n) = Dimensions(Shape);
        switch (Shape)
        {
            case DeepGemmShape.Hidden100WeightGradient or DeepGemmShape.Wide1024WeightGradient:
                GemmTN.Multiply<float>(Path, _a, m, _b, m, k, n, _c); // A stored [k, m]
                break;
            case DeepGemmShape.Hidden100InputGradient:
                GemmNT.Multiply<float>(Path, _a, _b, m, k, n, _c);    // B stored [n, k]
                break;
            default:
                GemmNN.Multiply<float>(Path, _a, _b, _bias, m, k, n, _c);
                break;
        }
    }

    public double FlopsFor(BenchmarkCase benchmarkCase)
    {
        (int m, int k, int n) = Dimensions((DeepGemmShape)benchmarkCase.Parameters[nameof(Shape)]);
        return 2.0 * m * k * n;
    }

    public (IsaPath Isa, bool Double, int Cores) PathFor(BenchmarkCase benchmarkCase) => (Path, false, 1);

    /// <summary>(m, k, n) of C[m, n] = A[m, k]·B[k, n], whatever the storage.</summary>
    public static (int M, int K, int N) Dimensions(DeepGemmShape shape) => shape switch
    {
        DeepGemmShape.Hidden100 or DeepGemmShape.Hidden100InputGradient => (128, 100, 100),
        DeepGemmShape.Hidden100WeightGradient => (100, 128, 100),
        DeepGemmShape.Input784To100 => (128, 784, 100),
        DeepGemmShape.Wide1024Batch1 => (1, 1024, 1024),
        DeepGemmShape.Wide1024Batch128 => (128, 1024, 1024),
        DeepGemmShape.Wide1024Batch1000 => (1000, 1024, 1024),
        _ => (1024, 128, 1024),
    };
}
