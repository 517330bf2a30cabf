using Simd.Kernels;
using Simd.Mnist;
using Simd.Tests.Support;
using Simd.Training;

namespace Simd.Tests.Training;

/// <summary>The promises of the parallel loop: nothing allocated, and the same bits for any thread count.</summary>
[Collection(AllocationSensitive.Name)]
public class ParallelTrainingTests
{
    public static TheoryData<IsaPath> Paths => Reference.Paths();

    /// <summary>
    /// After warm-up, 200 steps (sampling, gradient, update, timing) and one evaluation pass allocate
    /// nothing on any thread that does the work: the pool's own precise per-thread counters, three
    /// windows in a row. (The process-wide GC.GetTotalAllocatedBytes(true) also counts the test host's
    /// threads, which allocate now and then — measured: 336 bytes a window with 3 threads on 2 cores —
    /// so the process-wide check runs in a process of its own: <see cref="A_whole_training_process_allocates_nothing_after_warm_up"/>.)
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Two_hundred_training_steps_and_an_evaluation_allocate_nothing(int threads)
    {
        var options = new TrainingOptions { Threads = threads, Iterations = 10_000 };
        using var trainer = new Trainer<float>(options, MnistFixture.TrainSingle, MnistFixture.TestSingle, Isa.Best);
        for (int i = 0; i < 50; i++)
        {
            trainer.Step();
        }

        trainer.Network.Accuracy(MnistFixture.TestSingle);
        WorkerPool pool = trainer.Network.Pool;
        for (int window = 0; window < 3; window++)
        {
            long ours = pool.AllocatedBytes();
            for (int i = 0; i < 200; i++)
            {
                trainer.Step();
            }

            long afterSteps = pool.AllocatedBytes();
            trainer.Network.Accuracy(MnistFixture.TestSingle);
            long afterEvaluation = pool.AllocatedBytes();
            Assert.Equal(0, afterSteps - ours);
            Assert.Equal(0, afterEvaluation - afterSteps);
        }

        Assert.Equal(50 + (3 * 200), trainer.Iteration);
        Assert.True(trainer.GradientSeconds > 0);
    }

