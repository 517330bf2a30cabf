using System.Numerics;
using System.Numerics.Tensors;
using BenchmarkDotNet.Attributes;
using Simd.Kernels;
using Simd.Training;

namespace Simd.Bench;

/// <summary>The elementwise and row kernels at the training step's sizes.</summary>
public enum ElementwiseOp
{
    /// <summary>Sigmoid of the hidden layer: 100 x 50 values.</summary>
    Sigmoid,

    /// <summary>Softmax + cross-entropy + its gradient on the logits: 100 rows of 10.</summary>
    SoftmaxCrossEntropy,

    /// <summary>The SGD update of all 39,760 parameters.</summary>
    SgdUpdate,

    /// <summary>A batch of 100 images, bytes to values in [0, 1]: 78,400 divisions by 255.</summary>
    NormalizeBatch,
}

/// <summary>
/// Each op on every ISA path of ours, against System.Numerics.Tensors' TensorPrimitives (which picks
/// its own widest path) — the implementation named "TensorPrimitives" — in float and double.
/// </summary>
[MemoryDiagnoser]
public class ElementwiseBenchmarks
{
    private const int Batch = 100;
    private const int Hidden = 50;
    private const int Classes = 10;
    private static readonly int Parameters = NetworkShape.Book.ParameterCount;

    private float[] _xs = [], _ys = [], _gs = [];
    private double[] _xd = [], _yd = [], _gd = [];
    private float[] _lossS = new float[Batch];
    private double[] _lossD = new double[Batch];
    private byte[] _labels = [];
    private byte[] _pixels = [];
    private IsaPath _isa;

    [ParamsAllValues]
    public ElementwiseOp Op { get; set; }

    [ParamsSource(nameof(Implementations))]
    public string Implementation { get; set; } = "";

    [ParamsAllValues]
    public Precision Precision { get; set; }

    /// <summary>Our paths by name, and TensorPrimitives.</summary>
    public static IEnumerable<string> Implementations => Isa.Supported.Select(Isa.Name).Append(TensorPrimitivesName);

    public const string TensorPrimitivesName = "TensorPrimitives";

    [GlobalSetup]
    public void Setup()
    {
        int length = Op switch
        {
            ElementwiseOp.Sigmoid => Batch * Hidden,
            ElementwiseOp.SoftmaxCrossEntropy => Batch * Classes,
            ElementwiseOp.NormalizeBatch => Batch * NetworkShape.Book.InputSize,
            _ => Parameters,
        };
        var rng = new Rng(5);
        _xs = [.. Enumerable.Range(0, length).Select(_ => (float)((rng.NextDouble() * 8) - 4))];
        _gs = [.. Enumerable.Range(0, length).Select(_ => (float)(rng.NextDouble() - 0.5))];
        _ys = new float[length];
        _xd = [.. _xs.Select(v => (double)v)];
        _gd = [.. _gs.Select(v => (double)v)];
        _yd = new double[length];
        _labels = [.. Enumerable.Range(0, Batch).Select(i => (byte)(i % Classes))];
        _pixels = [.. Enumerable.Range(0, length).Select(i => (byte)(i * 37))];
        if (Implementation != TensorPrimitivesName)
        {
            _isa = Isa.TryParse(Implementation, out IsaPath? parsed) && parsed is { } path
                ? path
                : throw new ArgumentException($"unknown implementation {Implementation}");
        }
    }

    [Benchmark]
    public void Run()
    {
        if (Precision == Precision.Single)
        {
            Run(_xs, _gs, _ys, _lossS);
        }
        else
        {
            Run(_xd, _gd, _yd, _lossD);
        }
    }

    private void Run<T>(T[] x, T[] g, T[] y, T[] losses)
        where T : unmanaged, IFloatingPointIeee754<T>, IExponentialFunctions<T>
    {
        if (Implementation == TensorPrimitivesName)
        {
            RunTensorPrimitives(x, g, y, losses);
            return;
        }

        IsaPath isa = _isa;
        switch (Op)
        {
            case ElementwiseOp.Sigmoid:
                Sigmoid.Forward<T>(isa, x, y);
                break;
            case ElementwiseOp.SoftmaxCrossEntropy:
                SoftmaxCrossEntropy.ForwardBackward<T>(isa, x, _labels, Batch, Classes, Batch, losses, y);
                break;
            case ElementwiseOp.NormalizeBatch:
                NormalizeBytes.Divide<T>(isa, _pixels, Dataset<T>.PixelScale, y);
                break;
            default:
                x.CopyTo(y, 0); // keep the parameters from drifting run after run; TensorPrimitives pays the same copy
                SgdUpdate.Apply<T>(isa, g, T.CreateTruncating(0.1), y);
                break;
        }
    }

    /// <summary>The same work with TensorPrimitives: Sigmoid; SoftMax per row then the loss and (y - t) / B; MultiplyAdd(g, -lr, p).</summary>
    private void RunTensorPrimitives<T>(T[] x, T[] g, T[] y, T[] losses)
        where T : unmanaged, IFloatingPointIeee754<T>, IExponentialFunctions<T>
    {
        switch (Op)
        {
            case ElementwiseOp.Sigmoid:
                TensorPrimitives.Sigmoid<T>(x, y);
                break;
            case ElementwiseOp.SoftmaxCrossEntropy:
                T batch = T.CreateTruncating(Batch);
                T delta = T.CreateTruncating(SoftmaxCrossEntropy.Delta);
                for (int r = 0; r < Batch; r++)
                {
                    Span<T> row = y.AsSpan(r * Classes, Classes);
                    TensorPrimitives.SoftMax<T>(x.AsSpan(r * Classes, Classes), row);
                    int label = _labels[r];
                    losses[r] = -T.Log(row[label] + delta);
                    row[label] -= T.One;
                    TensorPrimitives.Divide<T>(row, batch, row);
                }

                break;
            case ElementwiseOp.NormalizeBatch:
                // Widened and divided in T (numpy's /255 in float64 for a double run: not the book's float32 bits).
                TensorPrimitives.ConvertTruncating<byte, T>(_pixels, y);
                TensorPrimitives.Divide<T>(y, T.CreateTruncating(Dataset<T>.PixelScale), y);
                break;
            default:
                // In place, as ours: y += g·(-lr) — the product rounded, then the sum, as SgdUpdate does.
                TensorPrimitives.MultiplyAdd<T>(g, -T.CreateTruncating(0.1), y, y);
                break;
        }
    }
}
