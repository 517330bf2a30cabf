using System.Numerics;
using Simd.Kernels;
using Simd.Tests.Support;

namespace Simd.Tests.Kernels;

/// <summary>
/// im2col/col2im, the convolution by im2col and the GEMMs, and max pooling: every ISA path against the scalar or
/// direct references, at sizes that do not divide: channels 1/3/30, windows 1/3/5/7, stride 1/2, pad 0/1/2, odd
/// inputs, batches of 1 and 7. Copies and col2im are bitwise the reference; products are held to the GEMM's
/// rounding bound (<see cref="Reference.DotBound{T}"/>) against the direct definition computed in double.
/// </summary>
public class ConvolutionTests
{
    public static TheoryData<IsaPath> Paths => Reference.Paths();

    /// <summary>(C, H, W, FH, FW, stride, pad): the book's ch. 7 layer, ch. 8's 3x3 pad 1, and odd ones.</summary>
    public static readonly (int C, int H, int W, int FH, int FW, int S, int P)[] Geometries =
    [
        (1, 28, 28, 5, 5, 1, 0), (1, 11, 13, 3, 3, 1, 1), (3, 9, 7, 3, 3, 2, 1), (30, 6, 5, 5, 5, 1, 2), (3, 7, 7, 7, 7, 1, 0),
        (1, 1, 1, 1, 1, 1, 0), (2, 5, 8, 1, 1, 2, 0), (3, 10, 9, 5, 3, 2, 2), (1, 4, 4, 7, 7, 1, 2), (30, 3, 4, 3, 3, 1, 1),
        (1, 13, 6, 2, 5, 3, 1), (16, 14, 14, 3, 3, 1, 1),
        (4, 5, 3, 1, 1, 1, 0), (8, 6, 7, 3, 2, 1, 1), // channels a multiple of some paths' lanes: dW read in place (more filters than window columns, first)
        (8, 5, 11, 3, 3, 1, 1), (24, 4, 8, 2, 3, 1, 0), // channels-last by 8x8 blocks: rows of 11 (the last block overlapping) and of 8
    ];

    public static TheoryData<IsaPath, int> PathsAndGeometries()
    {
        var data = new TheoryData<IsaPath, int>();
        foreach (IsaPath path in Isa.Supported)
        {
            for (int g = 0; g < Geometries.Length; g++)
            {
                data.Add(path, g);
            }
        }

        return data;
    }

    private static ConvolutionGeometry Geometry(int index)
    {
        var (c, h, w, fh, fw, s, p) = Geometries[index];
        return new ConvolutionGeometry(c, h, w, fh, fw, s, p);
    }

    [Theory]
    [MemberData(nameof(PathsAndGeometries))]
    public void Im2col_and_col2im_are_bitwise_their_references(IsaPath path, int index)
    {
        ConvolutionGeometry g = Geometry(index);
        float[] x = Reference.Random<float>(g.InputLength, (ulong)index + 1);
        int colLength = g.WindowLength * g.Positions;
        float[] col = new float[colLength + 1], expected = new float[colLength + 1];
        col[^1] = expected[^1] = 42; // a guard after the matrix
        Im2Col.Forward<float>(path, x, g, col);
        Im2Col.Reference<float>(x, g, expected);
        Assert.Equal(expected, col);

        float[] dcol = Reference.Random<float>(colLength, (ulong)index + 100);
        float[] dx = Reference.Random<float>(g.InputLength + 1, 7), dxExpected = [.. dx];
        Im2Col.Backward<float>(path, dcol, g, dx, accumulate: true);
        Im2Col.BackwardReference<float>(dcol, g, dxExpected, accumulate: true);
        Assert.Equal(dxExpected, dx);
        Im2Col.Backward<float>(path, dcol, g, dx);
        Im2Col.BackwardReference<float>(dcol, g, dxExpected);
        Assert.Equal(dxExpected, dx);
    }

    [Theory]
    [MemberData(nameof(PathsAndGeometries))]
    public void Convolution_of_a_batch_matches_the_direct_definition_float(IsaPath path, int index) => ConvolutionMatches<float>(path, index);

    [Theory]
    [MemberData(nameof(Paths))]
    public void Convolution_of_a_batch_matches_the_direct_definition_double(IsaPath path)
    {
        for (int index = 0; index < Geometries.Length; index++)
        {
            ConvolutionMatches<double>(path, index);
        }
    }

