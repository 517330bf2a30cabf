using Simd.Kernels;
using Simd.Tests.Support;
using Simd.Training;
using Simd.Training.Models;

namespace Simd.Tests.Training;

/// <summary>The book's Dropout: its masks, its gradient check, its inference scaling, the same bits for any thread count.</summary>
public class DropoutTests
{
    public static TheoryData<IsaPath> Paths => Reference.Paths();

    /// <summary>Every path keeps exactly the elements the scalar reference keeps, for rows at any offset and odd widths.</summary>
    [Theory]
    [MemberData(nameof(Paths))]
    public void The_kernel_keeps_what_the_reference_keeps(IsaPath isa)
    {
        foreach (int units in (int[])[1, 7, 16, 17, 50, 100])
        {
            const int Rows = 9, FirstRow = 31;
            float[] single = [.. Enumerable.Range(0, Rows * units).Select(i => i + 1f)];
            double[] wide = [.. single.Select(v => (double)v)];
            Dropout.Apply<float>(isa, single, Rows, units, FirstRow, 0x1234u, 0xBEEFu, 0.3);
            Dropout.Apply<double>(isa, wide, Rows, units, FirstRow, 0x1234u, 0xBEEFu, 0.3);
            for (int r = 0; r < Rows; r++)
            {
                for (int j = 0; j < units; j++)
                {
                    bool keep = Dropout.KeepReference(0x1234u, 0xBEEFu, FirstRow + r, j, 0.3);
                    float expected = keep ? (r * units) + j + 1 : 0;
                    Assert.Equal(expected, single[(r * units) + j]);
                    Assert.Equal(expected, wide[(r * units) + j]);
                }
            }
        }
    }

    /// <summary>200,000 decisions: the share dropped is the ratio (±0.5%, about 4 standard deviations), and other keys draw other masks.</summary>
    [Fact]
    public void The_share_dropped_is_the_ratio()
    {
        foreach (double ratio in (double[])[0.1, 0.5, 0.8])
        {
            float[] x = [.. Enumerable.Repeat(1f, 200_000)];
            Dropout.Apply<float>(Isa.Best, x, 2000, 100, 0, 7, 8, ratio);
            double dropped = x.Count(v => v == 0) / (double)x.Length;
            Assert.InRange(dropped, ratio - 0.005, ratio + 0.005);
        }

        float[] a = [.. Enumerable.Repeat(1f, 1000)], b = [.. a];
        Dropout.Apply<float>(Isa.Best, a, 10, 100, 0, 7, 8, 0.5);
        Dropout.Apply<float>(Isa.Best, b, 10, 100, 0, 7, 9, 0.5);
        Assert.InRange(a.Zip(b).Count(p => p.First != p.Second), 400, 600); // independent masks differ in about half
    }

    /// <summary>The gradient check with dropout (the book's fixed mask): backprop and the numerical gradient see the same masks.</summary>
    [Theory]
    [InlineData(Activation.Relu)]
    [InlineData(Activation.Sigmoid)]
    public void Backprop_matches_the_numerical_gradient_with_dropout(Activation activation)
    {
        var shape = new NetworkShape(784, [12, 9, 7], 10);
        using var network = new MultiLayerNet<double>(shape, activation, Isa.Best, seed: 42, maxBatch: 3, threads: 2,
            activation == Activation.Relu ? WeightInit.He : WeightInit.Xavier, weightDecay: 0.1, dropout: 0.4);
        network.DropoutStep = 5;
        (double[] x, byte[] t) = MnistFixture.TrainDouble.Take([0, 1, 2]);
        var backprop = new double[shape.ParameterCount];
        var numerical = new double[shape.ParameterCount];
        double loss = network.Gradient(x, t, 3, backprop);
        network.NumericalGradient(x, t, 3, numerical);
        Assert.Equal(network.Loss(x, t, 3, training: true), loss, 1e-12);
        Assert.NotEqual(network.Loss(x, t, 3), loss); // inference scales instead of dropping: another loss
        // The book's δ = 1e-7 in log(y + δ) alone separates backprop (which differentiates the loss without
        // it) from the numerical gradient by about δ / y_t relative: ~1e-6 on an untrained 10-class network.
        // Three sigmoid layers with these images reach 9.5e-7 for b1 without dropout ('simd gradcheck --hidden
        // 12,9,7 --init xavier --weight-decay 0.1'), so sigmoid is held to 2e-6 and ReLU to the book's 1e-6.
        double tolerance = activation == Activation.Relu ? 1e-6 : 2e-6;
        foreach (TensorComparison row in GradientComparison.Compare<double>(shape, backprop, numerical))
        {
            Assert.True(row.RelativeError <= tolerance, $"{row.Tensor.Name}: relative error {row.RelativeError:E2}");
        }

        // The masks are really there: another step's masks give another gradient.
        network.DropoutStep = 6;
        var other = new double[shape.ParameterCount];
        network.Gradient(x, t, 3, other);
        Assert.False(other.AsSpan().SequenceEqual(backprop));
    }

