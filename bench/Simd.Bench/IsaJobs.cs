using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using Simd.Kernels;

namespace Simd.Bench;

/// <summary>
/// `--isa-jobs`: every selected benchmark once per ISA the runtime is held to, side by side in one
/// summary. Each job is a separate process with one of the JIT's switches set, so everything in it
/// (our kernels, TensorPrimitives, the runtime itself) sees the narrower machine. SIMD_ISA, by
/// contrast, narrows only our kernels (`--envVars SIMD_ISA:vector256`).
/// </summary>
internal static class IsaJobs
{
    public const string Option = "--isa-jobs";

    /// <summary>(job id, environment variable, value, the widest path the job leaves).</summary>
    private static readonly (string Id, string Variable, string Value, IsaPath Widest)[] Switches =
    [
        ("AVX2", "DOTNET_EnableAVX512", "0", IsaPath.Vector256),
        ("SSE", "DOTNET_EnableAVX2", "0", IsaPath.Vector128),
        ("NoSimd", "DOTNET_EnableHWIntrinsic", "0", IsaPath.Scalar),
    ];

    public static IConfig Config()
    {
        // The unrestricted job keeps the default settings but must not be called "Default" (BenchmarkDotNet
        // then silently runs nothing for it).
        ManualConfig config = ManualConfig.Create(DefaultConfig.Instance).AddJob(Job.Default.WithId("AllIsa").AsBaseline());
        foreach ((string id, string variable, string value, _) in Switches)
        {
            config.AddJob(Job.Default.WithId(id).WithEnvironmentVariable(variable, value));
        }

        return config;
    }

    /// <summary>The path a case really runs on: the one it asked for, narrowed by its job's environment.</summary>
    public static IsaPath Limit(Job job, IsaPath requested)
    {
        IsaPath path = requested;
        foreach (EnvironmentVariable variable in job.Environment.EnvironmentVariables ?? [])
        {
            foreach ((_, string name, string value, IsaPath widest) in Switches)
            {
                if (variable.Key == name && variable.Value == value && widest < path)
                {
                    path = widest;
                }
            }

            if (variable.Key == Isa.EnvironmentVariable && Isa.TryParse(variable.Value, out IsaPath? forced) && forced < path)
            {
                path = forced.Value;
            }
        }

        return path;
    }
}
