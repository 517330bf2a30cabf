using Simd.Kernels;
using Simd.Mnist;
using Simd.Tests.Support;
using Simd.Training;
using Simd.Training.Layers;

namespace Simd.Tests.Training;

/// <summary>
/// Bitwise the same results for every worker count, pushed past the comfortable range: batches
/// smaller than a row block, odd batches, and more workers than row blocks, images or cores. A
/// worker with no rows of its own still has work in a later phase, so a worker that skips loading
/// the batch is caught here (it trained a worse network with 16+ threads before the fix).
/// </summary>
public class ThreadCountMatrixTests
{
    private static readonly int[] ThreadCounts = [1, 2, 3, 4, 7, 8, 13, 16, 32, 64];

    private static readonly int[] Batches = [1, 2, 7, 8, 9, 15, 16, 17, 100, 128];

    public static TheoryData<int> BatchSizes => [.. Batches];

    /// <summary>Direct convolutions (stride 1, several channels, odd sizes, padding 2) whose dW partials are tap-major, and dropout after the output.</summary>
    private const string DirectStack = "conv3x3p1-relu-conv5x3p2-relu-pool2-conv4x3p1-relu-affine10-dropout0.5";

    /// <summary>
    /// Every kind of network, as a stack of layers: the book's ReLU network; a deep one with weight decay and an
    /// optimizer with state; batch normalization with dropout; dropout alone; convolutions fused and apart, a
    /// convolution giving dX, batch normalization on images, direct convolutions. Each with the batches that split unevenly. The networks
    /// with a convolution also on the narrower paths, whose row blocks follow their GEMM tile (6 images, or 1 on the
    /// scalar path) and hold the convolution's partial weight gradients.
    /// </summary>
    public static TheoryData<string, int, OptimizerKind, double, IsaPath> Networks
    {
        get
        {
            var data = new TheoryData<string, int, OptimizerKind, double, IsaPath>();
            foreach (int batch in Batches)
            {
                data.Add("affine50-relu-affine10", batch, OptimizerKind.Sgd, 0, Isa.Best);
            }

            data.Add("affine33-relu-affine17-relu-affine9-relu-affine10", 1, OptimizerKind.Adam, 0.05, Isa.Best);
            data.Add("affine33-relu-affine17-relu-affine9-relu-affine10", 7, OptimizerKind.Nesterov, 0.05, Isa.Best);
            data.Add("affine33-relu-affine17-relu-affine9-relu-affine10", 64, OptimizerKind.RmsProp, 0.05, Isa.Best);
            foreach (int batch in (int[])[2, 9, 100])
            {
                data.Add("affine40-batchnorm-relu-dropout0.1-affine17-batchnorm-relu-dropout0.1-affine10", batch, OptimizerKind.Adam, 0, Isa.Best);
            }

            foreach (int batch in (int[])[1, 7, 100])
            {
                data.Add("affine33-relu-dropout0.3-affine17-relu-dropout0.3-affine10", batch, OptimizerKind.Adam, 0, Isa.Best);
                data.Add("conv6x5-relu-pool2-affine20-relu-affine10", batch, OptimizerKind.Adam, 0.01, Isa.Best);
                data.Add(DirectStack, batch, OptimizerKind.Adam, 0, Isa.Best);
            }

            data.Add("conv3x3p1-relu-conv4x3s2-relu-pool3s2-batchnorm-dropout0.5-affine10", 7, OptimizerKind.Adam, 0.01, Isa.Best);
            data.Add("conv3x3p1-relu-conv4x3s2-relu-pool3s2-batchnorm-dropout0.5-affine10", 33, OptimizerKind.Momentum, 0.01, Isa.Best);
            foreach (IsaPath path in Isa.Supported.Where(p => p != Isa.Best))
            {
                data.Add("conv6x5-relu-pool2-affine20-relu-affine10", 100, OptimizerKind.Adam, 0.01, path);
                data.Add("conv3x3p1-relu-conv4x3s2-relu-pool3s2-batchnorm-dropout0.5-affine10", 13, OptimizerKind.Adam, 0.01, path);
                data.Add(DirectStack, 13, OptimizerKind.Adam, 0, path);
            }

            return data;
        }
    }

    /// <summary>Four training steps, then the parameters, the running statistics and every step's loss: the same bits for 1 to 64 threads.</summary>
    [Theory]
    [MemberData(nameof(Networks))]
    public void Training_steps_give_the_same_bits_for_every_thread_count(string layers, int batch, OptimizerKind kind, double weightDecay, IsaPath isa)
    {
        Dataset<float> train = MnistFixture.Subset<float>(600);
        float[]? reference = null, referenceRunning = null, referenceLosses = null;
        foreach (int threads in ThreadCounts)
        {
            var options = new TrainingOptions
            {
                Threads = threads, BatchSize = batch, Iterations = 4, Seed = 11, Layers = layers, Init = WeightInit.He, WeightDecay = weightDecay,
                Optimizer = new OptimizerSettings(kind, OptimizerSettings.DefaultLearningRate(kind)),
            };
            using var trainer = new Trainer<float>(options, train, MnistFixture.Subset<float>(10), isa);
            Assert.Equal(GemmNN.RowTile(isa), trainer.Network.RowBlock);
            float[] losses = [.. Enumerable.Range(0, 4).Select(_ => trainer.Step())];
            float[] parameters = trainer.Network.Parameters.ToArray();
            float[] running = [.. trainer.Network.Plan.Layers.OfType<BatchNormLayer<float>>()
                .SelectMany(l => trainer.Network.Workspace.RunningMean(l.Ordinal).ToArray().Concat(trainer.Network.Workspace.RunningVariance(l.Ordinal).ToArray()))];
            reference ??= parameters;
            referenceRunning ??= running;
            referenceLosses ??= losses;
            Assert.True(reference.AsSpan().SequenceEqual(parameters), $"{layers}, batch {batch}, {isa}: {threads} threads differ from 1 thread");
            Assert.True(referenceRunning.AsSpan().SequenceEqual(running), $"{layers}, batch {batch}: the running statistics at {threads} threads differ");
            Assert.Equal(referenceLosses, losses);
        }
    }

