using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;

namespace Simd.Bench;

/// <summary>Shared by the kernel benchmarks: allocations (must be 0 B) and the GFLOP/s and peak columns.</summary>
public sealed class KernelConfig : ManualConfig
{
    public KernelConfig()
    {
        AddDiagnoser(MemoryDiagnoser.Default);
        AddColumn(FlopColumn.All);
    }
}
