using System.Diagnostics;

namespace Simd.Tests.Support;

/// <summary>
/// A test that needs numpy: Debian's python3 (/usr/bin/python3, not a pyenv one that may come first on
/// PATH) with python3-numpy, which .ci/run installs when it is missing. Skipped otherwise, saying why.
/// </summary>
public sealed class NumpyFactAttribute : FactAttribute
{
    public NumpyFactAttribute()
    {
        if (Numpy.Unavailable is { } reason)
        {
            Skip = $"numpy is not available ({reason}): install Debian's python3-numpy (apt-get install python3-numpy; .ci/run does)";
        }
    }
}

/// <summary>Runs Python scripts with numpy.</summary>
public static class Numpy
{
    public const string Python = "/usr/bin/python3";

    private static readonly Lazy<string?> Probe = new(() =>
    {
        if (!File.Exists(Python))
        {
            return $"{Python} is missing";
        }

        (int code, _, string error) = Run("import numpy");
        return code == 0 ? null : error.Trim().Split('\n')[^1];
    });

    /// <summary>Why numpy cannot be used here, or null when it can.</summary>
    public static string? Unavailable => Probe.Value;

    /// <summary>Runs <paramref name="script"/> with the arguments (sys.argv[1:]); returns the exit code and both outputs.</summary>
    public static (int Code, string Output, string Error) Run(string script, params string[] arguments)
    {
        var start = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(script);
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using Process process = Process.Start(start)!;
        Task<string> output = process.StandardOutput.ReadToEndAsync();
        Task<string> error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(60_000))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("python did not finish within 60 s");
        }

        return (process.ExitCode, output.GetAwaiter().GetResult(), error.GetAwaiter().GetResult());
    }
}
