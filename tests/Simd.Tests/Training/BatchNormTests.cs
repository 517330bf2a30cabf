using Simd.Kernels;
using Simd.Tests.Support;
using Simd.Training;
using Simd.Training.Models;

namespace Simd.Tests.Training;

/// <summary>The book's BatchNormalization: its backward pass against finite differences, the network's gradient check, the same bits for any thread count.</summary>
public class BatchNormTests
{
    /// <summary>
    /// The kernel's backward pass against central differences of L = Σ w·(γx̂ + β) through its forward pass,
    /// in double, for every input, γ and β: the book's formulas differentiate exactly that.
    /// </summary>
    [Fact]
    public void The_backward_pass_is_the_derivative_of_the_forward_pass()
    {
        const int Rows = 5, N = 3;
        double[] z = Reference.Random<double>(Rows * N, 3, -2, 2);
        double[] w = Reference.Random<double>(Rows * N, 4);
        double[] gamma = [1.5, 0.7, -0.4], beta = [0.1, -0.2, 0.3];
        double Loss(double[] input, double[] g, double[] b)
        {
            double[] y = [.. input];
            BatchNorm.ForwardTraining<double>(IsaPath.Scalar, y, Rows, N, 0, N, g, b, [], [], [], [], updateRunning: false);
            return y.Select((v, i) => v * w[i]).Sum();
        }

        double[] forward = [.. z], normalized = new double[Rows * N], std = new double[N];
        BatchNorm.ForwardTraining<double>(IsaPath.Scalar, forward, Rows, N, 0, N, gamma, beta, normalized, std, [], [], updateRunning: false);
        double[] dz = [.. w];
        double[] dgamma = new double[N], dbeta = new double[N];
        BatchNorm.Backward<double>(IsaPath.Scalar, dz, normalized, Rows, N, 0, N, gamma, std, dgamma, dbeta);
        const double H = 1e-5;
        for (int i = 0; i < z.Length; i++)
        {
            double[] plus = [.. z], minus = [.. z];
            plus[i] += H;
            minus[i] -= H;
            Assert.Equal((Loss(plus, gamma, beta) - Loss(minus, gamma, beta)) / (2 * H), dz[i], 1e-7);
        }

        for (int j = 0; j < N; j++)
        {
            double[] gp = [.. gamma], gm = [.. gamma], bp = [.. beta], bm = [.. beta];
            gp[j] += H;
            gm[j] -= H;
            bp[j] += H;
            bm[j] -= H;
            Assert.Equal((Loss(z, gp, beta) - Loss(z, gm, beta)) / (2 * H), dgamma[j], 1e-7);
            Assert.Equal((Loss(z, gamma, bp) - Loss(z, gamma, bm)) / (2 * H), dbeta[j], 1e-7);
        }
    }

    public static TheoryData<IsaPath> Paths => Reference.Paths();

    /// <summary>Every path gives the scalar reference's bits, forward and backward, for widths with vector tails.</summary>
    [Theory]
    [MemberData(nameof(Paths))]
    public void Every_path_gives_the_scalar_references_bits(IsaPath isa)
    {
        foreach (int n in (int[])[1, 7, 16, 19, 100])
        {
            Check<float>(isa, 13, n);
            Check<double>(isa, 13, n);
        }

        static void Check<T>(IsaPath isa, int rows, int n)
            where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
        {
            T[] z = Reference.Random<T>(rows * n, 5, -3, 3), gamma = Reference.Random<T>(n, 6), beta = Reference.Random<T>(n, 7), dy = Reference.Random<T>(rows * n, 8);
            (T[] Z, T[] Xn, T[] Std, T[] Mean, T[] Var, T[] Dy, T[] Dg, T[] Db) Run(IsaPath path)
            {
                T[] zz = [.. z], xn = new T[rows * n], std = new T[n], mean = new T[n], variance = new T[n], d = [.. dy], dg = new T[n], db = new T[n];
                mean.AsSpan().Fill(T.CreateTruncating(0.5));
                BatchNorm.ForwardTraining<T>(path, zz, rows, n, 0, n, gamma, beta, xn, std, mean, variance, updateRunning: true);
                BatchNorm.Backward<T>(path, d, xn, rows, n, 0, n, gamma, std, dg, db);
                return (zz, xn, std, mean, variance, d, dg, db);
            }

            var expected = Run(IsaPath.Scalar);
            var actual = Run(isa);
            Assert.Equal(expected.Z, actual.Z);
            Assert.Equal(expected.Xn, actual.Xn);
            Assert.Equal(expected.Std, actual.Std);
            Assert.Equal(expected.Mean, actual.Mean);
            Assert.Equal(expected.Var, actual.Var);
            Assert.Equal(expected.Dy, actual.Dy);
            Assert.Equal(expected.Dg, actual.Dg);
            Assert.Equal(expected.Db, actual.Db);
        }
    }