    /// <summary>
    /// The direct convolution (stride 1, pad below the window: every such geometry above, and ch. 8's layers) on the vector
    /// paths, held to the same bounds as the column matrix's; a guard after its scratch stays untouched.
    /// </summary>
    [Theory]
    [MemberData(nameof(PathsAndGeometries))]
    public void Direct_convolution_matches_the_direct_definition_float(IsaPath path, int index)
    {
        if (path == IsaPath.Scalar || !DirectConvolution.Applies(Geometry(index)))
        {
            Assert.Throws<ArgumentException>(() => ConvolutionMatches<float>(path, Geometry(index), index, direct: true));
            return;
        }

        ConvolutionMatches<float>(path, Geometry(index), index, direct: true);
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Direct_convolution_matches_the_direct_definition_double_on_ch8s_layers(IsaPath path)
    {
        if (path == IsaPath.Scalar)
        {
            return; // the scalar path keeps the column matrix: the float theory checks it refuses
        }

        ConvolutionGeometry[] layers = [new(1, 28, 28, 3, 3, 1, 1), new(16, 28, 28, 3, 3, 1, 1), new(32, 14, 14, 3, 3, 1, 2), new(64, 8, 8, 3, 3, 1, 1), new(5, 9, 11, 5, 3, 1, 2)];
        for (int i = 0; i < layers.Length; i++)
        {
            ConvolutionMatches<double>(path, layers[i], seed: 50 + i, direct: true);
        }
    }

    /// <summary>Forward and backward over a batch (1 image, then 7, weight gradients summed in image order), FN = 7.</summary>
    private static void ConvolutionMatches<T>(IsaPath path, int index)
        where T : unmanaged, IFloatingPointIeee754<T>
        => ConvolutionMatches<T>(path, Geometry(index), index, direct: false);

    /// <param name="seed">Picks the random inputs (the geometry's index in <see cref="Geometries"/>).</param>
    /// <param name="direct">Run <see cref="DirectConvolution"/> instead of the column matrix's <see cref="Convolution"/>.</param>
    private static void ConvolutionMatches<T>(IsaPath path, ConvolutionGeometry g, int seed, bool direct)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        const int Filters = 7;
        int index = seed;
        var directConvolution = direct ? new DirectConvolution(g) : null;
        const double Guard = 42;
        T[] scratch = direct ? new T[directConvolution!.ScratchLength(Filters) + 1] : [];
        if (direct)
        {
            scratch[^1] = T.CreateTruncating(Guard);
        }

        T[] weights = Reference.Random<T>(Filters * g.WindowLength, 3), bias = Reference.Random<T>(Filters, 4);
        double[] w64 = Reference.ToDouble<T>(weights), b64 = Reference.ToDouble<T>(bias);
        foreach (int batch in (int[])[1, 7])
        {
            T[] x = Reference.Random<T>(batch * g.InputLength, (ulong)(10 + index)), dy = Reference.Random<T>(batch * Filters * g.Positions, (ulong)(20 + index));
            var col = new T[g.WindowLength * g.Positions];
            var dcol = new T[col.Length];
            var y = new T[dy.Length];
            var dx = new T[x.Length];
            var dW = new T[weights.Length];
            var db = new T[Filters];
            double[] dWExpected = new double[weights.Length], dbExpected = new double[Filters];
            for (int image = 0; image < batch; image++)
            {
                ReadOnlySpan<T> xi = x.AsSpan(image * g.InputLength, g.InputLength);
                ReadOnlySpan<T> dyi = dy.AsSpan(image * Filters * g.Positions, Filters * g.Positions);
                Span<T> yi = y.AsSpan(image * Filters * g.Positions, Filters * g.Positions);
                if (directConvolution is null)
                {
                    Convolution.Forward(path, xi, weights, bias, g, col, yi);
                    Convolution.Backward(path, dyi, col, weights, g, dW, db, dcol, dx.AsSpan(image * g.InputLength, g.InputLength), accumulate: image > 0);
                }
                else
                {
                    directConvolution.Forward(path, xi, weights, bias, scratch.AsSpan(0, scratch.Length - 1), yi);
                    directConvolution.Backward(path, xi, dyi, weights, scratch.AsSpan(0, scratch.Length - 1), dW, db, dx.AsSpan(image * g.InputLength, g.InputLength), accumulate: image > 0);
                    Assert.Equal(Guard, double.CreateTruncating(scratch[^1]));
                }

                double[] x64 = Reference.ToDouble(xi), dy64 = Reference.ToDouble(dyi);
                var y64 = new double[yi.Length];
                Convolution.ForwardReference<double>(x64, w64, b64, g, y64);
                // Bound: each output is a dot product of K terms plus the bias.
                var absolute = new double[yi.Length];
                Convolution.ForwardReference<double>([.. x64.Select(Math.Abs)], [.. w64.Select(Math.Abs)], [.. b64.Select(Math.Abs)], g, absolute);
                for (int i = 0; i < yi.Length; i++)
                {
                    Assert.True(Math.Abs(double.CreateTruncating(yi[i]) - y64[i]) <= Reference.DotBound<T>(g.WindowLength + 1, absolute[i]),
                        $"{g} batch {batch} image {image}: y[{i}] = {yi[i]}, expected {y64[i]}");
                }

                double[] dWi = new double[weights.Length], dbi = new double[Filters], dxi = new double[g.InputLength];
                Convolution.BackwardReference<double>(x64, dy64, w64, g, dWi, dbi, dxi);
                for (int i = 0; i < dWi.Length; i++)
                {
                    dWExpected[i] += dWi[i];
                }

                for (int f = 0; f < Filters; f++)
                {
                    dbExpected[f] += dbi[f];
                }

                double dxScale = dy64.Sum(Math.Abs) * w64.Max(Math.Abs);
                for (int i = 0; i < dxi.Length; i++)
                {
                    Assert.True(Math.Abs(double.CreateTruncating(dx[(image * g.InputLength) + i]) - dxi[i]) <= Reference.DotBound<T>(Filters * g.WindowLength, dxScale),
                        $"{g}: dx[{i}] = {dx[(image * g.InputLength) + i]}, expected {dxi[i]}");
                }
            }

            double dWScale = x.Sum(v => Math.Abs(double.CreateTruncating(v))) * dy.Max(v => Math.Abs(double.CreateTruncating(v)));
            for (int i = 0; i < dW.Length; i++)
            {
                // The direct convolution's dW is tap-major [FN, FH·FW, C]: element i is the book's element BookIndexOfTapMajor(i).
                double expected = dWExpected[direct ? DirectConvolution.BookIndexOfTapMajor(i, g.Channels, g.WindowHeight * g.WindowWidth) : i];
                Assert.True(Math.Abs(double.CreateTruncating(dW[i]) - expected) <= Reference.DotBound<T>(batch * g.Positions, dWScale),
                    $"{g} batch {batch}: dW[{i}] = {dW[i]}, expected {expected}");
            }

            for (int f = 0; f < Filters; f++)
            {
                Assert.True(Math.Abs(double.CreateTruncating(db[f]) - dbExpected[f]) <= Reference.DotBound<T>(batch * g.Positions, batch * g.Positions),
                    $"{g} batch {batch}: db[{f}] = {db[f]}, expected {dbExpected[f]}");
            }
        }
    }

