using Simd.Kernels;
using Simd.Mnist;
using Simd.Tests.Support;
using Simd.Training;

namespace Simd.Tests.Training;

/// <summary>
/// The book's gradient_check.py in double on the real network (784-50-10, the first 3 training
/// images): backprop against central differences, per parameter tensor.
/// </summary>
public class GradientCheckTests
{
    /// <summary>
    /// The bound on ‖a - n‖ / (‖a‖ + ‖n‖). Measured: 5.0e-7 for every tensor, sigmoid and ReLU — the
    /// book's 1e-7 inside log(y + 1e-7), which the backward pass ignores, divided by 2·y[t] ≈ 0.2.
    /// </summary>
    private const double Tolerance = 1e-6;

    [Theory]
    [InlineData(Activation.Sigmoid)]
    [InlineData(Activation.Relu)]
    public void Backprop_matches_numerical_gradient_in_double(Activation activation)
    {
        IsaPath isa = Isa.Best;
        (double[] x, byte[] t) = MnistFixture.TrainDouble.Take([0, 1, 2]);
        var network = new MultiLayerNet<double>(NetworkShape.Book, activation, isa, BookDefaults.Seed, maxBatch: 3);
        var backprop = new double[network.Shape.ParameterCount];
        var numerical = new double[network.Shape.ParameterCount];
        network.Gradient(x, t, 3, backprop);
        network.NumericalGradient(x, t, 3, numerical);

        IReadOnlyList<TensorComparison> rows = GradientComparison.Compare<double>(network.Shape, backprop, numerical);
        Assert.Equal(["W1", "b1", "W2", "b2"], rows.Select(r => r.Tensor.Name));
        foreach (TensorComparison row in rows)
        {
            Assert.True(row.RelativeError <= Tolerance, $"{activation} {row.Tensor.Name}: relative error {row.RelativeError:E2} > {Tolerance:E0}");
            Assert.True(row.MeanAbsoluteDifference < 1e-6, $"{activation} {row.Tensor.Name}: mean |diff| {row.MeanAbsoluteDifference:E2}");
        }

        // Not vacuous: the gradients are far from zero, and a wrong one is far outside the tolerance.
        Assert.True(backprop.Max(Math.Abs) > 1e-3);
        backprop[network.Shape.BiasOffset(1)] *= 1.01;
        double broken = GradientComparison.Compare<double>(network.Shape, backprop, numerical)[3].RelativeError;
        Assert.True(broken > 100 * Tolerance, $"a 1% error in one b2 element gave only {broken:E2}");
    }

    [Fact]
    public void Comparison_measures_are_what_they_say()
    {
        var shape = new NetworkShape(1, 1, 2); // W1 [1], b1 [1], W2 [2], b2 [2]
        double[] a = [3, 1, 1, 0, 1e-12, 2];
        double[] n = [3, 1, 1, 0.5, 0, 2];
        IReadOnlyList<TensorComparison> rows = GradientComparison.Compare<double>(shape, a, n);
        Assert.Equal(0, rows[0].RelativeError);
        Assert.Equal(0.25, rows[2].MeanAbsoluteDifference);
        Assert.Equal(0.5, rows[2].MaxAbsoluteDifference);
        Assert.Equal(0.5 / (1 + Math.Sqrt(1.25)), rows[2].RelativeError, 1e-15);
        Assert.Equal(1.0, rows[2].MaxElementRelativeError);
        // 1e-12 against 0: below the element floor, compared absolutely.
        Assert.Equal(1e-12 / GradientComparison.ElementFloor, rows[3].MaxElementRelativeError, 1e-15);
    }

