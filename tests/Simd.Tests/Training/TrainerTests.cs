using Simd.Kernels;
using Simd.Mnist;
using Simd.Tests.Support;
using Simd.Training;

namespace Simd.Tests.Training;

/// <summary>The book's training loop on the real MNIST.</summary>
public class TrainerTests
{
    /// <summary>
    /// Measured with seed 42 (single precision): after 1200 iterations the test accuracy is 0.8826 with
    /// sigmoid; the bound sits a little below so a correct loop always passes and a broken one cannot.
    /// </summary>
    [Fact]
    public void Sigmoid_reaches_the_expected_accuracy_after_1200_iterations()
    {
        TrainingResult result = Train(Activation.Sigmoid, iterations: 1201);
        Assert.Equal([0, 600, 1200], result.Epochs.Select(e => e.Iteration));
        Assert.InRange(result.Epochs[0].TestAccuracy, 0.05, 0.2);   // chance before learning
        Assert.True(result.Final.TestAccuracy >= 0.87, $"test accuracy {result.Final.TestAccuracy}");
        Assert.True(result.Final.TrainAccuracy >= 0.865, $"train accuracy {result.Final.TrainAccuracy}");
        Assert.True(result.Epochs[2].Loss < result.Epochs[1].Loss && result.Epochs[1].Loss < result.Epochs[0].Loss);
    }

    /// <summary>Measured with seed 42 (single precision): ReLU (the book's ch. 5) reaches 0.9250 test accuracy after 1200 iterations.</summary>
    [Fact]
    public void Relu_reaches_the_expected_accuracy_after_1200_iterations()
    {
        TrainingResult result = Train(Activation.Relu, iterations: 1201);
        Assert.True(result.Final.TestAccuracy >= 0.915, $"test accuracy {result.Final.TestAccuracy}");
    }

    [Fact]
    public void Same_seed_gives_the_same_run_and_another_seed_does_not()
    {
        var train = MnistFixture.Subset<float>(1000, MnistFixture.Data.Train);
        var test = MnistFixture.Subset<float>(500, MnistFixture.Data.Test);
        var options = new TrainingOptions { Iterations = 60, BatchSize = 20, Seed = 9 };
        (TrainingResult first, float[] firstParameters) = Run(options, train, test);
        (TrainingResult second, float[] secondParameters) = Run(options, train, test);
        (_, float[] otherParameters) = Run(options with { Seed = 10 }, train, test);
        Assert.Equal(first.Epochs.Select(e => (e.TrainAccuracy, e.TestAccuracy, e.Loss)), second.Epochs.Select(e => (e.TrainAccuracy, e.TestAccuracy, e.Loss)));
        Assert.Equal(firstParameters, secondParameters);
        Assert.NotEqual(firstParameters, otherParameters);
        Assert.Equal([0, 50, 59], first.Epochs.Select(e => e.Iteration)); // every 1000 / 20 = 50 iterations, then after the last step
        Assert.Equal([false, false, true], first.Epochs.Select(e => e.AfterLastStep));
    }

    [Fact]
    public void Numerical_gradient_training_moves_like_backprop()
    {
        // Tiny network and batch so the honest numerical gradient takes a moment; the two methods must
        // land on nearly the same parameters after a few steps in double.
        var backprop = new TrainingOptions { Iterations = 3, BatchSize = 4, HiddenSizes = [3], Seed = 2 };
        var trainDouble = Dataset<double>.FromBytes(MnistFixture.Data.Train.Images.Span[..(200 * 784)], MnistFixture.Data.Train.Labels.Span[..200], 200, 784, 10);
        var testDouble = Dataset<double>.FromBytes(MnistFixture.Data.Test.Images.Span[..(50 * 784)], MnistFixture.Data.Test.Labels.Span[..50], 50, 784, 10);
        var a = new Trainer<double>(backprop, trainDouble, testDouble, Isa.Best);
        a.Run();
        var b = new Trainer<double>(backprop with { Gradient = GradientMethod.Numerical }, trainDouble, testDouble, Isa.Best);
        int reports = 0;
        b.NumericalProgress = (_, _, _) => reports++;
        b.Run();
        Assert.True(reports >= 3);
        // Each gradient element differs by ~1e-6 relative (the book's 1e-7 inside the log, see
        // GradientComparison): after 3 steps of lr 0.1 on gradients below 0.1 that is ~3e-8.
        double moved = 0;
        var initial = new MultiLayerNet<double>(a.Network.Shape, Activation.Sigmoid, Isa.Best, backprop.Seed, 1);
        for (int i = 0; i < a.Network.Shape.ParameterCount; i++)
        {
            Assert.Equal(a.Network.Parameters[i], b.Network.Parameters[i], 1e-7);
            moved = Math.Max(moved, Math.Abs(a.Network.Parameters[i] - initial.Parameters[i]));
        }

        Assert.True(moved > 1e-3, $"training barely moved the parameters ({moved})");
    }