    /// <summary>The 2x2 stride-2 windows' own loop keeps numpy's argmax: the first maximum, the first NaN over any number.</summary>
    [Fact]
    public void Max_pooling_2x2_picks_the_first_maximum_and_the_first_nan()
    {
        var g = new ConvolutionGeometry(1, 2, 10, 2, 2, 2, 0);
        float nan = float.NaN;
        // Five windows (columns 2w, 2w + 1 of both rows): a tie, a NaN beside larger numbers, a NaN below, two NaNs, the maximum last.
        float[] x = [1, 3, 9, nan, 1, 1, 5, nan, 0, -1,
                     3, 2, 1, 2, nan, 4, nan, 7, -2, 5];
        var y = new float[5];
        var argmax = new int[5];
        MaxPooling.Forward<float>(x, g, y, argmax);
        Assert.Equal([1, 3, 14, 7, 19], argmax);
        Assert.Equal(3f, y[0]);
        Assert.True(float.IsNaN(y[1]) && float.IsNaN(y[2]) && float.IsNaN(y[3]));
        Assert.Equal(5f, y[4]);
    }

    /// <summary>
    /// Rows of 2x2 windows long enough for the vector path (8 windows at a time), with NaNs, infinities and ties spread
    /// over them: the same values and indices as numpy's argmax rule (the first maximum, the first NaN) window by window.
    /// </summary>
    [Theory]
    [InlineData(2, 4, 16)]
    [InlineData(3, 6, 30)]
    [InlineData(1, 5, 41)]
    public void Max_pooling_2x2_rows_keep_numpys_choices_with_nans_and_ties(int channels, int height, int width)
    {
        var g = new ConvolutionGeometry(channels, height, width, 2, 2, 2, 0);
        float[] special = [float.NaN, float.PositiveInfinity, float.NegativeInfinity, 0f, -0f, 1f];
        var rng = new Random(9);
        float[] x = [.. Enumerable.Range(0, g.InputLength).Select(_ => rng.Next(4) == 0 ? special[rng.Next(special.Length)] : rng.Next(3) - 1f)];
        const int Guard = 16; // past the outputs: must stay as they are
        var y = new float[(channels * g.Positions) + Guard];
        var argmax = new int[y.Length];
        y.AsSpan(y.Length - Guard).Fill(-7f);
        argmax.AsSpan(y.Length - Guard).Fill(-7);
        MaxPooling.Forward<float>(x, g, y.AsSpan(0, y.Length - Guard), argmax.AsSpan(0, y.Length - Guard));
        Assert.All(y[^Guard..], v => Assert.Equal(-7f, v));
        Assert.All(argmax[^Guard..], v => Assert.Equal(-7, v));
        for (int c = 0, p = 0; c < channels; c++)
        {
            for (int oy = 0; oy < g.OutputHeight; oy++)
            {
                for (int ox = 0; ox < g.OutputWidth; ox++, p++)
                {
                    int corner = (((c * height) + (2 * oy)) * width) + (2 * ox);
                    int best = corner;
                    foreach (int at in new[] { corner + 1, corner + width, corner + width + 1 })
                    {
                        best = x[at] > x[best] || (float.IsNaN(x[at]) && !float.IsNaN(x[best])) ? at : best;
                    }

                    Assert.Equal(best, argmax[p]);
                    Assert.Equal(BitConverter.SingleToInt32Bits(x[best]), BitConverter.SingleToInt32Bits(y[p]));
                }
            }
        }
    }

