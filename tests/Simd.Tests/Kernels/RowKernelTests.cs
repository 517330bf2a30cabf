using Simd.Kernels;
using Simd.Tests.Support;

namespace Simd.Tests.Kernels;

/// <summary>Softmax + cross-entropy, column sums and row argmax: hand-computed values and the references, on every path.</summary>
public class RowKernelTests
{
    public static TheoryData<IsaPath> Paths => Reference.Paths();

    // Computed by hand (Python's math module, double): softmax([1, 2, 3]) and softmax([0.5, -1, 0.25, 2]).
    private static readonly double[] SoftmaxOf123 = [0.09003057317038046, 0.24472847105479764, 0.6652409557748218];
    private const double LossOf123Label2 = 0.4076058141229194;   // -log(0.6652409557748218 + 1e-7)
    private static readonly double[] SoftmaxOfSecond = [0.15423482528416219, 0.034414441266120206, 0.12011820270818684, 0.6912325307415307];
    private const double LossOfSecondLabel0 = 1.8692783500864623; // -log(0.15423482528416219 + 1e-7)

    [Theory]
    [MemberData(nameof(Paths))]
    public void Softmax_cross_entropy_matches_hand_computed_values(IsaPath isa)
    {
        double[] logits = [1, 2, 3];
        byte[] labels = [2];
        var losses = new double[1];
        var gradient = new double[3];
        SoftmaxCrossEntropy.ForwardBackward<double>(isa, logits, labels, 1, 3, 1, losses, gradient);
        Assert.Equal(LossOf123Label2, losses[0], 1e-15);
        Assert.Equal(SoftmaxOf123[0], gradient[0], 1e-15);
        Assert.Equal(SoftmaxOf123[1], gradient[1], 1e-15);
        Assert.Equal(SoftmaxOf123[2] - 1, gradient[2], 1e-15);

        // Two rows of a batch of 4: the gradient is divided by the whole batch, not by the rows given.
        double[] second = [0.5, -1, 0.25, 2, 0, 0, 0, 0];
        var lossPair = new double[2];
        var gradientPair = new double[8];
        SoftmaxCrossEntropy.ForwardBackward<double>(isa, second, [0, 3], 2, 4, 4, lossPair, gradientPair);
        Assert.Equal(LossOfSecondLabel0, lossPair[0], 1e-15);
        Assert.Equal(-Math.Log(0.25 + 1e-7), lossPair[1], 1e-15);
        Assert.Equal((SoftmaxOfSecond[0] - 1) / 4, gradientPair[0], 1e-16);
        Assert.Equal(SoftmaxOfSecond[3] / 4, gradientPair[3], 1e-16);
        Assert.Equal((0.25 - 1) / 4, gradientPair[7], 1e-16);

        var forwardOnly = new double[2];
        SoftmaxCrossEntropy.Forward<double>(isa, second, [0, 3], 2, 4, forwardOnly);
        Assert.Equal(lossPair, forwardOnly);
        Assert.Equal((LossOfSecondLabel0 - Math.Log(0.25 + 1e-7)) / 2, SoftmaxCrossEntropy.Mean<double>(forwardOnly), 1e-15);
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Softmax_cross_entropy_matches_reference_in_float(IsaPath isa)
    {
        foreach (int cols in (int[])[1, 2, 3, 7, 10, 16, 17, 33, 64, 100])
        {
            const int rows = 13;
            float[] logits = Reference.Random<float>(rows * cols, (ulong)cols, -8, 8);
            byte[] labels = [.. Enumerable.Range(0, rows).Select(i => (byte)(i * 7 % cols))];
            var losses = new float[rows];
            var gradient = new float[rows * cols];
            SoftmaxCrossEntropy.ForwardBackward<float>(isa, logits, labels, rows, cols, 100, losses, gradient);
            var lossesOnly = new float[rows];
            SoftmaxCrossEntropy.Forward<float>(isa, logits, labels, rows, cols, lossesOnly);
            for (int r = 0; r < rows; r++)
            {
                double[] z = Reference.ToDouble<float>(logits.AsSpan(r * cols, cols));
                var expectedGradient = new double[cols];
                double expectedLoss = SoftmaxCrossEntropy.RowReference<double>(z, labels[r], 100, expectedGradient);
                // Loss: exp, sum and log in float, relative 2e-6 with an absolute floor for losses near 0.
                Assert.True(Math.Abs(losses[r] - expectedLoss) <= (2e-6 * expectedLoss) + 1e-6, $"loss {isa} cols={cols} row={r}: {losses[r]} vs {expectedLoss}");
                Assert.True(Math.Abs(lossesOnly[r] - expectedLoss) <= (2e-6 * expectedLoss) + 1e-6, $"loss-only {isa} cols={cols} row={r}");
                for (int j = 0; j < cols; j++)
                {
                    // Entries are (y - onehot) / 100 with y computed in float to a few ulps of 1, so y - 1 carries
                    // ~ulp(1) = 6e-8 of absolute error: 1e-6 relative plus 8 ulp(1) / 100 absolute.
                    double expected = expectedGradient[j];
                    Assert.True(Math.Abs(gradient[(r * cols) + j] - expected) <= (1e-6 * Math.Abs(expected)) + (8 * Reference.UnitRoundoff<float>() / 100),
                        $"gradient {isa} cols={cols} [{r},{j}]: {gradient[(r * cols) + j]} vs {expected}");
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Softmax_cross_entropy_in_double_in_place_and_within_its_rows(IsaPath isa)
    {
        foreach (int cols in (int[])[1, 2, 4, 7, 8, 9, 10, 16, 17, 40])
        {
            const int rows = 11;
            const int guard = 20;
            double[] logits = Reference.Random<double>(rows * cols, (ulong)cols + 77, -6, 6);
            byte[] labels = [.. Enumerable.Range(0, rows).Select(i => (byte)((i * 3) % cols))];
            var losses = new double[rows];
            var gradient = new double[(rows * cols) + guard];
            gradient.AsSpan(rows * cols).Fill(-99);
            SoftmaxCrossEntropy.ForwardBackward<double>(isa, logits, labels, rows, cols, 32, losses, gradient);
            Assert.All(gradient[(rows * cols)..], v => Assert.Equal(-99, v)); // nothing written past the rows

            double[] inPlace = (double[])logits.Clone();
            var inPlaceLosses = new double[rows];
            SoftmaxCrossEntropy.ForwardBackward<double>(isa, inPlace, labels, rows, cols, 32, inPlaceLosses, inPlace);
            Assert.Equal(gradient[..(rows * cols)], inPlace);
            Assert.Equal(losses, inPlaceLosses);

            for (int r = 0; r < rows; r++)
            {
                var expectedGradient = new double[cols];
                double expectedLoss = SoftmaxCrossEntropy.RowReference<double>(logits.AsSpan(r * cols, cols), labels[r], 32, expectedGradient);
                Assert.True(Math.Abs(losses[r] - expectedLoss) <= (1e-14 * expectedLoss) + 1e-15, $"loss {isa} cols={cols} row={r}");
                for (int j = 0; j < cols; j++)
                {
                    double expected = expectedGradient[j];
                    Assert.True(Math.Abs(gradient[(r * cols) + j] - expected) <= (1e-14 * Math.Abs(expected)) + (8 * Reference.UnitRoundoff<double>() / 32),
                        $"gradient {isa} cols={cols} [{r},{j}]");
                }
            }
        }
    }

    [Fact]
    public void Partial_vectors_touch_only_their_lanes()
    {
        double[] source = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
        foreach (int count in (int[])[1, 2, 3])
        {
            V128<double> fill = V128<double>.Create(-1);
            V128<double> loaded = Partial<double, V128<double>>.Load(ref source[8], 0, Math.Min(count, 2), fill);
            Assert.Equal(9, V128<double>.GetElement(loaded, 0));
            Assert.Equal(count >= 2 ? 10 : -1, V128<double>.GetElement(loaded, 1));

            var destination = new double[4];
            Partial<double, V256<double>>.Store(V256<double>.Create(7), ref destination[0], 1, count);
            Assert.Equal([0, .. Enumerable.Repeat(7.0, count), .. Enumerable.Repeat(0.0, 3 - count)], destination);

            var viaMask = new double[4];
            V256<double>.StoreFirst(V256<double>.Create(7), ref viaMask[0], 1, count);
            Assert.Equal(destination, viaMask);
        }
    }

    [Fact]
    public void Softmax_cross_entropy_rejects_a_label_outside_the_columns()
    {
        var losses = new float[1];
        Assert.Throws<ArgumentOutOfRangeException>(() => SoftmaxCrossEntropy.Forward<float>(IsaPath.Scalar, [1f, 2f], [2], 1, 2, losses));
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Column_sums_match_reference(IsaPath isa)
    {
        foreach ((int rows, int cols) in (ValueTuple<int, int>[])[(0, 5), (1, 1), (3, 7), (100, 50), (100, 10), (37, 33), (5, 129)])
        {
            float[] x = Reference.Random<float>(rows * cols, (ulong)(rows + cols));
            var sums = new float[cols];
            ColumnSums.Compute<float>(isa, x, rows, cols, sums);
            for (int j = 0; j < cols; j++)
            {
                double exact = 0, magnitude = 0;
                for (int i = 0; i < rows; i++)
                {
                    exact += x[(i * cols) + j];
                    magnitude += Math.Abs(x[(i * cols) + j]);
                }

                Assert.True(Math.Abs(sums[j] - exact) <= Reference.DotBound<float>(rows, magnitude), $"colsum {isa} {rows}x{cols} [{j}]");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Row_argmax_counts_matches_taking_the_first_maximum(IsaPath isa)
    {
        // Row 0: max at 2. Row 1: tie between 1 and 3, numpy's argmax takes 1. Row 2: all equal, index 0.
        float[] x = [0.1f, 0.2f, 0.9f, 0.3f, 0.5f, 0.7f, 0.1f, 0.7f, 1f, 1f, 1f, 1f];
        Assert.Equal(3, RowArgMax.CountMatches<float>(isa, x, [2, 1, 0], 3, 4));
        Assert.Equal(0, RowArgMax.CountMatches<float>(isa, x, [1, 3, 2], 3, 4));
        Assert.Equal(1, RowArgMax.Reference<float>(x.AsSpan(4, 4)));

        foreach (int cols in (int[])[1, 2, 3, 4, 5, 8, 9, 10, 16, 17, 31, 64])
        {
            const int rows = 50;
            double[] values = Reference.Random<double>(rows * cols, (ulong)cols);
            byte[] labels = [.. Enumerable.Range(0, rows).Select(r => (byte)RowArgMax.Reference<double>(values.AsSpan(r * cols, cols)))];
            labels[0] = (byte)((labels[0] + 1) % Math.Max(cols, 1));
            int expected = cols == 1 ? rows : rows - 1;
            Assert.Equal(expected, RowArgMax.CountMatches<double>(isa, values, labels, rows, cols));
            float[] singles = [.. values.Select(v => (float)v)];
            Assert.Equal(expected, RowArgMax.CountMatches<float>(isa, singles, labels, rows, cols));
        }
    }
}