    /// <summary>
    /// The numerical side on backprop's own loss (no δ) with h = 1e-5 leaves about 1e-9, so a bug of one part in a
    /// million — W1's gradient scaled by 1 + 1e-6, a relative error of 5e-7, the size of the book's own δ floor —
    /// fails the 1e-7 the CLI now uses.
    /// </summary>
    [Theory]
    [InlineData(Activation.Sigmoid)]
    [InlineData(Activation.Relu)]
    public void The_check_on_backprops_loss_catches_a_bug_of_one_part_in_a_million(Activation activation)
    {
        (double[] x, byte[] t) = MnistFixture.TrainDouble.Take([0, 1, 2]);
        using var network = new MultiLayerNet<double>(NetworkShape.Book, activation, Isa.Best, BookDefaults.Seed, maxBatch: 3, threads: 2);
        var backprop = new double[network.Shape.ParameterCount];
        var numerical = new double[network.Shape.ParameterCount];
        var kinks = new byte[network.Shape.ParameterCount];
        network.Gradient(x, t, 3, backprop);
        network.NumericalGradient(x, t, 3, numerical, loss: NumericalLoss.Backprop, kinks: kinks, step: 1e-5);
        double exact = GradientComparison.Compare<double>(network.Shape, backprop, numerical, kinks).Max(r => r.RelativeError);
        Assert.True(exact < 2e-8, $"backprop against its own loss: {exact:E2}");

        ParameterTensor w1 = network.Shape.Tensors[0];
        foreach (ref double g in backprop.AsSpan(w1.Offset, w1.Length))
        {
            g *= 1 + 1e-6;
        }

        Assert.True(GradientComparison.Compare<double>(network.Shape, backprop, numerical, kinks)[0].RelativeError > 1e-7, "a bug of 1e-6 went unseen");
    }

    /// <summary>
    /// A hidden unit whose input sits 0.5e-5 above ReLU's kink: moving b1[0] or W1[0, 0] by ±1e-5 takes it across, so
    /// their central differences straddle the kink and are flagged (and left out); nothing else is.
    /// </summary>
    [Fact]
    public void Central_differences_across_a_relu_kink_are_flagged()
    {
        var shape = new NetworkShape(4, [3], 2);
        using var network = new MultiLayerNet<double>(shape, Activation.Relu, Isa.Best, seed: 5, maxBatch: 1);
        ParameterTensor w1 = shape.Tensors[0], b1 = shape.Tensors[1];
        Span<double> p = network.Parameters;
        p.Slice(w1.Offset, w1.Length).Fill(0.1);
        p.Slice(b1.Offset, b1.Length).Fill(0.2);
        p[b1.Offset] = -0.1 + 0.5e-5; // z_0 = 1 · 0.1 + b1[0] = 0.5e-5 for the image below
        double[] x = [1, 0, 0, 0];
        byte[] t = [1];
        var backprop = new double[shape.ParameterCount];
        var numerical = new double[shape.ParameterCount];
        var kinks = new byte[shape.ParameterCount];
        network.Gradient(x, t, 1, backprop);
        network.NumericalGradient(x, t, 1, numerical, loss: NumericalLoss.Backprop, kinks: kinks, step: 1e-5);

        int[] flagged = [.. Enumerable.Range(0, kinks.Length).Where(i => kinks[i] != 0)];
        Assert.Equal([w1.Offset, b1.Offset], flagged); // W1[0, 0] (x_0 = 1) and b1[0]; W1[1.., 0] meet x = 0
        IReadOnlyList<TensorComparison> rows = GradientComparison.Compare<double>(shape, backprop, numerical, kinks);
        Assert.Equal([1, 1, 0, 0], rows.Select(r => r.Excluded));
        Assert.True(rows.Max(r => r.RelativeError) < 1e-8, string.Join(", ", rows.Select(r => $"{r.Tensor.Name} {r.RelativeError:E2}")));
        Assert.True(GradientComparison.Compare<double>(shape, backprop, numerical)[1].RelativeError > 1e-3, "the kink should spoil b1 when not left out");
    }

    /// <summary>
    /// The check's numerical side (backprop's loss, h = 1e-5) and its kink flags are bitwise the same for any thread
    /// count, past the cores and past the batch's row blocks, for batches of 1 and 7, on a deeper ReLU network with
    /// batch normalization.
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    public void Kinks_and_the_exact_numerical_gradient_do_not_depend_on_threads(int batch)
    {
        var shape = new NetworkShape(784, [6, 5, 4], 10, batchNorm: true);
        (double[] x, byte[] t) = MnistFixture.TrainDouble.Take([.. Enumerable.Range(0, batch)]);
        (double[] Gradient, byte[] Kinks)? first = null;
        foreach (int threads in (int[])[1, 3, 8])
        {
            using var network = new MultiLayerNet<double>(shape, Activation.Relu, Isa.Best, seed: 4, maxBatch: batch, threads);
            var numerical = new double[shape.ParameterCount];
            var kinks = new byte[shape.ParameterCount];
            network.NumericalGradient(x, t, batch, numerical, loss: NumericalLoss.Backprop, kinks: kinks, step: 1e-5);
            first ??= (numerical, kinks);
            Assert.Equal(first.Value.Gradient, numerical);
            Assert.Equal(first.Value.Kinks, kinks);
        }
    }
}
