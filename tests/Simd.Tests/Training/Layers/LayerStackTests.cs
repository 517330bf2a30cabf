using Simd.Training;
using Simd.Training.Layers;

namespace Simd.Tests.Training.Layers;

/// <summary>The --layers grammar, the named networks, the book's parameter names and shapes, and the FLOP counts built on them.</summary>
public class LayerStackTests
{
    [Theory]
    [InlineData("conv30x5-relu-pool2-affine100-relu-affine10", "1x28x28", "30x12x12")]
    [InlineData("conv16x3p1-relu-conv16x3p1-relu-pool2-affine50-relu-dropout0.5-affine10", "1x28x28", "16x14x14")]
    [InlineData("conv7x7s2p3-sigmoid-pool4s2-batchnorm-affine10", "1x28x28", "7x6x6")]
    [InlineData("affine100-batchnorm-relu-dropout0.25-affine10", "784", "100")]
    public void A_spec_reads_back_as_written_with_its_shapes(string spec, string input, string lastSpatial)
    {
        LayerStack stack = LayerStack.Parse(spec, LayerStack.MnistImage);
        Assert.Equal(spec, stack.ToString());
        Assert.Equal(input, stack.Input.ToString());
        Assert.Contains(Enumerable.Range(0, stack.Layers.Count), i => stack.OutputOf(i).ToString() == lastSpatial);
        Assert.Equal(10, stack.OutputSize);
        Assert.Equal(stack, LayerStack.Parse(stack.ToString(), LayerStack.MnistImage));
    }

    [Fact]
    public void Simple_convnet_has_the_books_names_shapes_and_flops()
    {
        LayerStack stack = LayerStack.Named("simple-convnet")!;
        Assert.Equal("conv30x5-relu-pool2-affine100-relu-affine10", stack.ToString());
        Assert.Equal(["W1 [30, 1, 5, 5]", "b1 [30]", "W2 [4320, 100]", "b2 [100]", "W3 [100, 10]", "b3 [10]"],
            stack.Shape.Tensors.Select(t => $"{t.Name} {t.ShapeText}"));
        Assert.Equal(30 * 25 + 30 + (4320 * 100) + 100 + 1000 + 10, stack.Shape.ParameterCount);
        // The issue's count: conv forward and dW, the 4320x100 affine's forward, dW and dX, 86.4 MFLOP each, and the small last affine.
        Assert.Equal((5 * 86.4e6) + (3 * 2 * 100 * 100 * 10), FlopCount.Backprop(stack, 100), 1e-3);
        Assert.Equal(15.98e6, FlopCount.Backprop(NetworkShape.Book, 100), 0.01e6);
    }

