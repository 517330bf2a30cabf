using Simd.Kernels;
using Simd.Mnist;
using Simd.Tests.Support;
using Simd.Training;

namespace Simd.Tests.Training;

/// <summary>
/// The book's MultiLayerNet beyond the ch. 4 network: any depth, Xavier and He initial weights, weight
/// decay, every optimizer of common/optimizer.py — checked against the book's formulas, against the
/// numerical gradient, across thread counts, and for allocation.
/// </summary>
[Collection(AllocationSensitive.Name)]
public class MultiLayerNetDeepTests
{
    public static TheoryData<OptimizerKind> Optimizers => [.. Enum.GetValues<OptimizerKind>()];

    /// <summary>
    /// optimizer.py written out plainly in double, in numpy's order of operations (scalar products of
    /// Python floats first): three updates with made-up gradients must land where the book's would.
    /// </summary>
    [Theory]
    [MemberData(nameof(Optimizers))]
    public void The_first_updates_follow_the_books_formulas(OptimizerKind kind)
    {
        var shape = new NetworkShape(5, [4, 3], 2);
        using var network = new MultiLayerNet<double>(shape, Activation.Relu, Isa.Best, seed: 3, maxBatch: 1);
        var settings = new OptimizerSettings(kind, 0.05);
        double[] p = network.Parameters.ToArray();
        double[] v = new double[p.Length], h = new double[p.Length], m = new double[p.Length];
        const double Momentum = 0.9, Decay = 0.99, Beta1 = 0.9, Beta2 = 0.999, Lr = 0.05;
        for (int t = 1; t <= 3; t++)
        {
            double[] g = Reference.Random<double>(p.Length, seed: (ulong)(t + 10));
            network.Update(g, settings);
            double lrT = Lr * Math.Sqrt(1.0 - Math.Pow(Beta2, t)) / (1.0 - Math.Pow(Beta1, t));
            for (int i = 0; i < p.Length; i++)
            {
                switch (kind)
                {
                    case OptimizerKind.Sgd:
                        p[i] -= Lr * g[i];
                        break;
                    case OptimizerKind.Momentum:
                        v[i] = (Momentum * v[i]) - (Lr * g[i]);
                        p[i] += v[i];
                        break;
                    case OptimizerKind.Nesterov:
                        p[i] += Momentum * Momentum * v[i];
                        p[i] -= (1 + Momentum) * Lr * g[i];
                        v[i] *= Momentum;
                        v[i] -= Lr * g[i];
                        break;
                    case OptimizerKind.AdaGrad:
                        h[i] += g[i] * g[i];
                        p[i] -= Lr * g[i] / (Math.Sqrt(h[i]) + 1e-7);
                        break;
                    case OptimizerKind.RmsProp:
                        h[i] *= Decay;
                        h[i] += (1 - Decay) * g[i] * g[i];
                        p[i] -= Lr * g[i] / (Math.Sqrt(h[i]) + 1e-7);
                        break;
                    default:
                        m[i] += (1 - Beta1) * (g[i] - m[i]);
                        h[i] += (1 - Beta2) * ((g[i] * g[i]) - h[i]);
                        p[i] -= lrT * m[i] / (Math.Sqrt(h[i]) + 1e-7);
                        break;
                }
            }

            for (int i = 0; i < p.Length; i++)
            {
                Assert.True(Math.Abs(p[i] - network.Parameters[i]) <= 1e-15 * Math.Max(1, Math.Abs(p[i])),
                    $"{kind} step {t}, parameter {i}: {network.Parameters[i]:R}, the book's formula gives {p[i]:R}");
            }
        }
    }

    /// <summary>The fused training step (each block updated by the worker that computed its gradient) equals gradient-then-update, bitwise.</summary>
    [Theory]
    [MemberData(nameof(Optimizers))]
    public void The_fused_step_equals_gradient_then_update(OptimizerKind kind)
    {
        var shape = new NetworkShape(784, [37, 19], 10);
        Dataset<float> train = MnistFixture.Subset<float>(500);
        var settings = new OptimizerSettings(kind, OptimizerSettings.DefaultLearningRate(kind));
        using var fused = new MultiLayerNet<float>(shape, Activation.Relu, Isa.Best, seed: 5, maxBatch: 20, threads: 2, WeightInit.He, weightDecay: 0.01);
        using var plain = new MultiLayerNet<float>(shape, Activation.Relu, Isa.Best, seed: 5, maxBatch: 20, threads: 1, WeightInit.He, weightDecay: 0.01);
        var gradients = new float[shape.ParameterCount];
        for (int step = 0; step < 5; step++)
        {
            int[] indices = [.. Enumerable.Range(step * 20, 20)];
            indices.CopyTo(fused.Workspace.BatchIndices);
            indices.CopyTo(fused.Workspace.NextBatchIndices);
            float fusedLoss = fused.TrainStep(train, 20, settings);
            (float[] x, byte[] t) = train.Take(indices);
            float plainLoss = plain.Gradient(x, t, 20, gradients);
            plain.Update(gradients, settings);
            Assert.Equal(plainLoss, fusedLoss);
            Assert.True(plain.Parameters.SequenceEqual(fused.Parameters), $"{kind}, step {step}: the fused step differs");
        }
    }