    [Theory]
    [MemberData(nameof(BatchSizes))]
    public void The_backprop_gradient_is_the_same_for_every_thread_count(int batch)
    {
        (double[] x, byte[] t) = MnistFixture.TrainDouble.Take([.. Enumerable.Range(1000, batch)]);
        double[]? reference = null;
        double referenceLoss = 0;
        foreach (int threads in ThreadCounts)
        {
            using var network = new MultiLayerNet<double>(NetworkShape.Book, Activation.Sigmoid, Isa.Best, seed: 4, maxBatch: batch, threads);
            var gradients = new double[network.Shape.ParameterCount];
            double loss = network.Gradient(x, t, batch, gradients);
            reference ??= gradients;
            referenceLoss = threads == 1 ? loss : referenceLoss;
            Assert.True(reference.AsSpan().SequenceEqual(gradients), $"batch {batch}: {threads} threads differ from 1 thread");
            Assert.Equal(referenceLoss, loss);
        }
    }

    /// <summary>Counting correct predictions over sets smaller and larger than the worker count and the evaluation chunk.</summary>
    [Theory]
    [MemberData(nameof(BatchSizes))]
    public void The_evaluation_counts_the_same_for_every_thread_count(int images)
    {
        Dataset<float> data = MnistFixture.Subset<float>(images * 7);
        int? reference = null;
        foreach (int threads in ThreadCounts)
        {
            using var network = new MultiLayerNet<float>(NetworkShape.Book, Activation.Sigmoid, Isa.Best, seed: 2, maxBatch: 1, threads);
            // A few steps of training first, so the predictions are not all one class.
            TrainBriefly(network);
            int correct = network.CountCorrect(data);
            reference ??= correct;
            Assert.Equal(reference, correct);
        }

        Assert.InRange(reference!.Value, 1, (images * 7) - 1);
    }

    /// <summary>The numerical gradient on a small odd shape (13 inputs, 5 hidden, 4 classes) from made-up data.</summary>
    [Theory]
    [MemberData(nameof(BatchSizes))]
    public void The_numerical_gradient_is_the_same_for_every_thread_count(int batch)
    {
        var shape = new NetworkShape(13, 5, 4);
        double[] x = Reference.Random<double>(batch * shape.InputSize, seed: (ulong)batch, low: 0, high: 1);
        byte[] t = [.. Enumerable.Range(0, batch).Select(i => (byte)((i * 7) % shape.OutputSize))];
        double[]? reference = null;
        foreach (int threads in ThreadCounts)
        {
            using var network = new MultiLayerNet<double>(shape, Activation.Sigmoid, Isa.Best, seed: 8, maxBatch: batch, threads);
            var gradients = new double[shape.ParameterCount];
            network.NumericalGradient(x, t, batch, gradients);
            reference ??= gradients;
            Assert.True(reference.AsSpan().SequenceEqual(gradients), $"batch {batch}: {threads} threads differ from 1 thread");
        }

        Assert.Contains(reference!, g => g != 0);
    }

    /// <summary>
    /// Hundreds of gradients in a row, phases of 1 and of 29 blocks alternating, batches changing: a worker
    /// that comes late to one phase (its blocks all taken) must never claim a block of the next one with
    /// the wrong phase's block count (once it did, and sliced past the batch).
    /// </summary>
    [Fact]
    public void Back_to_back_gradients_with_changing_batches_never_mix_phases()
    {
        (float[] x, byte[] t) = MnistFixture.TrainSingle.Take([.. Enumerable.Range(0, 64)]);
        using var single = new MultiLayerNet<float>(NetworkShape.Book, Activation.Relu, Isa.Best, seed: 6, maxBatch: 64, threads: 1);
        using var parallel = new MultiLayerNet<float>(NetworkShape.Book, Activation.Relu, Isa.Best, seed: 6, maxBatch: 64, threads: 3);
        int[] batches = [5, 64, 1, 9, 33];
        var expected = batches.Select(b =>
        {
            var g = new float[single.Shape.ParameterCount];
            single.Gradient(x, t, b, g);
            return g;
        }).ToArray();
        var gradients = new float[parallel.Shape.ParameterCount];
        for (int i = 0; i < 1500; i++)
        {
            int which = i % batches.Length;
            parallel.Gradient(x, t, batches[which], gradients);
            Assert.True(expected[which].AsSpan().SequenceEqual(gradients), $"gradient {i} (batch {batches[which]}) differs");
        }
    }

    private static void TrainBriefly(MultiLayerNet<float> network)
    {
        (float[] x, byte[] t) = MnistFixture.TrainSingle.Take([.. Enumerable.Range(0, 100)]);
        using var teacher = new MultiLayerNet<float>(network.Shape, network.Activation, network.Isa, seed: 2, maxBatch: 100, threads: 1);
        var gradients = new float[network.Shape.ParameterCount];
        for (int i = 0; i < 30; i++)
        {
            teacher.Gradient(x, t, 100, gradients);
            teacher.Update(gradients, new OptimizerSettings(OptimizerKind.Sgd, 0.5));
        }

        teacher.Parameters.CopyTo(network.Parameters);
    }
}