    /// <summary>Training drops about the ratio of each hidden activation (sigmoid is never 0 by itself).</summary>
    [Fact]
    public void A_training_step_drops_the_ratio_of_the_hidden_units()
    {
        var options = new TrainingOptions { Threads = 2, HiddenSizes = [200], Dropout = 0.25, Iterations = 3 };
        using var trainer = new Trainer<float>(options, MnistFixture.Subset<float>(500), MnistFixture.Subset<float>(10), Isa.Best);
        trainer.Step();
        ReadOnlySpan<float> hidden = trainer.Network.Workspace.Activations(0).Rows(0, 100).Flat();
        double dropped = hidden.ToArray().Count(v => v == 0) / (double)hidden.Length;
        Assert.InRange(dropped, 0.23, 0.27); // 20,000 units: ±2% is about 4.6 standard deviations
    }

    /// <summary>Batch normalization and dropout together still allocate nothing in a step.</summary>
    [Fact]
    public void A_step_with_batch_norm_and_dropout_allocates_nothing()
    {
        var options = new TrainingOptions
        {
            Threads = 2, HiddenSizes = [64, 32], Activation = Activation.Relu, Init = WeightInit.He, BatchNorm = true, Dropout = 0.2,
            Optimizer = new OptimizerSettings(OptimizerKind.Adam, 0.001),
        };
        using var trainer = new Trainer<float>(options, MnistFixture.TrainSingle, MnistFixture.TestSingle, Isa.Best);
        for (int i = 0; i < 20; i++)
        {
            trainer.Step();
        }

        long before = trainer.Network.Pool.AllocatedBytes(); // the step's threads only, whatever other tests do meanwhile
        for (int i = 0; i < 200; i++)
        {
            trainer.Step();
        }

        Assert.Equal(0, trainer.Network.Pool.AllocatedBytes() - before);
    }

    /// <summary>Inference scales each hidden activation by 1 − ratio: the same as a network without dropout whose next weights are scaled so.</summary>
    [Fact]
    public void Inference_scales_activations_by_one_minus_the_ratio()
    {
        var shape = new NetworkShape(784, [16], 10);
        using var dropped = new MultiLayerNet<double>(shape, Activation.Sigmoid, IsaPath.Scalar, seed: 3, maxBatch: 4, dropout: 0.25);
        using var scaled = new MultiLayerNet<double>(shape, Activation.Sigmoid, IsaPath.Scalar, seed: 3, maxBatch: 4);
        foreach (ref double w in scaled.Weights(1).Flat())
        {
            w *= 0.75;
        }

        (double[] x, byte[] t) = MnistFixture.TrainDouble.Take([0, 1, 2, 3]);
        Assert.Equal(scaled.Loss(x, t, 4), dropped.Loss(x, t, 4), 1e-12);
        var p = new double[10];
        var q = new double[10];
        dropped.Probabilities(x.AsSpan(0, 784), p);
        scaled.Probabilities(x.AsSpan(0, 784), q);
        Assert.Equal(q, p, (a, b) => Math.Abs(a - b) < 1e-12);
    }

    /// <summary>A model file keeps the ratio (eval scales by it); a checkpoint run with dropout resumes bitwise.</summary>
    [Fact]
    public void Model_files_and_checkpoints_keep_the_ratio()
    {
        using var dir = new TempDirectory();
        var options = new TrainingOptions { Iterations = 30, BatchSize = 10, HiddenSizes = [20], Dropout = 0.35, Activation = Activation.Relu };
        Dataset<float> train = MnistFixture.Subset<float>(200), test = MnistFixture.Subset<float>(20);
        using var whole = new Trainer<float>(options, train, test, Isa.Best);
        whole.Run();
        ModelFile.Save(dir.File("m.npz"), whole.Network);
        Assert.Equal(0.35, ModelFile.Read(dir.File("m.npz")).Dropout);

        using (var first = new Trainer<float>(options with { Iterations = 13 }, train, test, Isa.Best))
        {
            first.Run();
            first.SaveCheckpoint(dir.File("c.npz"));
        }

        Checkpoint checkpoint = CheckpointFile.Read(dir.File("c.npz"));
        Assert.Equal(0.35, checkpoint.Options.Dropout);
        using var resumed = new Trainer<float>(options, train, test, Isa.Best);
        resumed.Restore(checkpoint);
        resumed.Run();
        Assert.True(whole.Network.Parameters.SequenceEqual(resumed.Network.Parameters), "the resumed run with dropout differs");
    }
}
