using System.Runtime.CompilerServices;
using Simd.Kernels;
using Simd.Tests.Support;
using Simd.Training;

namespace Simd.Tests.Training;

/// <summary>The network as the book defines it: initialisation, loss, accuracy, and what the gradients leave untouched.</summary>
public class MultiLayerNetTests
{
    [Fact]
    public void Weights_start_as_0_01_times_normal_and_biases_at_zero()
    {
        var network = new MultiLayerNet<double>(NetworkShape.Book, Activation.Sigmoid, IsaPath.Scalar, seed: 7, maxBatch: 1);
        NetworkShape shape = network.Shape;
        Span<double> p = network.Parameters;
        Assert.Equal(39_760, shape.ParameterCount);
        Assert.Equal((784, 50), (network.Weights(0).Height, network.Weights(0).Width)); // the book's W1 shape
        Assert.Equal((50, 10), (network.Weights(1).Height, network.Weights(1).Width));
        Assert.Equal(shape.WeightOffset(1), (int)Unsafe.ByteOffset(ref p[0], ref network.Weights(1)[0, 0]) / sizeof(double));
        Assert.Equal(p[shape.WeightOffset(0) + (3 * 50) + 7], network.Weights(0)[3, 7]); // row-major [n_in, n_out]
        (double mean, double std) = Moments(shape.Weights(p, 0).Flat());
        Assert.InRange(mean, -3e-4, 3e-4);        // 39,200 draws: standard error 5e-5
        Assert.InRange(std, 0.0098, 0.0102);      // standard error of the std: 3.6e-5
        Assert.True(shape.Bias(p, 0).IndexOfAnyExcept(0.0) < 0);
        Assert.True(shape.Bias(p, 1).IndexOfAnyExcept(0.0) < 0);
        (_, double std2) = Moments(shape.Weights(p, 1).Flat());
        Assert.InRange(std2, 0.0085, 0.0115);     // 500 draws
    }

    [Fact]
    public void Float_and_double_networks_start_from_the_same_weights()
    {
        var single = new MultiLayerNet<float>(NetworkShape.Book, Activation.Relu, IsaPath.Scalar, seed: 3, maxBatch: 1);
        var dbl = new MultiLayerNet<double>(NetworkShape.Book, Activation.Relu, IsaPath.Scalar, seed: 3, maxBatch: 1);
        for (int i = 0; i < single.Shape.ParameterCount; i++)
        {
            Assert.Equal((float)dbl.Parameters[i], single.Parameters[i]);
        }

        var other = new MultiLayerNet<double>(NetworkShape.Book, Activation.Relu, IsaPath.Scalar, seed: 4, maxBatch: 1);
        Assert.NotEqual(dbl.Parameters[0], other.Parameters[0]);
    }

    [Fact]
    public void Initial_loss_is_about_log_10_and_accuracy_about_chance()
    {
        var network = new MultiLayerNet<float>(NetworkShape.Book, Activation.Sigmoid, Isa.Best, BookDefaults.Seed, maxBatch: 100);
        (float[] x, byte[] t) = MnistFixture.TrainSingle.Take([.. Enumerable.Range(0, 100)]);
        Assert.Equal(Math.Log(10), network.Loss(x, t, 100), 0.02);
        double accuracy = network.Accuracy(MnistFixture.TestSingle);
        Assert.InRange(accuracy, 0.05, 0.2);
    }

    [Fact]
    public void Backprop_loss_equals_the_loss_method()
    {
        var network = new MultiLayerNet<double>(NetworkShape.Book, Activation.Relu, Isa.Best, BookDefaults.Seed, maxBatch: 10);
        (double[] x, byte[] t) = MnistFixture.TrainDouble.Take([.. Enumerable.Range(100, 10)]);
        var gradients = new double[network.Shape.ParameterCount];
        Assert.Equal(network.Loss(x, t, 10), network.Gradient(x, t, 10, gradients));
    }

