using BenchmarkDotNet.Running;

namespace Simd.Bench;

public static class Program
{
    /// <summary>
    /// `--short` runs the headline cases in about a minute; `--alternate` measures the peak and a network in turn
    /// (<see cref="AlternatingMode"/>); `--conv-layers` each convolution layer by im2col and directly
    /// (<see cref="ConvolutionLayersMode"/>); `--isa-jobs` runs the selected benchmarks
    /// once per ISA the JIT is held to (<see cref="IsaJobs"/>); anything else goes to BenchmarkDotNet's
    /// switcher (--filter, --list, --job, --envVars ...).
    /// </summary>
    public static void Main(string[] args)
    {
        if (args.Length == 1 && args[0] == "--short")
        {
            ShortMode.Run();
            return;
        }

        if (args.Length > 0 && args[0] == AlternatingMode.Option)
        {
            Environment.ExitCode = AlternatingMode.Run(args[1..]);
            return;
        }

        if (args.Length > 0 && args[0] == ConvolutionLayersMode.Option)
        {
            Environment.ExitCode = ConvolutionLayersMode.Run(args[1..]);
            return;
        }

        if (args.Contains(IsaJobs.Option))
        {
            string[] rest = [.. args.Where(a => a != IsaJobs.Option)];
            BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(rest, IsaJobs.Config());
            return;
        }

        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
    }
}
