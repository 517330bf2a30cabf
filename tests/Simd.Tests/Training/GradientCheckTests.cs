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
}
