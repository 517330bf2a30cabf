using System.Diagnostics;
using System.Globalization;
using Simd.Kernels;
using Simd.Training;
using Simd.Training.Layers;

namespace Simd.Bench;

/// <summary>
/// `--alternate [network] [threads] [rounds]`: the FMA peak of the cores used and a named network's training step
/// and evaluation, measured in turn, round after round, in one process. On a shared host whose speed drifts by half
/// within minutes, a ratio to a peak measured minutes apart (as BenchmarkDotNet's columns must) can be off by that
/// much; a ratio to the peak measured seconds before is not. Each round: the peak of <c>threads</c> cores running
/// the chains at once (5 samples of 40 ms, median), 60 training steps (Adam, batch 100; the mean), one evaluation of
/// 10,000 images. Synthetic images, float32, the widest ISA path (or <c>SIMD_ISA</c>). Prints every round and the
/// medians.
/// </summary>
internal static class AlternatingMode
{
    public const string Option = "--alternate";
    private const int Batch = BookDefaults.BatchSize, TestImages = 10_000, StepsPerRound = 60, WarmupSteps = 20;

    /// <summary>Runs it; returns the process exit code (64 for arguments it cannot take, with one line saying why).</summary>
    public static int Run(string[] args)
    {
        string network = args.Length > 0 ? args[0] : "simple-convnet";
        int threads = 2, rounds = 9;
        if (args.Length > 3 || (args.Length > 1 && !TryPositive(args[1], 1024, out threads)) || (args.Length > 2 && !TryPositive(args[2], 1000, out rounds))
            || LayerStack.Named(network) is not { } stack)
        {
            Console.Error.WriteLine($"usage: {Option} [NETWORK [THREADS [ROUNDS]]]: a network --net names (simple-convnet, two-layer), 1-1024 threads, 1-1000 rounds (got '{string.Join(' ', args)}')");
            return 64;
        }

        Dataset<float> test = TrainingBenchmarks.Synthetic<float>(TestImages, seed: 2);
        var options = new TrainingOptions
        {
            Threads = threads, Iterations = int.MaxValue, Layers = stack.ToString(),
            Optimizer = new OptimizerSettings(OptimizerKind.Adam, 0.001),
        };
        using var trainer = new Trainer<float>(options, TrainingBenchmarks.Synthetic<float>(60_000, seed: 1), test, BenchIsa.Chosen);
        double stepFlops = FlopCount.Backprop(stack, Batch), evalFlops = FlopCount.Forward(stack, TestImages);
        for (int s = 0; s < WarmupSteps; s++)
        {
            trainer.Step();
        }

        trainer.Network.CountCorrect(test);
        Console.WriteLine($"{network}, {threads} thread(s), {Isa.Name(BenchIsa.Chosen)}, float32: step {stepFlops / 1e9:F3} GFLOP, evaluation of {TestImages} images {evalFlops / 1e9:F2} GFLOP");
        Console.WriteLine("round  peak GFLOP/s   step ms  GFLOP/s  % peak   eval s  GFLOP/s  % peak");
        var peaks = new List<double>();
        var steps = new List<double>();
        var evals = new List<double>();
        var stepShares = new List<double>();
        var evalShares = new List<double>();
        for (int round = 1; round <= rounds; round++)
        {
            double peak = MachinePeak.Measure<float>(BenchIsa.Chosen, threads, samples: 5, sampleMilliseconds: 40);
            long start = Stopwatch.GetTimestamp();
            for (int s = 0; s < StepsPerRound; s++)
            {
                trainer.Step();
            }

            double step = Stopwatch.GetElapsedTime(start).TotalSeconds / StepsPerRound;
            start = Stopwatch.GetTimestamp();
            trainer.Network.CountCorrect(test);
            double eval = Stopwatch.GetElapsedTime(start).TotalSeconds;
            double stepRate = stepFlops / step / 1e9, evalRate = evalFlops / eval / 1e9;
            peaks.Add(peak);
            steps.Add(step);
            evals.Add(eval);
            stepShares.Add(stepRate / peak);
            evalShares.Add(evalRate / peak);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{round,5}  {peak,12:F1}  {step * 1e3,8:F3}  {stepRate,7:F1}  {100 * stepRate / peak,5:F0}%  {eval,7:F3}  {evalRate,7:F1}  {100 * evalRate / peak,5:F0}%"));
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"median {Median(peaks),12:F1}  {Median(steps) * 1e3,8:F3}  {stepFlops / Median(steps) / 1e9,7:F1}  {100 * Median(stepShares),5:F0}%  {Median(evals),7:F3}  {evalFlops / Median(evals) / 1e9,7:F1}  {100 * Median(evalShares),5:F0}%"));
        Console.WriteLine("(% peak of the median row: the median of the rounds' own ratios)");
        return 0;
    }

    private static bool TryPositive(string text, int most, out int value) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value) && value >= 1 && value <= most;

    internal static double Median(List<double> values)
    {
        double[] sorted = [.. values.Order()];
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
