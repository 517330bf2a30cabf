using System.Numerics;
using Simd.Kernels;
using Simd.Tests.Support;

namespace Simd.Tests.Kernels;

/// <summary>
/// Convolution → ReLU → max pooling fused in pooling-window order, against the three layers one after another
/// (<see cref="Convolution"/>, <see cref="Relu"/>, <see cref="MaxPooling"/>): every ISA path, odd sizes (outputs a
/// pool does not divide), channels 1 and 3, pools 2 and 3, stride 1 and 2, pad 0 and 1, batches of 1 and 5. The
/// fused kernels' vector paths are bitwise their scalar references; the layers are compared within the GEMM's
/// rounding (they sum the same products in other tile positions).
/// </summary>
public class PooledConvolutionTests
{
    public static TheoryData<IsaPath> Paths => Reference.Paths();

    /// <summary>(C, H, W, F, stride, pad, pool).</summary>
    private static readonly (int C, int H, int W, int F, int S, int P, int Pool)[] Cases =
    [
        (1, 28, 28, 5, 1, 0, 2), (1, 13, 13, 3, 1, 0, 2), (3, 11, 9, 3, 2, 1, 2), (3, 16, 14, 3, 1, 1, 3), (1, 6, 7, 1, 1, 0, 2), (2, 9, 9, 2, 1, 0, 4),
    ];

