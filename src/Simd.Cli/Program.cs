namespace Simd.Cli;

public static class Program
{
    public static int Main(string[] args) => SimdCli.Run(args, Console.Out, Console.Error);
}
