using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Running;
using Simd.Kernels;
using Simd.Training;

namespace Simd.Bench;

/// <summary>
/// One worker's share of the book's first layer (784 → 50, batch 100) when two workers split it, one
/// thread, on the widest path: the question the blocks of the weights phase were chosen by.
/// </summary>
public enum BookLayerShare
{
    /// <summary>Forward by rows of the batch (as built): [50x784]·[784x50], each worker half the batch.</summary>
    ForwardHalfBatch,

    /// <summary>Forward by blocks of 16 output units, the larger share: [100x784]·[784x32].</summary>
    ForwardColumns32,

    /// <summary>Forward by blocks of 16 output units, the smaller share: [100x784]·[784x18].</summary>
    ForwardColumns18,

    /// <summary>Weight gradient by rows of W1 (as built): [392x100]·[100x50] (C = Aᵀ·B).</summary>
    GradientHalfRows,

    /// <summary>Weight gradient by blocks of 16 output units, the larger share: [784x100]·[100x32].</summary>
    GradientColumns32,

    /// <summary>Weight gradient by blocks of 16 output units, the smaller share: [784x100]·[100x18].</summary>
    GradientColumns18,
}

/// <summary>
/// The book layer's shares under the two splits. Owning W1 by output units keeps it in one core's cache,
/// but 50 units make blocks of 16 (a cache line of float32, the width that keeps the bits of every
/// thread count) split 32/18 between two workers; the step waits for the larger share.
/// </summary>
[Config(typeof(KernelConfig))]
public class SplitGemmBenchmarks : IFlopBenchmark
{
    private const int Batch = 100, Inputs = 784, Units = 50;
    private float[] _x = [], _w = [], _bias = [], _dz = [], _c = [];

    [ParamsAllValues]
    public BookLayerShare Share { get; set; }

    public static IsaPath Path => Kernels.Isa.Best;

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Rng(9);
        _x = [.. Enumerable.Range(0, Batch * Inputs).Select(_ => (float)rng.NextDouble())];
        _w = [.. Enumerable.Range(0, Inputs * Units).Select(_ => (float)(rng.NextDouble() - 0.5))];
        _bias = new float[Units];
        _dz = [.. Enumerable.Range(0, Batch * Units).Select(_ => (float)(rng.NextDouble() - 0.5))];
        _c = new float[Inputs * Units];
    }

    [Benchmark]
    public void Share1Of2()
    {
        (int m, int k, int n) = Dimensions(Share);
        switch (Share)
        {
            case BookLayerShare.GradientHalfRows or BookLayerShare.GradientColumns32 or BookLayerShare.GradientColumns18:
                GemmTN.Multiply<float>(Path, _x, Inputs, _dz, m, k, n, _c); // X stored [B, 784], its first m columns
                break;
            default:
                GemmNN.Multiply<float>(Path, _x.AsSpan(0, m * k), _w.AsSpan(0, k * n), _bias.AsSpan(0, n), m, k, n, _c);
                break;
        }
    }

    public double FlopsFor(BenchmarkCase benchmarkCase)
    {
        (int m, int k, int n) = Dimensions((BookLayerShare)benchmarkCase.Parameters[nameof(Share)]);
        return 2.0 * m * k * n;
    }

    public (IsaPath Isa, bool Double, int Cores) PathFor(BenchmarkCase benchmarkCase) => (Path, false, 1);

    /// <summary>(m, k, n) of the share's C[m, n] = A[m, k]·B[k, n], whatever the storage.</summary>
    public static (int M, int K, int N) Dimensions(BookLayerShare share) => share switch
    {
        BookLayerShare.ForwardHalfBatch => (Batch / 2, Inputs, Units),
        BookLayerShare.ForwardColumns32 => (Batch, Inputs, 32),
        BookLayerShare.ForwardColumns18 => (Batch, Inputs, 18),
        BookLayerShare.GradientHalfRows => (Inputs / 2, Batch, Units),
        BookLayerShare.GradientColumns32 => (Inputs, Batch, 32),
        _ => (Inputs, Batch, 18),
    };
}
