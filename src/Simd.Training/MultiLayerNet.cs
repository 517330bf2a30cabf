using System.Numerics;
using CommunityToolkit.HighPerformance;
using Simd.Kernels;
using Simd.Training.Layers;

namespace Simd.Training;

/// <summary>
/// A network of the book's layers (common/layers.py) on one engine: the fully connected MultiLayerNet(Extend) of
/// ch. 4-6 (affine → [batch norm] → sigmoid or ReLU → [dropout] for every hidden layer, an affine output) and the
/// convolutional networks of ch. 7-8, any <see cref="LayerStack"/>, then softmax with cross-entropy and optional
/// weight decay. Parameters live in one flat buffer in the book's order (W1 | b1 | W2 | b2 | ...);
/// every other buffer is in the <see cref="Workspace{T}"/>; the work is split into fixed blocks that the
/// workers of a <see cref="WorkerPool"/> claim, so every output element is computed by exactly one
/// worker in a fixed order — the results are bitwise the same for any number of threads.
/// This file: construction, prediction, loss, accuracy, update. The gradients are in
/// MultiLayerNet.Backprop.cs and MultiLayerNet.Numerical.cs.
/// </summary>
public sealed partial class MultiLayerNet<T> : IDisposable
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly WorkerPool _pool;
    private readonly EvaluationWork _evaluation;

    /// <summary>A fully connected network: <paramref name="shape"/>'s sizes with <paramref name="activation"/> and <paramref name="dropout"/> after every hidden layer.</summary>
    /// <param name="threads">Workers sharing every step (the calling thread is one of them).</param>
    /// <param name="init">Initial weights; null for the ch. 4 network's 0.01.</param>
    /// <param name="weightDecay">λ of the book's weight decay: the loss gains ½λ·ΣW² over the weights, their gradients λW.</param>
    /// <param name="dropout">The book's dropout ratio after every hidden activation (0: none); see <see cref="DropoutRatio"/>.</param>
    public MultiLayerNet(
        NetworkShape shape, Activation activation, IsaPath isa, ulong seed, int maxBatch, int threads = 1,
        WeightInit? init = null, double weightDecay = 0, double dropout = 0)
        : this(FullyConnected(shape, activation, dropout), isa, seed, maxBatch, threads, init, weightDecay)
    {
    }

    /// <summary>The network of <paramref name="stack"/>'s layers.</summary>
    /// <param name="threads">Workers sharing every step (the calling thread is one of them).</param>
    /// <param name="init">Initial weights; null for the book's 0.01 (ch. 4 and ch. 7).</param>
    /// <param name="weightDecay">λ of the book's weight decay: the loss gains ½λ·ΣW² over every W, their gradients λW.</param>
    public MultiLayerNet(LayerStack stack, IsaPath isa, ulong seed, int maxBatch, int threads = 1, WeightInit? init = null, double weightDecay = 0)
    {
        ArgumentNullException.ThrowIfNull(stack);
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        if (!double.IsFinite(weightDecay) || weightDecay < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(weightDecay), weightDecay, "weight decay must be a finite number, 0 or more");
        }

        Stack = stack;
        Plan = LayerPlan<T>.Build(stack);
        Shape = stack.Shape;
        Activation = stack.Layers.FirstOrDefault(l => l.Kind is LayerKind.Relu or LayerKind.Sigmoid)?.Kind == LayerKind.Relu ? Activation.Relu : Activation.Sigmoid;
        DropoutRatio = stack.Layers.FirstOrDefault(l => l.Kind == LayerKind.Dropout)?.Ratio ?? 0;
        Isa = isa;
        RowBlock = GemmNN.RowTile(isa);
        Init = init ?? WeightInit.Book;
        WeightDecayLambda = weightDecay;
        Seed = seed;
        Workspace = new Workspace<T>(Plan.Needs, maxBatch, threads, Tuning.EvaluationChunkRows, RowBlock);
        foreach (BatchNormLayer<T> normalization in Plan.Layers.OfType<BatchNormLayer<T>>())
        {
            normalization.Bind(Workspace);
        }

        _dropoutOrdinals = new int[Plan.Layers.Count];
        for (int i = 0, dropouts = 0; i < Plan.Layers.Count; i++)
        {
            _dropoutOrdinals[i] = Plan.Layers[i].Spec.Kind == LayerKind.Dropout ? dropouts++ : -1;
        }

        _pool = new WorkerPool(threads);
        _evaluation = new EvaluationWork(this);
        _backprop = new BackpropWork(this);
        _numerical = new NumericalWork(this);
        _pool.Run(new ScratchReservation(this));
        Initialize(seed);
    }

    private readonly int[] _dropoutOrdinals; // [layers] which dropout layer each is, or -1

    private static LayerStack FullyConnected(NetworkShape shape, Activation activation, double dropout)
    {
        ArgumentNullException.ThrowIfNull(shape);
        if (!(dropout >= 0 && dropout < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(dropout), dropout, "the dropout ratio must be at least 0 and below 1");
        }

        return shape.Stack ?? LayerStack.FullyConnected(shape.InputSize, shape.HiddenSizes, shape.OutputSize, activation, shape.BatchNorm, dropout);
    }

    /// <summary>The layers, as given.</summary>
    public LayerStack Stack { get; }

    /// <summary>The layers as the engine runs them (conv → ReLU → pool fused), with their buffers.</summary>
    public LayerPlan<T> Plan { get; }

    /// <summary>Where each parameter is in the flat buffer.</summary>
    public NetworkShape Shape { get; }

    /// <summary>The first activation of the stack (a fully connected network has one kind); sigmoid when it has none.</summary>
    public Activation Activation { get; }

    /// <summary>The kernel path every op of this network runs on.</summary>
    public IsaPath Isa { get; }

    /// <summary>
    /// Images per row block of a training step: the GEMM row tile of <see cref="Isa"/>'s path (8 on the 512-bit one), so
    /// no block adds an edge tile. Fixed for the network, whatever the thread count; a convolution's weight gradient is
    /// summed block by block, so its bits follow the path, as every kernel's do.
    /// </summary>
    public int RowBlock { get; }

    /// <summary>The row blocks of a batch of <paramref name="batch"/> images (the last may be short).</summary>
    public int RowBlocks(int batch) => (batch + RowBlock - 1) / RowBlock;

    /// <summary>How the weights were initialized.</summary>
    public WeightInit Init { get; }

    /// <summary>λ of the weight decay (0: none).</summary>
    public double WeightDecayLambda { get; }

    /// <summary>
    /// The ratio of the stack's first Dropout (multi_layer_net_extend.py; see <see cref="DropoutLayer{T}"/>): in training,
    /// each unit of each image is dropped (set to 0) when its uniform number is not above the ratio, the numbers drawn
    /// by a counter-based generator keyed by (seed, <see cref="DropoutStep"/>, which dropout layer, image, unit); in
    /// inference (accuracy, evaluation, prediction, <see cref="Loss"/> by default) every activation is scaled by 1 − ratio.
    /// 0: no dropout.
    /// </summary>
    public double DropoutRatio { get; }

    /// <summary>
    /// The step whose dropout masks training-mode forward passes use: <see cref="TrainStep"/> sets it to the step's
    /// number; set it to hold the masks fixed across <see cref="Gradient"/>, <see cref="NumericalGradient"/> and
    /// <see cref="Loss"/> with training (the book's gradient check with dropout).
    /// </summary>
    public long DropoutStep { get; set; }

    /// <summary>The seed of the initial weights, which also keys the dropout masks.</summary>
    public ulong Seed { get; }

    /// <summary>Worker threads sharing the work, the calling thread included.</summary>
    public int Threads => _pool.Count;

    /// <summary>The workers (for diagnostics such as <see cref="WorkerPool.AllocatedBytes"/>).</summary>
    public WorkerPool Pool => _pool;

    public Workspace<T> Workspace { get; }

    /// <summary>The parameters, [P]: W1 | b1 | W2 | b2 | ...</summary>
    public Span<T> Parameters => Workspace.Parameters;

    /// <summary>W of layer <paramref name="layer"/> (0-based; the book's W1 is layer 0), a view into <see cref="Parameters"/>: [n_in, n_out].</summary>
    public Span2D<T> Weights(int layer) => Shape.Weights(Parameters, layer);

    /// <summary>b of layer <paramref name="layer"/> (0-based), a view into <see cref="Parameters"/>: [n_out].</summary>
    public Span<T> Bias(int layer) => Shape.Bias(Parameters, layer);

    /// <summary>Optimizer updates applied so far (Adam's t is this plus one during the next); restored from a checkpoint.</summary>
    public long Updates { get; internal set; }

    /// <summary>
    /// Fresh weights: each W filled row-major, W1 first, with std·N(0, 1) (std by <see cref="Init"/> and the layer's
    /// fan-in: an Affine's inputs, a Convolution's C·FH·FW), biases 0, γ 1 and β 0, running statistics and optimizer
    /// state 0. The draws are made in double and rounded to T, so float and double runs with the same seed start from
    /// the same weights.
    /// </summary>
    public void Initialize(ulong seed)
    {
        var rng = new Rng(seed);
        Parameters.Clear();
        Workspace.OptimizerState1.Clear();
        Workspace.OptimizerState2.Clear();
        Updates = 0;
        foreach (Layer<T> layer in Plan.Layers)
        {
            layer.Initialize(Parameters, ref rng, Init);
        }
    }

    /// <summary>γ of hidden layer <paramref name="layer"/> (batch normalization), a view into <see cref="Parameters"/>: [n].</summary>
    public Span<T> Gamma(int layer) => Parameters.Slice(Shape.GammaOffset(layer), Shape.OutputsOf(layer));

    /// <summary>β of hidden layer <paramref name="layer"/> (batch normalization): [n].</summary>
    public Span<T> Beta(int layer) => Parameters.Slice(Shape.BetaOffset(layer), Shape.OutputsOf(layer));

    /// <summary>
    /// The book's loss(x, t, train_flg): mean cross-entropy of the batch (plus ½λ·ΣW²) under the current
    /// parameters (one thread); with <paramref name="training"/>, dropout drops units with the masks of
    /// <see cref="DropoutStep"/>, else it scales them.
    /// </summary>
    public T Loss(ReadOnlySpan<T> x, ReadOnlySpan<byte> labels, int batch, bool training = false)
    {
        CheckBatch(x.Length, labels.Length, batch);
        return LossWith(Parameters, x[..(batch * Shape.InputSize)], batch, labels, worker: 0, training);
    }

    /// <summary>
    /// Number of images of <paramref name="data"/> whose predicted class (argmax of the logits, as the
    /// book's accuracy) equals the label. The images are split into fixed chunks that the workers claim:
    /// normalize the chunk into the worker's scratch, forward, count.
    /// </summary>
    public int CountCorrect(Dataset<T> data) => CountCorrect(data, data.Count);

    /// <summary>Correct predictions among the first <paramref name="count"/> images of <paramref name="data"/> (the book's x[:t]).</summary>
    public int CountCorrect(Dataset<T> data, int count)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (data.Features != Shape.InputSize)
        {
            throw new ArgumentException($"the images have {data.Features} values, the network takes {Shape.InputSize}");
        }

        ArgumentOutOfRangeException.ThrowIfNegative(count);
        _evaluation.Start(data, Math.Min(count, data.Count));
        _pool.Run(_evaluation);
        return _evaluation.Total;
    }

    /// <summary>The book's accuracy(x, t) over a whole dataset.</summary>
    public double Accuracy(Dataset<T> data) => data.Count == 0 ? 0 : CountCorrect(data) / (double)data.Count;

    /// <summary>The book's accuracy(x[:count], t[:count]): the first <paramref name="count"/> images (all when there are fewer).</summary>
    public double Accuracy(Dataset<T> data, int count)
    {
        ArgumentNullException.ThrowIfNull(data);
        int used = Math.Min(count, data.Count);
        return used == 0 ? 0 : CountCorrect(data, used) / (double)used;
    }

    /// <summary>Applies one optimizer step to every parameter from <paramref name="gradients"/> (one thread; training fuses it into the gradient).</summary>
    public void Update(ReadOnlySpan<T> gradients, OptimizerSettings optimizer)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        Updates++;
        optimizer.Apply(Isa, Updates, gradients[..Shape.ParameterCount], Parameters, Workspace.OptimizerState1, Workspace.OptimizerState2);
    }

    public void Dispose() => _pool.Dispose();

    /// <summary>
    /// The forward pass of the images <paramref name="x"/>, [rows, n_0], through every layer in one worker's buffers (its
    /// two ping-pong node buffers, its layers' scratch); returns the logits, [rows, classes], inside one of them.
    /// </summary>
    /// <param name="positive">When not empty ([rows · <see cref="KinkPatternLength"/>]): 1 where a value after a ReLU is
    /// positive, else 0, and each max pooling's argmax — the pattern of kinks a gradient check compares between p + h and p − h.</param>
    private ReadOnlySpan2D<T> ForwardInto(ReadOnlySpan<T> parameters, ReadOnlySpan<T> x, int rows, int worker, PassMode mode, Span<byte> positive = default)
    {
        ReadOnlySpan<T> input = x[..(rows * Shape.InputSize)];
        Span<T> values = default;
        int recorded = 0;
        for (int i = 0; i < Plan.Layers.Count; i++)
        {
            Layer<T> layer = Plan.Layers[i];
            if (!layer.InPlace)
            {
                values = Workspace.WorkerScratch(worker, (layer.OutputNode - 1) % 2)[..(rows * layer.OutputLength)];
            }

            var pass = new RowsPass<T>
            {
                Isa = Isa, Parameters = parameters, Mode = mode, Rows = rows, FirstRow = mode == PassMode.Training ? 0 : -1,
                Saved = Workspace.WorkerSaved(worker, i), Scratch = Workspace.WorkerLayerScratch(worker, i), DropoutKeys = DropoutKeysOf(i),
                KeepsChoices = mode == PassMode.Training || !positive.IsEmpty,
            };
            layer.Forward(ref pass, input, values);
            if (mode == PassMode.Inference && StoresHalf)
            {
                RoundToHalf(values, worker); // what the next layer reads was stored as half
            }

            input = values;
            if (!positive.IsEmpty && layer.ChoicesPerImage > 0)
            {
                layer.RecordChoices(pass.Saved, rows, positive.Slice(recorded, rows * layer.ChoicesPerImage));
                recorded += rows * layer.ChoicesPerImage;
            }

            if (!positive.IsEmpty && RecordsKinksAfter(i))
            {
                foreach (T value in values)
                {
                    positive[recorded++] = value > T.Zero ? (byte)1 : (byte)0;
                }
            }
        }

        return input.AsSpan2D(rows, Shape.OutputSize);
    }

    /// <summary>
    /// True after the last layer writing a node that a ReLU wrote (the fully connected hidden layer after its dropout, a
    /// fused convolution's pooled output), but not the logits: where a gradient check records the signs.
    /// </summary>
    private bool RecordsKinksAfter(int layer)
    {
        IReadOnlyList<Layer<T>> layers = Plan.Layers;
        if (layer == layers.Count - 1 || layers[layer + 1].InPlace || layers[layer].OutputNode == layers[^1].OutputNode)
        {
            return false;
        }

        for (int i = layer; i >= 0 && layers[i].OutputNode == layers[layer].OutputNode; i--)
        {
            if (layers[i].Spec.Kind == LayerKind.Relu || layers[i] is PooledConvolutionLayer<T>)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Values per image a gradient check records (see <see cref="ForwardInto"/>); 0 without ReLU or max pooling.</summary>
    public int KinkPatternLength =>
        Enumerable.Range(0, Plan.Layers.Count).Where(RecordsKinksAfter).Sum(i => Plan.Layers[i].OutputLength) + Plan.Layers.Sum(l => l.ChoicesPerImage);

    /// <summary>The dropout masks' key of layer <paramref name="layer"/> at <see cref="DropoutStep"/> (none for other layers).</summary>
    private (uint K0, uint K1) DropoutKeysOf(int layer) => _dropoutOrdinals[layer] >= 0 ? DropoutKeys(_dropoutOrdinals[layer]) : default;

    /// <summary>The dropout generator's key for <see cref="DropoutStep"/> and a dropout layer: SplitMix64 of the three, split in two words.</summary>
    private (uint K0, uint K1) DropoutKeys(int dropoutLayer)
    {
        ulong z = Seed ^ ((ulong)DropoutStep * 0xD1B54A32D192ED03UL) ^ ((ulong)(dropoutLayer + 1) * 0x9E3779B97F4A7C15UL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        return ((uint)z, (uint)(z >> 32));
    }

    /// <summary>The whole forward pass and the loss (mean cross-entropy + ½λ·ΣW²), with the given parameters and worker scratch.</summary>
    /// <param name="kind">The book's cross-entropy (δ inside the log), or the one without δ that backprop differentiates.</param>
    /// <param name="positive">Where the signs after each ReLU are recorded (see <see cref="ForwardInto"/>), or empty.</param>
    private T LossWith(
        ReadOnlySpan<T> parameters, ReadOnlySpan<T> x, int batch, ReadOnlySpan<byte> labels, int worker, bool training,
        NumericalLoss kind = NumericalLoss.Book, Span<byte> positive = default)
    {
        ReadOnlySpan2D<T> logits = ForwardInto(parameters, x, batch, worker, training ? PassMode.Training : PassMode.Inference, positive);
        Span<T> rowLosses = Workspace.WorkerRowLosses(worker)[..batch];
        if (kind == NumericalLoss.Book)
        {
            SoftmaxCrossEntropy.Forward(Isa, logits.Flat(), labels[..batch], batch, Shape.OutputSize, rowLosses);
        }
        else
        {
            for (int row = 0; row < batch; row++)
            {
                rowLosses[row] = SoftmaxCrossEntropy.RowLossWithoutDelta(logits.GetRowSpan(row), labels[row]);
            }
        }

        T loss = SoftmaxCrossEntropy.Mean<T>(rowLosses);
        if (WeightDecayLambda == 0)
        {
            return loss;
        }

        double squares = 0;
        for (int l = 0; l < Shape.LayerCount; l++)
        {
            squares += WeightDecay.SumOfSquares(Shape.Weights(parameters, l).Flat());
        }

        return loss + T.CreateTruncating(0.5 * WeightDecayLambda * squares);
    }

    private void CheckBatch(int inputs, int labels, int batch)
    {
        if (batch < 1 || batch > Workspace.MaxBatch)
        {
            throw new ArgumentOutOfRangeException(nameof(batch), batch, $"must be in 1..{Workspace.MaxBatch}");
        }

        if (inputs < batch * Shape.InputSize || labels < batch)
        {
            throw new ArgumentException($"a batch of {batch} needs {batch * Shape.InputSize} inputs and {batch} labels");
        }
    }

    /// <summary>
    /// How an evaluation splits <paramref name="count"/> images into fixed chunks, each one worker's: chunks of the
    /// workspace's evaluation rows, or, when there would be more than <see cref="Tuning.MaxEvaluationChunks"/>,
    /// larger chunks, still a fixed number of them.
    /// </summary>
    private (int ChunkRows, int ChunkCount) EvaluationChunks(int count)
    {
        int chunkRows = Math.Max(Workspace.EvaluationChunkRows, (count + Tuning.MaxEvaluationChunks - 1) / Tuning.MaxEvaluationChunks);
        return (chunkRows, (count + chunkRows - 1) / chunkRows);
    }

    /// <summary>
    /// Sizes every worker thread's GEMM scratch for every product this network makes, up front: with
    /// claimed blocks a worker may meet a shape for the first time late in a run, and must not allocate then.
    /// </summary>
    private sealed class ScratchReservation(MultiLayerNet<T> network) : IParallelWork
    {
        public void Execute(int worker, int workerCount)
        {
            NetworkShape shape = network.Shape;
            int rows = Math.Max(network.Workspace.MaxBatch, network.Workspace.EvaluationChunkRows);
            int largestLayer = Enumerable.Range(0, shape.LayerCount).Max(shape.WeightLength);
            long widestNode = network.Plan.Needs.NodeLengths.Max();
            long widestScratch = network.Plan.Needs.WorkerScratch.DefaultIfEmpty(0).Max();
            GemmScratch.Reserve<T>((int)Math.Max(rows, Math.Max(widestNode, Math.Min(int.MaxValue / 64, widestScratch))), largestLayer);
        }
    }

    /// <summary>Accuracy: fixed chunks of images, claimed by the workers, each counted in the claimer's scratch.</summary>
    private sealed class EvaluationWork(MultiLayerNet<T> network) : ICompletableWork
    {
        private readonly BlockClaims _claims = new(Tuning.MaxEvaluationChunks);
        private readonly int[] _counts = new int[Tuning.MaxEvaluationChunks];
        private Dataset<T>? _data;
        private int _count;      // the first images of _data evaluated
        private int _chunkCount;

        public int Total
        {
            get
            {
                int total = 0;
                foreach (int count in _counts.AsSpan(0, _chunkCount))
                {
                    total += count;
                }

                return total;
            }
        }

        public void Start(Dataset<T> data, int count)
        {
            _data = data;
            _count = count;
            (ChunkRows, _chunkCount) = network.EvaluationChunks(count);
            _claims.Begin(_chunkCount);
        }

        private int ChunkRows { get; set; }

        public bool IsComplete => _claims.IsComplete;

        public void Execute(int worker, int workerCount)
        {
            Dataset<T> data = _data!;
            Workspace<T> ws = network.Workspace;
            Span<T> images = ws.WorkerImages(worker);
            ReadOnlySpan<T> parameters = network.Parameters;
            BlockClaims.Cursor cursor = _claims.Open(worker, workerCount);
            for (int chunk = _claims.Next(ref cursor); chunk >= 0; chunk = _claims.Next(ref cursor))
            {
                int start = chunk * ChunkRows;
                int end = Math.Min(_count, start + ChunkRows);
                int matches = 0;
                for (int i = start; i < end; i += ws.EvaluationChunkRows)
                {
                    int rows = Math.Min(ws.EvaluationChunkRows, end - i);
                    data.CopyImages(network.Isa, i, rows, images);
                    network.RoundToHalf(images[..(rows * data.Features)], worker); // x_test.astype(np.float16) when storing in half
                    ReadOnlySpan2D<T> logits = network.ForwardInto(parameters, images, rows, worker, PassMode.Inference);
                    matches += RowArgMax.CountMatches<T>(network.Isa, logits.Flat(), data.Labels.Slice(i, rows), rows, network.Shape.OutputSize);
                }

                _counts[chunk] = matches;
                _claims.Complete(1);
            }
        }
    }
}
