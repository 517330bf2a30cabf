using BenchmarkDotNet.Running;

namespace Simd.Bench;

public static class Program
{
    /// <summary>
    /// `--short` runs the headline cases in about a minute; anything else goes to BenchmarkDotNet's
    /// switcher (--filter, --list, --job, --envVars ...).
    /// </summary>
    public static void Main(string[] args)
    {
        if (args.Length == 1 && args[0] == "--short")
        {
            ShortMode.Run();
            return;
        }

        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
    }
}
