using System.Runtime.InteropServices;

namespace Simd.Cli;

public static class Program
{
    /// <summary>
    /// Runs the CLI on the console. Ctrl+C (SIGINT) or SIGTERM asks the running command to stop: it stops
    /// at its next check, says "simd: interrupted" and exits 130. A second one ends the process at once.
    /// </summary>
    public static int Main(string[] args)
    {
        using var interrupt = new CancellationTokenSource();
        void Stop(PosixSignalContext context)
        {
            if (!interrupt.IsCancellationRequested)
            {
                context.Cancel = true; // handled: the command winds down itself
                interrupt.Cancel();
            }
        }

        using PosixSignalRegistration sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        using PosixSignalRegistration sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
        return SimdCli.Run(args, Console.Out, Console.Error, interrupt.Token);
    }
}