    /// <summary>
    /// Sigmoid (smooth) through batch normalization on 20 images, double: backprop against the numerical
    /// gradient at 2e-6 (the book's δ in log(y + δ) alone accounts for ~1e-6). Few images make the batch
    /// statistics strongly curved: on 3 images the central difference's own error reaches 3e-6 for W1.
    /// </summary>
    [Theory]
    [InlineData(0.0)]
    [InlineData(0.2)]
    public void Backprop_matches_the_numerical_gradient_with_batch_norm(double dropout)
    {
        var shape = new NetworkShape(784, [100, 100], 10, batchNorm: true);
        (MultiLayerNet<double> network, double[] x, byte[] t) = Prepared(shape, Activation.Sigmoid, WeightInit.Xavier, images: 20, dropout);
        using (network)
        {
            var backprop = new double[shape.ParameterCount];
            var numerical = new double[shape.ParameterCount];
            double loss = network.Gradient(x, t, 20, backprop);
            network.NumericalGradient(x, t, 20, numerical);
            Assert.Equal(network.Loss(x, t, 20, training: true), loss, 1e-12);
            var rows = GradientComparison.Compare<double>(shape, backprop, numerical);
            Assert.Equal(["W1", "b1", "gamma1", "beta1", "W2", "b2", "gamma2", "beta2", "W3", "b3"], rows.Select(r => r.Tensor.Name));
            foreach (TensorComparison row in rows)
            {
                // b1 and b2 feed batch normalization, which removes any constant: their gradients are 0 up to rounding.
                double limit = row.Tensor.Name is "b1" or "b2" ? 1e-9 : double.PositiveInfinity;
                Assert.True(row.MaxAbsoluteDifference < limit, $"{row.Tensor.Name}: {row.MaxAbsoluteDifference:E2}");
                Assert.True(limit < 1 || row.RelativeError <= 2e-6, $"{row.Tensor.Name}: relative error {row.RelativeError:E2}");
            }
        }
    }

    /// <summary>
    /// The book's batch_norm_gradient_check.py setting: 784-100-100-10, ReLU, He, a few images; like the book,
    /// the mean absolute difference per tensor (ReLU's kink, crossed by h = 1e-4 near the normalized zero,
    /// leaves a few elements far off, so no relative bound holds for every element).
    /// </summary>
    [Fact]
    public void The_books_batch_norm_gradient_check_has_small_mean_differences()
    {
        var shape = new NetworkShape(784, [100, 100], 10, batchNorm: true);
        (MultiLayerNet<double> network, double[] x, byte[] t) = Prepared(shape, Activation.Relu, WeightInit.He, images: 3, dropout: 0);
        using (network)
        {
            var backprop = new double[shape.ParameterCount];
            var numerical = new double[shape.ParameterCount];
            network.Gradient(x, t, 3, backprop);
            network.NumericalGradient(x, t, 3, numerical);
            foreach (TensorComparison row in GradientComparison.Compare<double>(shape, backprop, numerical))
            {
                Assert.True(row.MeanAbsoluteDifference < 1e-6, $"{row.Tensor.Name}: mean |diff| {row.MeanAbsoluteDifference:E2}");
            }
        }
    }

    /// <summary>A network with γ and β not all 1 and 0, so that their gradients reach every term; and the first images.</summary>
    private static (MultiLayerNet<double>, double[], byte[]) Prepared(NetworkShape shape, Activation activation, WeightInit init, int images, double dropout)
    {
        var network = new MultiLayerNet<double>(shape, activation, Isa.Best, seed: 42, maxBatch: images, threads: 2, init, weightDecay: 0.1, dropout: dropout);
        for (int l = 0; l < 2; l++)
        {
            var rng = new Random(l);
            foreach (ref double g in network.Gamma(l))
            {
                g = 0.5 + rng.NextDouble();
            }

            foreach (ref double b in network.Beta(l))
            {
                b = rng.NextDouble() - 0.5;
            }
        }

        (double[] x, byte[] t) = MnistFixture.TrainDouble.Take([.. Enumerable.Range(0, images)]);
        return (network, x, t);
    }

