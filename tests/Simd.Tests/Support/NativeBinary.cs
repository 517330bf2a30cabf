using System.Diagnostics;

namespace Simd.Tests.Support;

/// <summary>
/// A test of the published Native AOT binary. It runs when <c>SIMD_AOT_BINARY</c> names one (.ci/run
/// publishes it and sets the variable first); otherwise it is skipped, and says so and how to run it.
/// </summary>
public sealed class NativeFactAttribute : FactAttribute
{
    public NativeFactAttribute()
    {
        if (NativeBinary.Path is null)
        {
            Skip = $"no Native AOT binary: set {NativeBinary.Variable} to a published simd (.ci/run publishes one with 'dotnet publish src/Simd.Cli -c Release -r linux-x64')";
        }
    }
}

/// <summary>Runs the published binary.</summary>
public static class NativeBinary
{
    public const string Variable = "SIMD_AOT_BINARY";

    public static string? Path =>
        Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } path && File.Exists(path) ? path : null;

    /// <summary>Runs <paramref name="executable"/> with the arguments; returns the exit code and both outputs.</summary>
    public static (int Code, string Output, string Error) Run(string executable, params string[] arguments)
    {
        var start = new ProcessStartInfo(executable) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using Process process = Process.Start(start)!;
        Task<string> error = process.StandardError.ReadToEndAsync();
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, output, error.Result);
    }
}
