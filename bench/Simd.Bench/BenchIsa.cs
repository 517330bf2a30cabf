using Simd.Kernels;

namespace Simd.Bench;

/// <summary>
/// The path the whole-network benchmarks (training, numerical gradient) run on: the one named by
/// <c>SIMD_ISA</c> (<see cref="Isa.EnvironmentVariable"/>, passed to a job with <c>--envVars</c>) when it
/// is set and supported, else the widest. The kernel benchmarks take the path as a parameter instead.
/// </summary>
internal static class BenchIsa
{
    public static IsaPath Chosen =>
        Isa.TryParse(Environment.GetEnvironmentVariable(Isa.EnvironmentVariable), out IsaPath? requested)
        && requested is { } path && Isa.IsSupported(path)
            ? path
            : Isa.Best;
}
