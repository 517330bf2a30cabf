using Simd.Kernels;
using Simd.Tests.Support;
using Simd.Training;
using Simd.Training.Layers;

namespace Simd.Tests.Training.Layers;

/// <summary>
/// Convolutional stacks on the layer engine (issue 17): backprop against central differences in double (the book's
/// ch07/gradient_check.py), fused and unfused convolution and pooling, a convolution that must give dX, batch
/// normalization and dropout after a convolution; no allocation in a step. (Their steps for any thread count and batch:
/// ThreadCountMatrixTests.)
/// </summary>
public class ConvolutionalNetworkTests
{
    /// <summary>
    /// Bound on ‖a − n‖ / (‖a‖ + ‖n‖) with backprop's own loss and h = 1e-6 in double, kinks (a ReLU's sign, a max
    /// pooling's choice switching between p ± h) left out. At h = 1e-5 batch normalization over 3 images left 9.25e-7 by
    /// its O(h²) truncation alone (below 1e-7 at 1e-6), and without the pooling's kinks a padded convolution gave 3e-4
    /// while backprop matched the difference exactly at h = 1e-6 and 1e-7.
    /// </summary>
    private const double Tolerance = 1e-7;

    public static TheoryData<string> Stacks =>
    [
        "conv10x3-relu-pool2-affine10-relu-affine10",     // the gradcheck: fused conv-ReLU-pool
        "conv4x5s2p2-sigmoid-pool2s1-affine10",           // unfused: stride, padding, an overlapping pool after sigmoid
        "conv3x3p1-relu-conv4x3-relu-pool2-affine10",     // a second convolution gives dX through col2im
        "pool2-conv3x3-batchnorm-relu-dropout0.3-affine7-sigmoid-affine10", // pooling first, batch norm and dropout on images
        "conv2x7p1-relu-affine10",                        // a 7x7 kernel, no pooling
        "conv4x5p2-sigmoid-pool2-affine10",               // a max pooling with places within h of each other: kinks left out
        "conv3x3p1-relu-conv5x3p2-relu-pool2-conv4x3p1-relu-affine10-dropout0.5", // direct convolutions (odd sizes, dX, tap-major dW), dropout after the output
    ];

    [Theory]
    [MemberData(nameof(Stacks))]
    public void Backprop_matches_the_numerical_gradient_in_double(string layers)
    {
        (double[] x, byte[] t) = MnistFixture.TrainDouble.Take([0, 1, 2]);
        using var network = new MultiLayerNet<double>(LayerStack.Parse(layers, LayerStack.MnistImage), Isa.Best, BookDefaults.Seed, maxBatch: 3, threads: 2,
            init: WeightInit.He);
        int count = network.Shape.ParameterCount;
        var backprop = new double[count];
        var numerical = new double[count];
        var kinks = new byte[count];
        network.Gradient(x, t, 3, backprop);
        network.NumericalGradient(x, t, 3, numerical, loss: NumericalLoss.Backprop, kinks: kinks, step: 1e-6);

        IReadOnlyList<TensorComparison> rows = GradientComparison.Compare<double>(network.Shape, backprop, numerical, kinks);
        Assert.Equal(network.Shape.Tensors.Select(tensor => tensor.Name), rows.Select(r => r.Tensor.Name));
        foreach (TensorComparison row in rows)
        {
            Assert.True(row.RelativeError <= Tolerance, $"{layers} {row.Tensor.Name}: relative error {row.RelativeError:E2} > {Tolerance:E0}");
        }

        // Not vacuous: W1's gradient is far from zero, and a 1e-4 error in it fails.
        Assert.True(backprop.AsSpan(0, network.Shape.WeightLength(0)).ToArray().Max(Math.Abs) > 1e-4);
        backprop[0] *= 1 + 1e-4;
        backprop[1] *= 1 - 1e-4;
        Assert.True(GradientComparison.Compare<double>(network.Shape, backprop, numerical, kinks)[0].RelativeError > Tolerance);
    }

    [Theory]
    [InlineData("simple-convnet")]
    [InlineData("deep-convnet")] // the direct convolution, pooling apart, dropout after the output
    public void A_training_step_allocates_nothing(string net)
    {
        Dataset<float> train = MnistFixture.TrainSingle;
        using var network = new MultiLayerNet<float>(LayerStack.Named(net)!, Isa.Best, BookDefaults.Seed, 100, threads: 2);
        var optimizer = new OptimizerSettings(OptimizerKind.Adam, 0.001);
        for (int i = 0; i < 100; i++)
        {
            network.Workspace.BatchIndices[i] = i;
        }

        network.TrainStep(train, 100, optimizer); // warm up
        long before = GC.GetAllocatedBytesForCurrentThread() + network.Pool.AllocatedBytes();
        for (int step = 0; step < 5; step++)
        {
            network.TrainStep(train, 100, optimizer);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() + network.Pool.AllocatedBytes() - before);
    }
}