    /// <summary>The last row is the trained network's: an extra evaluation after a last step that is not an evaluation step, none otherwise.</summary>
    [Theory]
    [InlineData(1, new[] { 0 })]
    [InlineData(2, new[] { 0, 1 })]
    [InlineData(51, new[] { 0, 50 })]
    [InlineData(52, new[] { 0, 50, 51 })]
    public void The_final_evaluation_is_after_the_last_step(int iterations, int[] evaluated)
    {
        var options = new TrainingOptions { Iterations = iterations, BatchSize = 20, Seed = 1 };
        (TrainingResult result, _) = Run(options, MnistFixture.Subset<float>(1000, MnistFixture.Data.Train), MnistFixture.Subset<float>(100, MnistFixture.Data.Test));
        Assert.Equal(evaluated, result.Epochs.Select(e => e.Iteration));
        Assert.Equal(iterations - 1, result.Final.Iteration);
        Assert.Equal(evaluated.Select((_, i) => i == evaluated.Length - 1 && (iterations - 1) % 50 != 0), result.Epochs.Select(e => e.AfterLastStep));
        Assert.All(result.Epochs, e => Assert.True(double.IsFinite(e.Loss), $"row at {e.Iteration}: loss {e.Loss}"));
    }

    [Fact]
    public void A_loss_that_is_not_finite_stops_the_run_where_it_happened()
    {
        var options = new TrainingOptions { Iterations = 100, Optimizer = new OptimizerSettings(OptimizerKind.Sgd, 1e30), Activation = Activation.Relu };
        using var trainer = new Trainer<float>(options, MnistFixture.Subset<float>(1000, MnistFixture.Data.Train), MnistFixture.Subset<float>(100, MnistFixture.Data.Test), Isa.Best);
        var e = Assert.Throws<TrainingDivergedException>(() => trainer.Run());
        Assert.Equal(1, e.Iteration);
        Assert.True(double.IsNaN(e.Loss));
        Assert.Equal("training diverged at iteration 1: the loss is NaN", e.Message);
        Assert.Equal(2, trainer.Iteration);
    }

    [Fact]
    public void A_cancelled_run_stops_at_the_next_step()
    {
        var options = new TrainingOptions { Iterations = 1_000_000, BatchSize = 10 };
        using var trainer = new Trainer<float>(options, MnistFixture.Subset<float>(1000, MnistFixture.Data.Train), MnistFixture.Subset<float>(100, MnistFixture.Data.Test), Isa.Best);
        using var cancel = new CancellationTokenSource();
        trainer.Evaluated = _ => cancel.Cancel(); // the first evaluation is after step 0
        Assert.Throws<OperationCanceledException>(() => trainer.Run(cancel.Token));
        Assert.Equal(1, trainer.Iteration);
    }

    [Fact]
    public void A_cancelled_numerical_gradient_stops_between_chunks()
    {
        using var network = new MultiLayerNet<double>(NetworkShape.Book, Activation.Sigmoid, Isa.Best, seed: 1, maxBatch: 2, threads: 2);
        (double[] x, byte[] t) = MnistFixture.TrainDouble.Take([0, 1]);
        using var cancel = new CancellationTokenSource();
        int reports = 0;
        var gradients = new double[network.Shape.ParameterCount];
        Assert.Throws<OperationCanceledException>(() => network.NumericalGradient(x, t, 2, gradients, (_, _) =>
        {
            reports++;
            cancel.Cancel();
        }, cancellationToken: cancel.Token));
        Assert.Equal(1, reports);
        Assert.Contains(gradients, g => g == 0); // far from done
    }

    [Fact]
    public void Invalid_options_are_rejected_with_a_message()
    {
        var train = MnistFixture.Subset<float>(10, MnistFixture.Data.Train);
        var e = Assert.Throws<ArgumentException>(() => new Trainer<float>(new TrainingOptions { Optimizer = new OptimizerSettings(OptimizerKind.Sgd, double.NaN) }, train, train, IsaPath.Scalar));
        Assert.Equal("the learning rate must be a positive finite number (got NaN)", e.Message);
        Assert.Throws<ArgumentException>(() => new Trainer<float>(new TrainingOptions { BatchSize = 0 }, train, train, IsaPath.Scalar));
    }

    private static TrainingResult Train(Activation activation, int iterations)
    {
        var options = new TrainingOptions { Iterations = iterations, Activation = activation };
        return new Trainer<float>(options, MnistFixture.TrainSingle, MnistFixture.TestSingle, Isa.Best).Run();
    }

    private static (TrainingResult Result, float[] Parameters) Run(TrainingOptions options, Dataset<float> train, Dataset<float> test)
    {
        var trainer = new Trainer<float>(options, train, test, Isa.Best);
        TrainingResult result = trainer.Run();
        return (result, trainer.Network.Parameters.ToArray());
    }
}
