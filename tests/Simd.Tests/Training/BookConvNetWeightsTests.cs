using Simd.Kernels;
using Simd.Tests.Support;
using Simd.Training;
using Simd.Training.Models;

namespace Simd.Tests.Training;

/// <summary>
/// The convolution kernels end to end on the book's own trained weights: SimpleConvNet's forward pass (ch07/
/// simple_convnet.py: Convolution 30x5x5 → ReLU → 2x2 max pooling → Affine 4320→100 → ReLU → Affine 100→10), from
/// ch07/params.pkl, over the 10,000 test images, in double as the book's numpy computes it.
/// </summary>
public class BookConvNetWeightsTests
{
    [BookFileFact("ch07/params.pkl")]
    public void The_books_ch7_weights_reach_the_accuracy_its_numpy_code_measures()
    {
        Dictionary<string, double[]> p = BookPickle.Read(BookPickleTests.BookFile("ch07/params.pkl")).ToDictionary(a => a.Name, a => a.ToFloating<double>());
        var conv = new ConvolutionGeometry(1, 28, 28, 5, 5, 1, 0);
        const int Filters = 30, Hidden = 100, Classes = 10, Batch = 100;
        int q = PooledConvolution.PooledPositions(conv, 2, 2), flat = Filters * q; // 4320, the book's NCHW flatten
        Dataset<double> test = MnistFixture.TestDouble;
        var map = new PooledColumns(conv, 2, 2);
        var phases = new double[map.Length];
        var argmax = new double[flat];
        var pooled = new double[Batch * flat];
        var hidden = new double[Batch * Hidden];
        var scores = new double[Batch * Classes];
        var images = new double[Batch * test.Features];
        int correct = 0;
        for (int start = 0; start < test.Count; start += Batch)
        {
            test.CopyImages(Isa.Best, start, Batch, images);
            for (int i = 0; i < Batch; i++)
            {
                PooledConvolution.Forward<double>(Isa.Best, images.AsSpan(i * test.Features, test.Features), p["W1"], p["b1"], map, phases, pooled.AsSpan(i * flat, flat), argmax);
            }

            GemmNN.Multiply<double>(Isa.Best, pooled, p["W2"], p["b2"], Batch, flat, Hidden, hidden);
            Relu.Forward<double>(Isa.Best, hidden, hidden);
            GemmNN.Multiply<double>(Isa.Best, hidden, p["W3"], p["b3"], Batch, Hidden, Classes, scores);
            correct += RowArgMax.CountMatches<double>(Isa.Best, scores, test.Labels.Slice(start, Batch), Batch, Classes);
        }

        // SOURCE: the book's numpy code gives 0.9600 with these weights (they are not the ones the book's text describes).
        Assert.Equal(9600, correct);
    }
}
