using System.Diagnostics;
using System.Globalization;
using Simd.Kernels;
using Simd.Training;
using Simd.Training.Layers;

namespace Simd.Bench;

/// <summary>
/// `--conv-layers [network] [rounds]`: each convolution layer of a named network, one image at a time on one thread,
/// by im2col and the GEMMs (<see cref="Convolution"/>) and by <see cref="DirectConvolution"/>, in turn with the
/// one-core FMA peak, round after round: the per-shape table that decides which a layer uses. Forward is y = conv(x)
/// + b; backward is dW, db and dx. Random inputs, float32, the widest ISA path (or <c>SIMD_ISA</c>). Prints each
/// layer's medians of the rounds: milliseconds a batch of <see cref="Images"/> images and % of the peak.
/// </summary>
internal static class ConvolutionLayersMode
{
    public const string Option = "--conv-layers";
    private const int Images = 100;

    /// <summary>Runs it; returns the process exit code (64 for arguments it cannot take, with one line saying why).</summary>
    public static int Run(string[] args)
    {
        string network = args.Length > 0 ? args[0] : "deep-convnet";
        int rounds = 5;
        if (args.Length > 2 || (args.Length > 1 && (!int.TryParse(args[1], NumberStyles.None, CultureInfo.InvariantCulture, out rounds) || rounds < 1 || rounds > 1000))
            || LayerStack.Named(network) is not { } stack)
        {
            Console.Error.WriteLine($"usage: {Option} [NETWORK [ROUNDS]]: a network --net names (simple-convnet, deep-convnet), 1-1000 rounds (got '{string.Join(' ', args)}')");
            return 64;
        }

        IsaPath isa = BenchIsa.Chosen;
        Console.WriteLine($"{network}: each convolution layer, {Images} images one at a time, 1 thread, {Isa.Name(isa)}, float32, medians of {rounds} rounds");
        Console.WriteLine("layer  C x H x W -> FN, window/pad   MFLOP/img |  forward ms: im2col  direct  (% of peak)    | backward ms: im2col  direct  (% of peak)");
        for (int i = 0; i < stack.Layers.Count; i++)
        {
            LayerSpec spec = stack.Layers[i];
            if (spec.Kind != LayerKind.Convolution)
            {
                continue;
            }

            TensorShape input = stack.InputOf(i);
            var g = new ConvolutionGeometry(input.Channels, input.Height, input.Width, spec.Kernel, spec.Kernel, spec.Stride, spec.Pad);
            var layer = new Layer(g, spec.Size);
            var forward = new Times();
            var backward = new Times();
            for (int round = 0; round < rounds; round++)
            {
                double peak = MachinePeak.Measure<float>(isa, 1, samples: 5, sampleMilliseconds: 20);
                forward.Add(Layer.Time(() => layer.Im2ColForward(isa)), Layer.Time(() => layer.DirectForward(isa)), layer.FlopsPerImage * Images / peak / 1e9);
                backward.Add(Layer.Time(() => layer.Im2ColBackward(isa)), Layer.Time(() => layer.DirectBackward(isa)), 2 * layer.FlopsPerImage * Images / peak / 1e9);
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{i,5}  {$"{g.Channels} x {g.Height} x {g.Width} -> {spec.Size}, {g.WindowHeight}x{g.WindowWidth}/{g.Pad}",-29} {layer.FlopsPerImage / 1e6,9:F2} | {forward} | {backward}"));
        }

        Console.WriteLine("(dx is computed for every layer here, the first one included; a direct convolution needs stride 1)");
        return 0;
    }

    /// <summary>One layer's buffers for <see cref="Images"/> images, both ways.</summary>
    private sealed class Layer
    {
        private readonly ConvolutionGeometry _g;
        private readonly DirectConvolution? _direct;
        private readonly float[] _x, _weights, _bias, _y, _dy, _dWeights, _dBias, _dx, _cols, _dcol, _scratch;

        public Layer(ConvolutionGeometry g, int filters)
        {
            _g = g;
            _direct = DirectConvolution.Applies(g) ? new DirectConvolution(g) : null;
            var rng = new Rng(3);
            float[] Random(long n) => [.. Enumerable.Range(0, (int)n).Select(_ => (float)(rng.NextDouble() - 0.5))];
            _x = Random(Images * g.InputLength);
            _weights = Random((long)filters * g.WindowLength);
            _bias = Random(filters);
            _y = new float[(long)Images * filters * g.Positions];
            _dy = Random(_y.Length);
            _dWeights = new float[_weights.Length];
            _dBias = new float[filters];
            _dx = new float[_x.Length];
            _cols = new float[(long)Images * g.WindowLength * g.Positions];
            _dcol = new float[(long)g.WindowLength * g.Positions];
            _scratch = new float[_direct?.ScratchLength(filters) ?? 0];
            FlopsPerImage = 2.0 * filters * g.WindowLength * g.Positions;
        }

        public double FlopsPerImage { get; }

        private int Filters => _bias.Length;

        private int Output => Filters * _g.Positions;

        private int Columns => _g.WindowLength * _g.Positions;

        public void Im2ColForward(IsaPath isa)
        {
            for (int n = 0; n < Images; n++)
            {
                Convolution.Forward<float>(isa, _x.AsSpan(n * _g.InputLength, _g.InputLength), _weights, _bias, _g, _cols.AsSpan(n * Columns, Columns), _y.AsSpan(n * Output, Output));
            }
        }

        public void Im2ColBackward(IsaPath isa)
        {
            for (int n = 0; n < Images; n++)
            {
                Convolution.Backward<float>(isa, _dy.AsSpan(n * Output, Output), _cols.AsSpan(n * Columns, Columns), _weights, _g, _dWeights, _dBias, _dcol, _dx.AsSpan(n * _g.InputLength, _g.InputLength), accumulate: n > 0);
            }
        }

        public void DirectForward(IsaPath isa)
        {
            for (int n = 0; _direct is not null && n < Images; n++)
            {
                _direct.Forward<float>(isa, _x.AsSpan(n * _g.InputLength, _g.InputLength), _weights, _bias, _scratch, _y.AsSpan(n * Output, Output));
            }
        }

        public void DirectBackward(IsaPath isa)
        {
            for (int n = 0; _direct is not null && n < Images; n++)
            {
                _direct.Backward<float>(isa, _x.AsSpan(n * _g.InputLength, _g.InputLength), _dy.AsSpan(n * Output, Output), _weights, _scratch, _dWeights, _dBias, _dx.AsSpan(n * _g.InputLength, _g.InputLength), accumulate: n > 0);
            }
        }

        /// <summary>Seconds for one call, the best of three (the first warms the caches and the JIT).</summary>
        public static double Time(Action run)
        {
            double best = double.MaxValue;
            for (int i = 0; i < 3; i++)
            {
                long start = Stopwatch.GetTimestamp();
                run();
                best = Math.Min(best, Stopwatch.GetElapsedTime(start).TotalSeconds);
            }

            return best;
        }
    }

    /// <summary>Each round's im2col and direct times and the peak's time for the same work; prints the medians.</summary>
    private sealed class Times
    {
        private readonly List<double> _im2col = [], _direct = [], _im2colShare = [], _directShare = [];

        public void Add(double im2col, double direct, double peakSeconds)
        {
            _im2col.Add(im2col);
            _direct.Add(direct);
            _im2colShare.Add(peakSeconds / im2col);
            _directShare.Add(peakSeconds / direct);
        }

        public override string ToString() => string.Create(CultureInfo.InvariantCulture,
            $"{1e3 * AlternatingMode.Median(_im2col),8:F2} {1e3 * AlternatingMode.Median(_direct),7:F2}  ({100 * AlternatingMode.Median(_im2colShare),3:F0}%, {100 * AlternatingMode.Median(_directShare),3:F0}%)");
    }
}