    /// <summary>The running statistics follow the book's momentum 0.9 from 0: after one step, 0.1 of the batch's.</summary>
    [Fact]
    public void The_running_statistics_start_at_a_tenth_of_the_first_batch()
    {
        var options = new TrainingOptions { Threads = 2, BatchSize = 20, HiddenSizes = [8], BatchNorm = true, Iterations = 2 };
        using var trainer = new Trainer<double>(options, MnistFixture.Subset<double>(100), MnistFixture.Subset<double>(10), IsaPath.Scalar);
        MultiLayerNet<double> network = trainer.Network;
        double[] w = network.Weights(0).Flat().ToArray(), b = network.Bias(0).ToArray();
        trainer.Step();
        // The first batch's pre-normalization outputs, recomputed: Z = X·W1 + b1.
        Workspace<double> ws = network.Workspace;
        (double[] x, _) = MnistFixture.Subset<double>(100).Take(ws.BatchIndices[..20]);
        for (int j = 0; j < 8; j++)
        {
            double[] z = [.. Enumerable.Range(0, 20).Select(r => b[j] + Enumerable.Range(0, 784).Sum(k => x[(r * 784) + k] * w[(k * 8) + j]))];
            double mean = z.Average(), variance = z.Select(v => (v - mean) * (v - mean)).Average();
            Assert.Equal(0.1 * mean, ws.RunningMean(0)[j], 1e-9);
            Assert.Equal(0.1 * variance, ws.RunningVariance(0)[j], 1e-9);
        }
    }

    /// <summary>A model file keeps γ, β (as the book's gamma1, beta1) and the running statistics; a checkpoint resumes bitwise.</summary>
    [Fact]
    public void Model_files_and_checkpoints_keep_gamma_beta_and_the_running_statistics()
    {
        using var dir = new TempDirectory();
        var options = new TrainingOptions { Iterations = 30, BatchSize = 10, HiddenSizes = [20, 12], BatchNorm = true, Activation = Activation.Relu, Init = WeightInit.He };
        Dataset<float> train = MnistFixture.Subset<float>(200), test = MnistFixture.Subset<float>(50);
        using var whole = new Trainer<float>(options, train, test, Isa.Best);
        whole.Run();
        ModelFile.Save(dir.File("m.npz"), whole.Network);
        Model model = ModelFile.Read(dir.File("m.npz"));
        Assert.True(model.Shape.BatchNorm);
        Assert.Equal(["W1", "b1", "gamma1", "beta1", "W2", "b2", "gamma2", "beta2", "W3", "b3"], model.Parameters.Select(p => p.Name));
        using (var loaded = new MultiLayerNet<float>(model.Shape, Activation.Relu, Isa.Best, seed: 0, maxBatch: 1))
        {
            model.CopyParametersTo<float>(loaded.Parameters);
            model.CopyRunningStatisticsTo(loaded);
            Assert.True(whole.Network.Workspace.RunningVariance(1).SequenceEqual(loaded.Workspace.RunningVariance(1)));
            Assert.Equal(whole.Network.CountCorrect(test), loaded.CountCorrect(test)); // inference with the running statistics
        }

        using (var first = new Trainer<float>(options with { Iterations = 17 }, train, test, Isa.Best))
        {
            first.Run();
            first.SaveCheckpoint(dir.File("c.npz"));
        }

        using var resumed = new Trainer<float>(options, train, test, Isa.Best);
        resumed.Restore(CheckpointFile.Read(dir.File("c.npz")));
        resumed.Run();
        Assert.True(whole.Network.Parameters.SequenceEqual(resumed.Network.Parameters), "the resumed run with batch norm differs");
        Assert.True(whole.Network.Workspace.RunningMean(0).SequenceEqual(resumed.Network.Workspace.RunningMean(0)), "its running mean differs");
    }
}