    /// <summary>The book's gradient check on MultiLayerNet: three hidden layers, weight decay, double, 1e-6.</summary>
    [Theory]
    [InlineData(Activation.Relu, WeightInitKind.He)]
    [InlineData(Activation.Sigmoid, WeightInitKind.Xavier)]
    public void Backprop_matches_the_numerical_gradient_with_three_hidden_layers_and_weight_decay(Activation activation, WeightInitKind init)
    {
        var shape = new NetworkShape(784, [12, 9, 7], 10);
        using var network = new MultiLayerNet<double>(shape, activation, Isa.Best, seed: 42, maxBatch: 3, threads: 2, new WeightInit(init), weightDecay: 0.1);
        (double[] x, byte[] t) = MnistFixture.TrainDouble.Take([0, 1, 2]);
        var backprop = new double[shape.ParameterCount];
        var numerical = new double[shape.ParameterCount];
        double loss = network.Gradient(x, t, 3, backprop);
        network.NumericalGradient(x, t, 3, numerical);
        Assert.Equal(network.Loss(x, t, 3), loss, 1e-12);
        IReadOnlyList<TensorComparison> rows = GradientComparison.Compare<double>(shape, backprop, numerical);
        Assert.Equal(["W1", "b1", "W2", "b2", "W3", "b3", "W4", "b4"], rows.Select(r => r.Tensor.Name));
        foreach (TensorComparison row in rows)
        {
            Assert.True(row.RelativeError <= 1e-6, $"{row.Tensor.Name}: relative error {row.RelativeError:E2}");
        }

        // The decay term is really there: without it the weights' gradients differ by λW.
        using var plain = new MultiLayerNet<double>(shape, activation, Isa.Best, seed: 42, maxBatch: 3, threads: 1, new WeightInit(init));
        var noDecay = new double[shape.ParameterCount];
        plain.Gradient(x, t, 3, noDecay);
        int w1 = shape.WeightOffset(0);
        Assert.Equal(noDecay[w1] + (0.1 * network.Parameters[w1]), backprop[w1], 1e-15);
        Assert.Equal(noDecay[shape.BiasOffset(0)], backprop[shape.BiasOffset(0)]);
    }

    [Fact]
    public void Xavier_and_he_scale_each_layer_by_its_fan_in()
    {
        var shape = new NetworkShape(784, [400, 200], 10);
        foreach ((WeightInit init, Func<int, double> expected) in (ReadOnlySpan<(WeightInit, Func<int, double>)>)
            [(WeightInit.Xavier, n => Math.Sqrt(1.0 / n)), (WeightInit.He, n => Math.Sqrt(2.0 / n)), (new WeightInit(WeightInitKind.StandardDeviation, 0.05), _ => 0.05)])
        {
            using var network = new MultiLayerNet<double>(shape, Activation.Relu, IsaPath.Scalar, seed: 1, maxBatch: 1, threads: 1, init);
            for (int l = 0; l < shape.LayerCount; l++)
            {
                ReadOnlySpan<double> w = network.Weights(l).Flat();
                double std = Math.Sqrt(w.ToArray().Select(v => v * v).Average());
                Assert.InRange(std / expected(shape.InputsOf(l)), 0.95, 1.05);
                Assert.True(network.Bias(l).IndexOfAnyExcept(0.0) < 0);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Optimizers))]
    public void A_step_allocates_nothing_with_any_optimizer(OptimizerKind kind)
    {
        var options = new TrainingOptions
        {
            Threads = 2, HiddenSizes = [64, 32], Activation = Activation.Relu, Init = WeightInit.He, WeightDecay = 0.01,
            Optimizer = new OptimizerSettings(kind, OptimizerSettings.DefaultLearningRate(kind)),
        };
        using var trainer = new Trainer<float>(options, MnistFixture.TrainSingle, MnistFixture.TestSingle, Isa.Best);
        for (int i = 0; i < 20; i++)
        {
            trainer.Step();
        }

        long before = trainer.Network.Pool.AllocatedBytes();
        for (int i = 0; i < 200; i++)
        {
            trainer.Step();
        }

        Assert.Equal(0, trainer.Network.Pool.AllocatedBytes() - before);
    }

    /// <summary>The book's optimizer_compare_mnist.py network learns: 784-100-100-100-100-10, ReLU, He, Adam, batch 128.</summary>
    [Fact]
    public void The_books_deep_network_learns_with_adam()
    {
        var options = new TrainingOptions
        {
            Threads = 2, Iterations = 301, BatchSize = 128, HiddenSizes = [100, 100, 100, 100], Activation = Activation.Relu,
            Init = WeightInit.He, Optimizer = new OptimizerSettings(OptimizerKind.Adam, 0.001),
        };
        using var trainer = new Trainer<float>(options, MnistFixture.TrainSingle, MnistFixture.TestSingle, Isa.Best);
        TrainingResult result = trainer.Run();
        Assert.True(result.Final.TestAccuracy >= 0.9, $"test accuracy {result.Final.TestAccuracy} after 300 Adam steps");
    }
}