    [Theory]
    [MemberData(nameof(Paths))]
    public void The_fused_layers_give_the_unfused_ones_results_double(IsaPath path)
    {
        foreach (var c in Cases)
        {
            Compare<double>(path, c, tolerance: 1e-12);
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void The_fused_layers_give_the_unfused_ones_results_float(IsaPath path)
    {
        foreach (var c in Cases)
        {
            Compare<float>(path, c, tolerance: 2e-5);
        }
    }

    private static void Compare<T>(IsaPath path, (int C, int H, int W, int F, int S, int P, int Pool) c, double tolerance)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        const int Filters = 6;
        var g = new ConvolutionGeometry(c.C, c.H, c.W, c.F, c.F, c.S, c.P);
        var pool = new ConvolutionGeometry(Filters, g.OutputHeight, g.OutputWidth, c.Pool, c.Pool, c.Pool, 0);
        int q = PooledConvolution.PooledPositions(g, c.Pool, c.Pool), columns = c.Pool * c.Pool * q;
        Assert.Equal(pool.Positions, q);
        T[] weights = Reference.Random<T>(Filters * g.WindowLength, 1), bias = Reference.Random<T>(Filters, 2, -0.2, 0.2);
        var dW = new T[weights.Length];
        var db = new T[Filters];
        var dWExpected = new T[weights.Length];
        var dbExpected = new T[Filters];
        for (int image = 0; image < 5; image++)
        {
            T[] x = Reference.Random<T>(g.InputLength, (ulong)(10 + image)), dpooled = Reference.Random<T>(Filters * q, (ulong)(20 + image));

            // The book's three layers.
            var col = new T[g.WindowLength * g.Positions];
            var y = new T[Filters * g.Positions];
            Convolution.Forward<T>(path, x, weights, bias, g, col, y);
            Relu.Forward<T>(path, y, y);
            var expected = new T[Filters * q];
            var at = new int[expected.Length];
            MaxPooling.Forward<T>(y, pool, expected, at);
            var dy = new T[y.Length];
            MaxPooling.Backward<T>(dpooled, at, pool, dy);
            Relu.Backward<T>(path, y, dy, dy);
            var dxExpected = new T[g.InputLength];
            Convolution.Backward<T>(path, dy, col, weights, g, dWExpected, dbExpected, new T[col.Length], dxExpected, accumulate: image > 0);

            // Fused.
            var map = new PooledColumns(g, c.Pool, c.Pool);
            var phases = new T[map.Length];
            var pooled = new T[Filters * q];
            var argmax = new T[Filters * q];
            PooledConvolution.Forward<T>(path, x, weights, bias, map, phases, pooled, argmax);
            var dx = new T[g.InputLength];
            PooledConvolution.Backward<T>(path, dpooled, pooled, argmax, phases, weights, map, new T[Filters * columns], dW, db, new T[g.WindowLength * columns], dx, accumulate: image > 0);

            string where = $"{path} {typeof(T).Name} {c} image {image}";
            AssertClose(expected, pooled, tolerance, where + " pooled");
            for (int i = 0; i < at.Length; i++)
            {
                int f = i / q, p = at[i] - (f * g.Positions), oy = p / g.OutputWidth, ox = p % g.OutputWidth;
                int block = ((oy % c.Pool) * c.Pool) + (ox % c.Pool);
                if (expected[i] > T.CreateTruncating(1e-3))
                {
                    Assert.True(T.CreateTruncating(block) == argmax[i], $"{where}: window {i}: block {argmax[i]}, the layers' {block}");
                }
            }

            AssertClose(dxExpected, dx, tolerance, where + " dx");
        }

        AssertClose(dWExpected, dW, tolerance, $"{path} {c} dW");
        AssertClose(dbExpected, db, tolerance, $"{path} {c} db");
    }

    private static void AssertClose<T>(T[] expected, T[] actual, double tolerance, string what)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        double scale = Math.Max(1, expected.Max(v => Math.Abs(double.CreateTruncating(v))));
        for (int i = 0; i < expected.Length; i++)
        {
            double difference = Math.Abs(double.CreateTruncating(expected[i]) - double.CreateTruncating(actual[i]));
            Assert.True(difference <= tolerance * scale, $"{what}[{i}]: {actual[i]}, expected {expected[i]}");
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Relu_max_backward_is_bitwise_its_reference(IsaPath path)
    {
        foreach (int q in (int[])[1, 3, 7, 8, 15, 16, 17, 33, 144])
        {
            foreach (int blocks in (int[])[1, 4, 9])
            {
                // A few levels, so blocks tie and many values are cut by ReLU.
                float[] z = [.. Reference.Random<float>(blocks * q, (ulong)(q + blocks)).Select(v => MathF.Round(v * 4) / 4)];
                float[] pooled = new float[q], argmax = new float[q];
                for (int i = 0; i < q; i++)
                {
                    for (int b = 0; b < blocks; b++)
                    {
                        float value = Math.Max(z[(b * q) + i], 0);
                        if (b == 0 || pooled[i] < value)
                        {
                            (pooled[i], argmax[i]) = (value, b);
                        }
                    }
                }

                float[] dpooled = Reference.Random<float>(q, 9), dz = new float[blocks * q], dzExpected = new float[blocks * q];
                PooledConvolution.ReluMaxBackward<float>(path, dpooled, pooled, argmax, blocks, dz);
                PooledConvolution.ReluMaxBackwardReference<float>(dpooled, pooled, argmax, blocks, dzExpected);
                Assert.Equal(dzExpected, dz);
            }
        }
    }

    /// <summary>
    /// The run-based gather (strided copies, two vectors' even lanes for stride 2; on the 512-bit path, rows of 17 to 32
    /// values loaded once for all their runs) gives the map's values exactly: the book's layer, channels 1-4, rows of
    /// 17, 24, 31 and 32 values, runs of 7 to 16, and the geometries that take the other paths (padding, stride 2,
    /// rows of 11 or 40).
    /// </summary>
    [Theory]
    [MemberData(nameof(Paths))]
    public void The_gather_by_runs_equals_the_gather_by_map(IsaPath path)
    {
        var random = new Random(5);
        foreach ((int channels, int size, int kernel, int stride, int pad, int pool) in new[]
        {
            (1, 28, 5, 1, 0, 2), (1, 28, 3, 1, 1, 2), (3, 13, 3, 1, 2, 2), (30, 12, 3, 1, 1, 2), (2, 9, 3, 2, 1, 2),
            (1, 28, 7, 1, 2, 3), (3, 11, 1, 1, 0, 2), (1, 40, 5, 1, 0, 2), (1, 5, 5, 1, 0, 1),
            (3, 17, 3, 1, 0, 2), (2, 31, 4, 1, 0, 2), (4, 24, 5, 1, 0, 2), (1, 32, 1, 1, 0, 2), (1, 32, 5, 1, 0, 2),
        })
        {
            var g = new ConvolutionGeometry(channels, size, size, kernel, kernel, stride, pad);
            var plan = new PooledColumns(g, pool, pool);
            float[] x = [.. Enumerable.Range(0, g.InputLength).Select(_ => (float)random.NextDouble())];
            var expected = new float[plan.Length];
            var actual = new float[plan.Length];
            actual.AsSpan().Fill(float.NaN);
            PooledConvolution.Im2Col<float>(x, plan.PhaseMap, expected);
            plan.Gather<float>(path, x, actual);
            Assert.True(expected.AsSpan().SequenceEqual(actual), $"{path} C{channels} {size}x{size} k{kernel} s{stride} p{pad} pool{pool}");
            var doubles = new double[plan.Length];
            plan.Gather<double>(path, [.. x.Select(v => (double)v)], doubles);
            Assert.Equal(expected.Select(v => (double)v), doubles);
        }
    }
}