    /// <summary>
    /// The process-wide count, GC.GetTotalAllocatedBytes(true) around the steps, in a `simd train`
    /// process of its own (nothing else runs there): after the first step and evaluation, 0 bytes.
    /// </summary>
    /// <remarks>
    /// Also with more workers than row blocks and a deep network with Adam: a worker that claims its
    /// first block of some shape late in the run must not allocate then (its GEMM scratch is reserved
    /// up front; before that, batch 7 with 3 threads allocated 8,240 bytes mid-run).
    /// </remarks>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(3, "--batch", "7")]
    [InlineData(13, "--batch", "9", "--hidden", "100,33", "--optimizer", "adam", "--weight-decay", "0.01")]
    public void A_whole_training_process_allocates_nothing_after_warm_up(int threads, params string[] more)
    {
        string simd = Path.Combine(AppContext.BaseDirectory, OperatingSystem.IsWindows() ? "simd.exe" : "simd");
        var start = new System.Diagnostics.ProcessStartInfo(simd)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (string argument in (string[])["train", "--data", MnistFixture.Directory, "--iters", "801", "--threads", threads.ToString(System.Globalization.CultureInfo.InvariantCulture), .. more])
        {
            start.ArgumentList.Add(argument);
        }

        using var process = System.Diagnostics.Process.Start(start)!;
        string output = process.StandardOutput.ReadToEnd();
        string error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"simd train failed ({process.ExitCode}): {error}");
        Assert.Contains("allocated in steps 1-800: 0 bytes (whole process", output, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Parameters_after_300_steps_are_bitwise_the_same_for_1_to_4_threads(IsaPath isa)
    {
        float[]? first = null;
        foreach (int threads in (int[])[1, 2, 3, 4])
        {
            var options = new TrainingOptions { Threads = threads, Iterations = 300, Seed = 7 };
            using var trainer = new Trainer<float>(options, MnistFixture.Subset<float>(2000), MnistFixture.Subset<float>(10), isa);
            for (int i = 0; i < 300; i++)
            {
                trainer.Step();
            }

            float[] parameters = trainer.Network.Parameters.ToArray();
            first ??= parameters;
            Assert.True(first.AsSpan().SequenceEqual(parameters), $"{isa}: {threads} threads differ from 1 thread");
        }
    }

    [Fact]
    public void Relu_and_double_are_thread_count_independent_too()
    {
        double[]? first = null;
        foreach (int threads in (int[])[1, 2, 3])
        {
            var options = new TrainingOptions { Threads = threads, Iterations = 100, Seed = 3, Activation = Activation.Relu, BatchSize = 37 };
            using var trainer = new Trainer<double>(options, MnistFixture.Subset<double>(1000), MnistFixture.Subset<double>(10), Isa.Best);
            for (int i = 0; i < 100; i++)
            {
                trainer.Step();
            }

            double[] parameters = trainer.Network.Parameters.ToArray();
            first ??= parameters;
            Assert.True(first.AsSpan().SequenceEqual(parameters), $"{threads} threads differ from 1 thread");
        }
    }

    [Fact]
    public void Training_output_is_the_same_run_to_run()
    {
        var options = new TrainingOptions { Threads = 2, Iterations = 61, BatchSize = 20, Seed = 5 };
        (TrainingResult a, float[] pa) = Run(options);
        (TrainingResult b, float[] pb) = Run(options);
        (TrainingResult c, float[] pc) = Run(options with { Threads = 1 });
        Assert.Equal(a.Epochs.Select(e => (e.Iteration, e.Loss, e.TrainAccuracy, e.TestAccuracy)), b.Epochs.Select(e => (e.Iteration, e.Loss, e.TrainAccuracy, e.TestAccuracy)));
        Assert.Equal(a.Epochs.Select(e => (e.Iteration, e.Loss, e.TrainAccuracy, e.TestAccuracy)), c.Epochs.Select(e => (e.Iteration, e.Loss, e.TrainAccuracy, e.TestAccuracy)));
        Assert.Equal(pa, pb);
        Assert.Equal(pa, pc);

        static (TrainingResult, float[]) Run(TrainingOptions options)
        {
            using var trainer = new Trainer<float>(options, MnistFixture.Subset<float>(3000), MnistFixture.Subset<float>(500), Isa.Best);
            TrainingResult result = trainer.Run();
            return (result, trainer.Network.Parameters.ToArray());
        }
    }

    [Fact]
    public void Parallel_numerical_gradient_equals_the_single_threaded_one_bitwise()
    {
        var shape = new NetworkShape(784, 6, 10);
        (double[] x, byte[] t) = MnistFixture.TrainDouble.Take([10, 20, 30, 40, 50, 60, 70]);
        double[]? first = null;
        foreach (int threads in (int[])[1, 2, 3])
        {
            using var network = new MultiLayerNet<double>(shape, Activation.Sigmoid, Isa.Best, seed: 9, maxBatch: 7, threads);
            var gradients = new double[shape.ParameterCount];
            network.NumericalGradient(x, t, 7, gradients);
            first ??= gradients;
            Assert.True(first.AsSpan().SequenceEqual(gradients), $"{threads} threads differ from 1 thread");
        }

        Assert.Contains(first!, g => g != 0);
    }

    [Fact]
    public void Parallel_backprop_gradient_equals_the_single_threaded_one_bitwise()
    {
        (float[] x, byte[] t) = MnistFixture.TrainSingle.Take([.. Enumerable.Range(500, 100)]);
        float[]? first = null;
        float firstLoss = 0;
        foreach (int threads in (int[])[1, 2, 4])
        {
            using var network = new MultiLayerNet<float>(NetworkShape.Book, Activation.Relu, Isa.Best, seed: 1, maxBatch: 100, threads);
            var gradients = new float[network.Shape.ParameterCount];
            float loss = network.Gradient(x, t, 100, gradients);
            first ??= gradients;
            firstLoss = threads == 1 ? loss : firstLoss;
            Assert.True(first.AsSpan().SequenceEqual(gradients), $"{threads} threads differ from 1 thread");
            Assert.Equal(firstLoss, loss);
        }
    }
}
