using System.Runtime.InteropServices;

namespace Simd.Cli;

public static partial class Program
{
    /// <summary>SIGXFSZ on Linux: a write went past the file-size limit (ulimit -f).</summary>
    private const int FileSizeLimitExceeded = 25;

    /// <summary>signal(2)'s SIG_IGN.</summary>
    private static readonly nint IgnoreSignal = 1;

    /// <summary>
    /// Runs the CLI on the console. Ctrl+C (SIGINT) or SIGTERM asks the running command to stop: it stops
    /// at its next check, says "simd: interrupted" and exits 130. A second one ends the process at once, and
    /// says so. SIGXFSZ, which would kill the process silently mid-write, is ignored: the write then fails
    /// with "File too large", and that failure is handled like any other (one line; nothing trained is lost).
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
            else
            {
                // The default action follows: the process ends with 128 + the signal's number.
                try
                {
                    Console.Error.WriteLine("\nsimd: interrupted again: stopping at once (a file being written is left as NAME.tmp-PID, removed by the next run that writes it)");
                }
                catch (IOException)
                {
                    // stderr is gone: the exit code still says it.
                }
            }
        }

        using PosixSignalRegistration sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        using PosixSignalRegistration sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
        if (OperatingSystem.IsLinux())
        {
            // Ignored in the kernel, not caught: a handler registered with the runtime runs on another thread, and
            // several writes past the limit at once (experiment's runs side by side) could still end the process.
            Signal(FileSizeLimitExceeded, IgnoreSignal);
        }

        return SimdCli.Run(args, Console.Out, Console.Error, interrupt.Token);
    }

    [LibraryImport("libc", EntryPoint = "signal")]
    private static partial nint Signal(int signal, nint handler);
}