    [Fact]
    public void Numerical_gradient_leaves_the_parameters_as_they_were()
    {
        var shape = new NetworkShape(784, 3, 10);
        var network = new MultiLayerNet<float>(shape, Activation.Sigmoid, Isa.Best, seed: 11, maxBatch: 2);
        float[] before = network.Parameters.ToArray();
        (float[] x, byte[] t) = MnistFixture.TrainSingle.Take([5, 6]);
        var gradients = new float[shape.ParameterCount];
        int lastReport = 0;
        network.NumericalGradient(x, t, 2, gradients, (done, total) => lastReport = done);
        Assert.Equal(before, network.Parameters.ToArray());
        Assert.Equal(shape.ParameterCount, lastReport);
        Assert.Contains(gradients, g => g != 0);
    }

    [Fact]
    public void Sgd_update_subtracts_the_scaled_gradient()
    {
        var network = new MultiLayerNet<double>(new NetworkShape(4, 2, 3), Activation.Sigmoid, IsaPath.Scalar, seed: 1, maxBatch: 1);
        double[] before = network.Parameters.ToArray();
        double[] gradients = [.. Enumerable.Range(0, network.Shape.ParameterCount).Select(i => i * 0.5)];
        network.Update(gradients, new OptimizerSettings(OptimizerKind.Sgd, 0.1));
        for (int i = 0; i < before.Length; i++)
        {
            Assert.Equal(before[i] - (0.1 * gradients[i]), network.Parameters[i]);
        }
    }

    [Fact]
    public void Dataset_normalizes_as_the_book_in_float32()
    {
        byte[] pixels = [0, 1, 128, 254, 255, 3];
        var single = Dataset<float>.FromBytes(pixels, [0, 9], 2, 3, 10);
        var dbl = Dataset<double>.FromBytes(pixels, [0, 9], 2, 3, 10);
        foreach (IsaPath isa in Isa.Supported)
        {
            var images = new float[6];
            single.CopyImages(isa, 0, 2, images);
            Assert.Equal([0f, 1f / 255f, 128f / 255f, 254f / 255f, 1f, 3f / 255f], images);
            var widened = new double[6];
            dbl.CopyImages(isa, 0, 2, widened);
            Assert.Equal((double)(128f / 255f), widened[2]);
            Assert.NotEqual(128.0 / 255.0, widened[2]); // the book widens float32, it does not divide in float64
        }

        Assert.Throws<ArgumentException>(() => Dataset<float>.FromBytes(pixels, [0, 10], 2, 3, 10));
    }

    [Fact]
    public void Workspace_views_are_64_byte_aligned()
    {
        var ws = new Workspace<float>(NetworkShape.Book, maxBatch: 100, workerCount: 3, evaluationChunkRows: 256);
        Assert.True(Workspace<float>.IsAligned(ws.Parameters));
        Assert.True(Workspace<float>.IsAligned(ws.Gradients));
        Assert.True(Workspace<float>.IsAligned(ws.BatchImages));
        Assert.True(Workspace<float>.IsAligned(ws.OptimizerState1));
        Assert.True(Workspace<float>.IsAligned(ws.OptimizerState2));
        for (int l = 0; l < 2; l++)
        {
            Assert.True(Workspace<float>.IsAligned(ws.Activations(l).Flat()));
            Assert.True(Workspace<float>.IsAligned(ws.LayerGradients(l).Flat()));
        }

        for (int w = 0; w < 3; w++)
        {
            Assert.True(Workspace<float>.IsAligned(ws.WorkerParameters(w)));
            Assert.True(Workspace<float>.IsAligned(ws.WorkerBatchImages(w)));
            Assert.True(Workspace<float>.IsAligned(ws.WorkerScratch(w, 0)));
            Assert.True(Workspace<float>.IsAligned(ws.WorkerScratch(w, 1)));
        }

        Assert.Equal(100 * 784, ws.BatchImages.Length);
        Assert.Equal((100, 50), (ws.Activations(0).Height, ws.Activations(0).Width));
        Assert.Equal((100, 10), (ws.LayerGradients(1).Height, ws.LayerGradients(1).Width));
        Assert.Equal(256 * 50, ws.WorkerScratch(0, 1).Length); // the widest layer output, per row
    }

    private static (double Mean, double Std) Moments(ReadOnlySpan<double> values)
    {
        double sum = 0, squares = 0;
        foreach (double v in values)
        {
            sum += v;
            squares += v * v;
        }

        double mean = sum / values.Length;
        return (mean, Math.Sqrt((squares / values.Length) - (mean * mean)));
    }
}
