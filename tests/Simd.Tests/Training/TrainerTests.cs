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
        var train = Subset(MnistFixture.Data.Train, 1000);
        var test = Subset(MnistFixture.Data.Test, 500);
        var options = new TrainingOptions { Iterations = 60, BatchSize = 20, Seed = 9 };
        (TrainingResult first, float[] firstParameters) = Run(options, train, test);
        (TrainingResult second, float[] secondParameters) = Run(options, train, test);
        (_, float[] otherParameters) = Run(options with { Seed = 10 }, train, test);
        Assert.Equal(first.Epochs.Select(e => (e.TrainAccuracy, e.TestAccuracy, e.Loss)), second.Epochs.Select(e => (e.TrainAccuracy, e.TestAccuracy, e.Loss)));
        Assert.Equal(firstParameters, secondParameters);
        Assert.NotEqual(firstParameters, otherParameters);
        Assert.Equal([0, 50], first.Epochs.Select(e => e.Iteration)); // every 1000 / 20 = 50 iterations
    }

    [Fact]
    public void Numerical_gradient_training_moves_like_backprop()
    {
        // Tiny network and batch so the honest numerical gradient takes a moment; the two methods must
        // land on nearly the same parameters after a few steps in double.
        var backprop = new TrainingOptions { Iterations = 3, BatchSize = 4, HiddenSize = 3, Seed = 2 };
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
        var initial = new TwoLayerNet<double>(a.Network.Shape, Activation.Sigmoid, Isa.Best, backprop.Seed, 1);
        for (int i = 0; i < a.Network.Shape.ParameterCount; i++)
        {
            Assert.Equal(a.Network.Parameters[i], b.Network.Parameters[i], 1e-7);
            moved = Math.Max(moved, Math.Abs(a.Network.Parameters[i] - initial.Parameters[i]));
        }

        Assert.True(moved > 1e-3, $"training barely moved the parameters ({moved})");
    }

    [Fact]
    public void Invalid_options_are_rejected_with_a_message()
    {
        var train = Subset(MnistFixture.Data.Train, 10);
        var e = Assert.Throws<ArgumentException>(() => new Trainer<float>(new TrainingOptions { LearningRate = double.NaN }, train, train, IsaPath.Scalar));
        Assert.Equal("--lr must be a positive finite number (got NaN)", e.Message);
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

    private static Dataset<float> Subset(MnistSplit split, int count) =>
        Dataset<float>.FromBytes(split.Images.Span[..(count * MnistFiles.PixelsPerImage)], split.Labels.Span[..count], count, MnistFiles.PixelsPerImage, MnistFiles.ClassCount);
}