    /// <summary>The book's own Pooling.forward: im2col of each channel, then max and argmax over each window's row.</summary>
    [Theory]
    [InlineData(1, 24, 24, 2, 2, 0)] // ch. 7: 30 of these after the convolution
    [InlineData(3, 28, 28, 2, 2, 0)] // ch. 8's three: rows of 14 (8 windows a vector, the last 8 overlapping), 8 and 4
    [InlineData(2, 16, 16, 2, 2, 0)]
    [InlineData(2, 8, 8, 2, 2, 0)]
    [InlineData(2, 7, 35, 2, 2, 0)]  // odd sizes: a last row and column no window covers; rows of 17
    [InlineData(1, 3, 18, 2, 2, 0)]  // rows of 9, one past a vector
    [InlineData(3, 7, 9, 2, 2, 0)]
    [InlineData(2, 8, 5, 3, 2, 1)]
    [InlineData(4, 6, 6, 3, 1, 2)]
    [InlineData(1, 5, 5, 5, 1, 0)]
    public void Max_pooling_is_the_books_im2col_max_and_scatters_back(int channels, int height, int width, int pool, int stride, int pad)
    {
        var g = new ConvolutionGeometry(channels, height, width, pool, pool, stride, pad);
        // Values from a few levels, so windows hold ties (the first maximum wins) and all-negative windows meet the padding's 0.
        float[] x = [.. Reference.Random<float>(g.InputLength, 5).Select(v => MathF.Round(v * 3) / 3 - 0.5f)];
        var y = new float[channels * g.Positions];
        var argmax = new int[y.Length];
        MaxPooling.Forward<float>(x, g, y, argmax);

        var single = new ConvolutionGeometry(1, height, width, pool, pool, stride, pad);
        var col = new float[pool * pool * g.Positions];
        for (int c = 0; c < channels; c++)
        {
            Im2Col.Reference<float>(x.AsSpan(c * height * width, height * width), single, col);
            for (int p = 0; p < g.Positions; p++)
            {
                int best = 0;
                for (int k = 1; k < pool * pool; k++)
                {
                    best = col[(k * g.Positions) + p] > col[(best * g.Positions) + p] ? k : best;
                }

                int oy = p / g.OutputWidth, ox = p % g.OutputWidth, iy = (oy * stride) + (best / pool) - pad, ix = (ox * stride) + (best % pool) - pad;
                bool inside = iy >= 0 && iy < height && ix >= 0 && ix < width;
                Assert.Equal(col[(best * g.Positions) + p], y[(c * g.Positions) + p]);
                Assert.Equal(inside ? (c * height * width) + (iy * width) + ix : MaxPooling.FromPadding, argmax[(c * g.Positions) + p]);
            }
        }

        float[] dy = Reference.Random<float>(y.Length, 6);
        var dx = new float[g.InputLength];
        MaxPooling.Backward<float>(dy, argmax, g, dx);
        var expected = new float[g.InputLength];
        for (int p = 0; p < dy.Length; p++)
        {
            if (argmax[p] >= 0)
            {
                expected[argmax[p]] += dy[p];
            }
        }

        Assert.Equal(expected, dx);
        Assert.Equal(g.InputLength - argmax.Where(a => a >= 0).Distinct().Count(), dx.Count(v => v == 0));
    }

    [Theory]
    [InlineData(1, 4, 4, 5, 5, 1, 0, "larger than the 4x4 padded input")]
    [InlineData(0, 4, 4, 3, 3, 1, 0, "every size must be at least 1")]
    [InlineData(1, 4, 4, 3, 3, 0, 0, "the window and stride must be at least 1")]
    public void Impossible_geometries_are_refused_with_the_reason(int c, int h, int w, int fh, int fw, int s, int p, string expected) =>
        Assert.Contains(expected, Assert.Throws<ArgumentException>(() => new ConvolutionGeometry(c, h, w, fh, fw, s, p)).Message, StringComparison.Ordinal);
}
