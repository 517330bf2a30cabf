using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Running;
using Simd.Kernels;
using Simd.Training;

namespace Simd.Bench;

/// <summary>
/// This machine's FMA peak per ISA path and precision, one core: 24 independent fused multiply-add
/// chains and nothing else. The GEMM results are read against it.
/// </summary>
[Config(typeof(KernelConfig))]
public class MachinePeakBenchmarks : IFlopBenchmark
{
    [ParamsSource(nameof(Paths))]
    public IsaPath Isa { get; set; }

    [ParamsAllValues]
    public Precision Precision { get; set; }

    public static IEnumerable<IsaPath> Paths => Kernels.Isa.Supported;

    [Benchmark]
    public double FmaChains() => Precision == Precision.Single ? MachinePeak.Run<float>(Isa) : MachinePeak.Run<double>(Isa);

    public double FlopsFor(BenchmarkCase benchmarkCase)
    {
        var isa = (IsaPath)benchmarkCase.Parameters[nameof(Isa)];
        return (Precision)benchmarkCase.Parameters[nameof(Precision)] == Precision.Single
            ? MachinePeak.FlopsPerCall<float>(isa)
            : MachinePeak.FlopsPerCall<double>(isa);
    }

    public (IsaPath Isa, bool Double, int Cores) PathFor(BenchmarkCase benchmarkCase) =>
        ((IsaPath)benchmarkCase.Parameters[nameof(Isa)], (Precision)benchmarkCase.Parameters[nameof(Precision)] == Precision.Double, 1);
}
