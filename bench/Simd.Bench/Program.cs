using BenchmarkDotNet.Running;

namespace Simd.Bench;

public static class Program
{
    /// <summary>Runs the benchmarks chosen on the command line (BenchmarkDotNet's switcher: --filter, --list, --job ...).</summary>
    public static void Main(string[] args) => BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
}
