using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Running;
using Simd.Kernels;
using Simd.Training;

namespace Simd.Bench;

/// <summary>The parts of the book's ch. 7 convolution layer.</summary>
public enum ConvolutionPart
{
    /// <summary>im2col of the image and Y = W·col + b: [30x25]·[25x576].</summary>
    Forward,

    /// <summary>dW += dY·colᵀ and db (the first layer needs no dx).</summary>
    WeightGradient,

    /// <summary>im2col alone: the copy the product reads.</summary>
    Im2Col,

    /// <summary>2x2 max pooling of the 30x24x24 output, forward.</summary>
    PoolForward,

    /// <summary>Its backward scatter.</summary>
    PoolBackward,

    /// <summary>Convolution, ReLU and pooling fused in pooling-window order (<see cref="PooledConvolution"/>): the forward pass.</summary>
    FusedForward,

    /// <summary>Its backward pass for a first layer: the window's gradient, dW and db.</summary>
    FusedWeightGradient,
}

/// <summary>
/// SimpleConvNet's convolution (1x28x28 in, 30 filters 5x5, stride 1, pad 0) and pooling over a batch of 100
/// images, one image at a time, one thread, per ISA path: what im2col and the GEMMs reach at this shape.
/// </summary>
[Config(typeof(KernelConfig))]
public class ConvolutionBenchmarks : IFlopBenchmark
{
    private const int Batch = 100, Filters = 30;

    private static readonly ConvolutionGeometry Layer = new(1, 28, 28, 5, 5, 1, 0);
    private static readonly ConvolutionGeometry Pool = new(Filters, 24, 24, 2, 2, 2, 0);

    private float[] _x = [], _weights = [], _bias = [], _cols = [], _y = [], _dWeights = [], _dBias = [], _pooled = [], _dx = [];
    private int[] _argmax = [];
    private float[] _phases = [], _fusedPooled = [], _fusedArgmax = [], _dz = [];
    private PooledColumns _columnMap = null!;

    [ParamsAllValues]
    public ConvolutionPart Part { get; set; }

    [ParamsSource(nameof(Paths))]
    public IsaPath Isa { get; set; }

    public static IEnumerable<IsaPath> Paths => Kernels.Isa.Supported;

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Rng(5);
        float Next() => (float)(rng.NextDouble() - 0.5);
        _x = [.. Enumerable.Range(0, Batch * Layer.InputLength).Select(_ => Next())];
        _weights = [.. Enumerable.Range(0, Filters * Layer.WindowLength).Select(_ => Next())];
        _bias = new float[Filters];
        _cols = new float[Batch * Layer.WindowLength * Layer.Positions];
        _y = [.. Enumerable.Range(0, Batch * Filters * Layer.Positions).Select(_ => Next())];
        _dWeights = new float[_weights.Length];
        _dBias = new float[Filters];
        _pooled = new float[Batch * Filters * Pool.Positions];
        _argmax = new int[_pooled.Length];
        _dx = new float[_y.Length];
        int pooledColumns = 4 * Pool.Positions;
        _columnMap = new PooledColumns(Layer, 2, 2);
        _phases = new float[Batch * _columnMap.Length];
        _dz = new float[Filters * pooledColumns];
        _fusedPooled = new float[Batch * Filters * Pool.Positions];
        _fusedArgmax = new float[_fusedPooled.Length];
        for (int i = 0; i < Batch; i++)
        {
            PooledConvolution.Forward<float>(Isa, _x.AsSpan(i * Layer.InputLength, Layer.InputLength), _weights, _bias, _columnMap,
                _phases.AsSpan(i * _columnMap.Length, _columnMap.Length), _fusedPooled.AsSpan(i * Filters * Pool.Positions), _fusedArgmax.AsSpan(i * Filters * Pool.Positions));
        }

