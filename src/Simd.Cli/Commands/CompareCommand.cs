using System.CommandLine;
using System.Diagnostics;
using System.Numerics;
using Simd.Kernels;
using Simd.Mnist;
using Simd.Training;

namespace Simd.Cli.Commands;

/// <summary><c>simd compare</c>: the blog's experiment — one backprop and one numerical gradient on the same batch.</summary>
internal static class CompareCommand
{
    /// <summary>Backprop is timed as the median of this many runs: one run of well under a millisecond is noise.</summary>
    private const int BackpropRuns = 1001;

    /// <summary>
    /// Warm-up before timing backprop, so the figure is the steady state: caches, page tables and the
    /// workers' spinning settled (and, should tiered compilation be turned back on, the JIT's final code).
    /// </summary>
    private static readonly TimeSpan BackpropWarmUp = TimeSpan.FromSeconds(1);

    public static Command Create()
    {
        Option<string?> data = CommonOptions.Data();
        Option<int> batch = CommonOptions.PositiveInt("--batch", BookDefaults.BatchSize, "Images in the batch (the blog: 100).");
        var network = new NetworkOptions();
        Option<string> precision = CommonOptions.Precision("single");
        Option<ulong> seed = CommonOptions.Seed();
        Option<string?> isa = CommonOptions.Isa();
        Option<int> threads = CommonOptions.Threads();

        var command = new Command("compare",
            "Time one backprop gradient and one numerical gradient on the same batch and print both and their ratio " +
            "(the blog measured 1.1 ms and 40 s in numpy: about 40,000x).")
        {
            data, batch, precision, seed, isa, threads,
        };
        network.AddTo(command);

        command.SetAction((parseResult, cancellationToken) =>
        {
            IsaPath path = CommonOptions.ResolveIsa(parseResult.GetValue(isa));
            string? dataOption = parseResult.GetValue(data);
            TextWriter error = parseResult.InvocationConfiguration.Error;
            var settings = new Settings(parseResult.GetValue(batch), network.Read(parseResult), parseResult.GetValue(seed), path, parseResult.GetValue(threads));
            Precision chosen = CommonOptions.ParsePrecision(parseResult.GetValue(precision)!);
            NetworkLimits.Check(chosen, settings.Network, settings.Batch, settings.Threads, "--batch"); // before the data is loaded
            MnistData mnist = DataAccess.Load(dataOption, error, cancellationToken);
            int code = PrecisionDispatch.Run(chosen, new Work(settings, mnist, parseResult.InvocationConfiguration.Output, error, cancellationToken));
            return Task.FromResult(code);
        });
        return command;
    }

    private static int Run<T>(Settings settings, MnistData mnist, TextWriter output, TextWriter error, CancellationToken cancellationToken)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        NetworkShape shape = settings.Network.Shape;
        Dataset<T> train = DataAccess.ToDataset<T>(mnist.Train);
        using var network = new MultiLayerNet<T>(settings.Network.Stack, settings.Isa, settings.Seed, settings.Batch, settings.Threads, settings.Network.Init, settings.Network.WeightDecay);
        var sampler = new Rng(~settings.Seed);
        int[] indices = [.. Enumerable.Range(0, settings.Batch).Select(_ => sampler.NextInt(train.Count))];
        (T[] x, byte[] t) = train.Take(indices);
        string precision = Names.Of(Names.PrecisionOf<T>());
        output.WriteLine(
            $"compare: one gradient of the {settings.Network.Describe()} network " +
            $"on a batch of {settings.Batch} training images, {precision} precision, {Isa.Name(settings.Isa)} kernels, {settings.Threads} threads");

        var backprop = new T[shape.ParameterCount];
        var numerical = new T[shape.ParameterCount];
        double backpropSeconds = MedianBackpropSeconds(network, x, t, settings.Batch, backprop, cancellationToken);

        var progress = new ProgressLine(error);
        long start = Stopwatch.GetTimestamp();
        try
        {
            network.NumericalGradient(x, t, settings.Batch, numerical,
                (done, total) => progress.Report("numerical gradient", done, total, "parameters"), cancellationToken: cancellationToken);
        }
        finally
        {
            progress.Done();
        }

        double numericalSeconds = Stopwatch.GetElapsedTime(start).TotalSeconds;

        double backpropFlops = FlopCount.Backprop(network.Stack, settings.Batch);
        double numericalFlops = FlopCount.NumericalGradient(network.Stack, settings.Batch);
        double maxDifference = 0;
        for (int i = 0; i < backprop.Length; i++)
        {
            maxDifference = Math.Max(maxDifference, Math.Abs(double.CreateTruncating(backprop[i] - numerical[i])));
        }

        output.WriteLine(
            $"backprop gradient:   {Format.Duration(backpropSeconds),10}  (median of {BackpropRuns} runs; " +
            $"{backpropFlops / 1e6:F2} MFLOP, {backpropFlops / backpropSeconds / 1e9:F1} GFLOP/s)");
        output.WriteLine(
            $"numerical gradient:  {Format.Duration(numericalSeconds),10}  ({Format.Count(2.0 * shape.ParameterCount)} forward passes; " +
            $"{numericalFlops / 1e9:F1} GFLOP, {numericalFlops / numericalSeconds / 1e9:F1} GFLOP/s)");
        output.WriteLine($"numerical / backprop: {Format.Count(numericalSeconds / backpropSeconds)}x  (the blog, numpy: 40 s / 1.1 ms, about 40,000x)");
        output.WriteLine($"the two gradients agree to max |diff| {Format.Scientific(maxDifference)}");
        return ExitCodes.Success;
    }

    private static double MedianBackpropSeconds<T>(MultiLayerNet<T> network, T[] x, byte[] t, int batch, T[] gradients, CancellationToken cancellationToken)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var seconds = new double[BackpropRuns];
        long warmUpStart = Stopwatch.GetTimestamp();
        do
        {
            cancellationToken.ThrowIfCancellationRequested();
            network.Gradient(x, t, batch, gradients);
        }
        while (Stopwatch.GetElapsedTime(warmUpStart) < BackpropWarmUp);

        for (int run = 0; run < BackpropRuns; run++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            long start = Stopwatch.GetTimestamp();
            network.Gradient(x, t, batch, gradients);
            seconds[run] = Stopwatch.GetElapsedTime(start).TotalSeconds;
        }

        Array.Sort(seconds);
        return seconds[BackpropRuns / 2];
    }

    private sealed record Settings(int Batch, NetworkSpec Network, ulong Seed, IsaPath Isa, int Threads);

    private sealed class Work(Settings settings, MnistData mnist, TextWriter output, TextWriter error, CancellationToken cancellationToken)
        : IPrecisionWork<int>
    {
        public int Run<T>()
            where T : unmanaged, IFloatingPointIeee754<T>
            => CompareCommand.Run<T>(settings, mnist, output, error, cancellationToken);
    }
}