    [Fact]
    public void Deep_convnet_is_ch8s_network_with_its_names_shapes_fan_ins_and_flops()
    {
        LayerStack stack = LayerStack.Named("deep-convnet")!;
        Assert.Equal("conv16x3p1-relu-conv16x3p1-relu-pool2-conv32x3p1-relu-conv32x3p2-relu-pool2-conv64x3p1-relu-conv64x3p1-relu-pool2-" +
            "affine50-relu-dropout0.5-affine10-dropout0.5", stack.ToString());
        Assert.Equal(
            ["W1 [16, 1, 3, 3]", "b1 [16]", "W2 [16, 16, 3, 3]", "b2 [16]", "W3 [32, 16, 3, 3]", "b3 [32]", "W4 [32, 32, 3, 3]", "b4 [32]",
             "W5 [64, 32, 3, 3]", "b5 [64]", "W6 [64, 64, 3, 3]", "b6 [64]", "W7 [1024, 50]", "b7 [50]", "W8 [50, 10]", "b8 [10]"],
            stack.Shape.Tensors.Select(t => $"{t.Name} {t.ShapeText}"));
        Assert.Equal(10, stack.OutputSize); // the classes: the last affine's, with a dropout after it
        Assert.Equal(["28", "28", "14", "14", "16", "8", "8", "8", "4"],
            Enumerable.Range(0, stack.Layers.Count).Where(i => stack.Layers[i].Kind is LayerKind.Convolution or LayerKind.Pooling).Select(i => stack.OutputOf(i).Height.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        // He's scale from each weight layer's fan-in: deep_convnet.py's pre_node_nums.
        Assert.Equal(WeightInit.He, LayerStack.NamedInit("deep-convnet"));
        Assert.Null(LayerStack.NamedInit("simple-convnet"));
        using var network = new MultiLayerNet<double>(stack, Simd.Kernels.Isa.Best, BookDefaults.Seed, maxBatch: 1, init: WeightInit.He);
        int[] fanIns = [9, 144, 144, 288, 288, 576, 1024, 50];
        ParameterTensor[] weights = [.. stack.Shape.Tensors.Where(t => t.Name.StartsWith('W'))];
        for (int i = 0; i < fanIns.Length; i++)
        {
            ReadOnlySpan<double> w = network.Parameters.Slice(weights[i].Offset, weights[i].Length);
            double std = Math.Sqrt(w.ToArray().Sum(v => v * v) / w.Length);
            // 144 values (W1) estimate a deviation within about 6% (1 / sqrt(2n)): 25% cannot pass with another fan-in.
            Assert.InRange(std / Math.Sqrt(2.0 / fanIns[i]), 0.75, 1.25);
        }
    }

    [Theory]
    [InlineData("affine20-relu-affine10-relu", "the last layer must be the affine layer that gives the classes, or dropout after it")]
    [InlineData("affine20-dropout0.5-relu", "the last layer must be the affine layer that gives the classes, or dropout after it")]
    [InlineData("conv4x3-relu-pool2", "the last layer must be the affine layer that gives the classes, or dropout after it")]
    public void Only_dropout_may_follow_the_output_affine(string spec, string message)
    {
        LayerSpecException e = Assert.Throws<LayerSpecException>(() => LayerStack.Parse(spec, LayerStack.MnistImage));
        Assert.StartsWith(message, e.Message, StringComparison.Ordinal);
        Assert.Equal(10, LayerStack.Parse("affine20-relu-affine10-dropout0.5-dropout0.2", LayerStack.MnistImage).OutputSize);
    }

    [Fact]
    public void The_fully_connected_shorthand_is_the_same_layout_as_the_sizes()
    {
        LayerStack stack = LayerStack.FullyConnected(784, [100, 50], 10, Activation.Relu, batchNorm: true, dropout: 0.5);
        Assert.Equal("affine100-batchnorm-relu-dropout0.5-affine50-batchnorm-relu-dropout0.5-affine10", stack.ToString());
        Assert.Equal(new NetworkShape(784, [100, 50], 10, batchNorm: true), stack.Shape);
        Assert.Equal("784-100-50-10 batchnorm", stack.Shape.ToString());
        Assert.Equal("784-50-10 sigmoid", $"{LayerStack.Named("two-layer")!.Shape} sigmoid");
    }

    [Fact]
    public void Batch_normalization_takes_the_number_of_the_layer_before_it()
    {
        LayerStack stack = LayerStack.Parse("conv4x3-batchnorm-relu-pool2-affine20-batchnorm-relu-affine10", LayerStack.MnistImage);
        Assert.Equal(["W1", "b1", "gamma1", "beta1", "W2", "b2", "gamma2", "beta2", "W3", "b3"], stack.Shape.Tensors.Select(t => t.Name));
        Assert.Equal("[2704]", stack.Shape.Tensors[2].ShapeText); // 4 x 26 x 26 features, as the book reshapes a 4-D input
        Assert.Throws<LayerSpecException>(() => LayerStack.Parse("pool2-batchnorm-affine10", LayerStack.MnistImage).Shape);
    }
}
