using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Perfolizer.Horology;
using Simd.Kernels;
using Simd.Training;

namespace Simd.Bench;

/// <summary>
/// `--short`: the headline cases only, in process, with few short iterations — about a minute.
/// The machine peak, the GEMM at the network's shapes and the elementwise ops against
/// TensorPrimitives on the widest path, and the training step, backprop gradient and evaluation for
/// 1 and 2 threads. For careful figures (and the numerical gradient) run the full suite.
/// </summary>
internal static class ShortMode
{
    public static void Run()
    {
        Job job = Job.Default
            .WithId("Short")
            .WithToolchain(InProcessEmitToolchain.Instance)
            .WithLaunchCount(1)
            .WithWarmupCount(2)
            .WithIterationCount(5)
            .WithIterationTime(TimeInterval.FromMilliseconds(80));
        IConfig config = DefaultConfig.Instance.AddJob(job).AddColumn(FlopColumn.All).WithOptions(ConfigOptions.JoinSummary);
        string best = Isa.Name(Isa.Best);

        BenchmarkRunInfo[] runs =
        [
            Select<MachinePeakBenchmarks>(config, c => (IsaPath)c.Parameters["Isa"] == Isa.Best),
            Select<GemmBenchmarks>(config, c => (IsaPath)c.Parameters["Isa"] == Isa.Best
                && ((GemmShape)c.Parameters["Shape"] != GemmShape.Evaluation || (Precision)c.Parameters["Precision"] == Precision.Single)),
            Select<ElementwiseBenchmarks>(config, c => (string)c.Parameters["Implementation"] is var name
                && (name == best || name == ElementwiseBenchmarks.TensorPrimitivesName)),
            Select<TrainingBenchmarks>(config, c => c.Descriptor.WorkloadMethod.Name != nameof(TrainingBenchmarks.Evaluation)
                || (Precision)c.Parameters["Precision"] == Precision.Single),
        ];
        BenchmarkRunner.Run(runs);
    }

    private static BenchmarkRunInfo Select<TBenchmark>(IConfig config, Func<BenchmarkCase, bool> keep)
    {
        BenchmarkRunInfo all = BenchmarkConverter.TypeToBenchmarks(typeof(TBenchmark), config);
        return new BenchmarkRunInfo([.. all.BenchmarksCases.Where(keep)], all.Type, all.Config);
    }
}