        // The columns and arg maxima the backward parts read.
        int cols = Layer.WindowLength * Layer.Positions, outputs = Filters * Layer.Positions;
        for (int i = 0; i < Batch; i++)
        {
            Im2Col.Forward<float>(Isa, _x.AsSpan(i * Layer.InputLength, Layer.InputLength), Layer, _cols.AsSpan(i * cols, cols));
            MaxPooling.Forward<float>(_y.AsSpan(i * outputs, outputs), Pool, _pooled.AsSpan(i * Filters * Pool.Positions), _argmax.AsSpan(i * Filters * Pool.Positions));
        }
    }

    [Benchmark]
    public void Convolution()
    {
        int cols = Layer.WindowLength * Layer.Positions, outputs = Filters * Layer.Positions;
        for (int i = 0; i < Batch; i++)
        {
            Span<float> col = _cols.AsSpan(i * cols, cols);
            switch (Part)
            {
                case ConvolutionPart.Forward:
                    Kernels.Convolution.Forward<float>(Isa, _x.AsSpan(i * Layer.InputLength, Layer.InputLength), _weights, _bias, Layer, col, _y.AsSpan(i * outputs, outputs));
                    break;
                case ConvolutionPart.WeightGradient:
                    Kernels.Convolution.Backward<float>(Isa, _y.AsSpan(i * outputs, outputs), col, _weights, Layer, _dWeights, _dBias, [], [], accumulate: i > 0);
                    break;
                case ConvolutionPart.Im2Col:
                    Im2Col.Forward<float>(Isa, _x.AsSpan(i * Layer.InputLength, Layer.InputLength), Layer, col);
                    break;
                case ConvolutionPart.PoolForward:
                    MaxPooling.Forward<float>(_y.AsSpan(i * outputs, outputs), Pool, _pooled.AsSpan(i * Filters * Pool.Positions), _argmax.AsSpan(i * Filters * Pool.Positions));
                    break;
                case ConvolutionPart.FusedForward:
                    PooledConvolution.Forward<float>(Isa, _x.AsSpan(i * Layer.InputLength, Layer.InputLength), _weights, _bias, _columnMap,
                        _phases.AsSpan(i * _columnMap.Length, _columnMap.Length), _fusedPooled.AsSpan(i * Filters * Pool.Positions), _fusedArgmax.AsSpan(i * Filters * Pool.Positions));
                    break;
                case ConvolutionPart.FusedWeightGradient:
                    PooledConvolution.Backward<float>(Isa, _fusedPooled.AsSpan(i * Filters * Pool.Positions, Filters * Pool.Positions), _fusedPooled.AsSpan(i * Filters * Pool.Positions, Filters * Pool.Positions),
                        _fusedArgmax.AsSpan(i * Filters * Pool.Positions, Filters * Pool.Positions), _phases.AsSpan(i * _columnMap.Length, _columnMap.Length),
                        _weights, _columnMap, _dz, _dWeights, _dBias, [], [], accumulate: i > 0);
                    break;
                default:
                    MaxPooling.Backward<float>(_pooled.AsSpan(i * Filters * Pool.Positions, Filters * Pool.Positions), _argmax.AsSpan(i * Filters * Pool.Positions), Pool, _dx.AsSpan(i * outputs, outputs));
                    break;
            }
        }
    }

    /// <summary>The products' flops (2·FN·K·P per image); the copies and pooling count none.</summary>
    public double FlopsFor(BenchmarkCase benchmarkCase) =>
        (ConvolutionPart)benchmarkCase.Parameters[nameof(Part)] is ConvolutionPart.Forward or ConvolutionPart.WeightGradient or ConvolutionPart.FusedForward or ConvolutionPart.FusedWeightGradient
            ? 2.0 * Batch * Filters * Layer.WindowLength * Layer.Positions
            : 0;

    public (IsaPath Isa, bool Double, int Cores) PathFor(BenchmarkCase benchmarkCase) => ((IsaPath)benchmarkCase.Parameters[nameof(Isa)], false, 1);
}
