using Simd.Tests.Support;

namespace Simd.Tests.Cli;

/// <summary>
/// bench/trace-training.sh end to end: dotnet-trace records a short training run of the published
/// Native AOT binary, and the events read back from the .nettrace are the run's table.
/// Runs when .ci/run has restored the tools and published the binary.
/// </summary>
public class TraceScriptTests
{
    public sealed class TraceFactAttribute : FactAttribute
    {
        public TraceFactAttribute()
        {
            if (Environment.GetEnvironmentVariable("SIMD_TRACE_SCRIPT") != "1" || NativeBinary.Path is null)
            {
                Skip = $"set SIMD_TRACE_SCRIPT=1 after 'dotnet tool restore', and {NativeBinary.Variable}, to run bench/trace-training.sh (.ci/run does)";
            }
        }
    }

    [TraceFact]
    public void The_trace_of_a_training_run_holds_its_epochs()
    {
        string root = RepositoryRoot.Path;
        (int code, string output, string error) = NativeBinary.Run(
            "bash", Path.Combine(root, "bench", "trace-training.sh"), NativeBinary.Path!, "--data", MnistFixture.Directory, "--threads", "2");
        Assert.True(code == 0, $"{error}\n{output}");
        Assert.Matches(@"(?m)Run/Start +iterations=1201 batchSize=100 threads=2 hiddenSize=50 elementBytes=4$", output);
        Assert.Matches(@"(?m)Epoch +epoch=0 iteration=0 trainAccuracy=0\.\d+ testAccuracy=0\.\d+ loss=2\.\d+ gradientSeconds=", output);
        Assert.Matches(@"(?m)Epoch +epoch=2 iteration=1200 trainAccuracy=0\.8\d* testAccuracy=0\.8\d*", output);
        Assert.Matches(@"(?m)Run/Stop +iterations=1201 totalSeconds=", output);
    }
}
