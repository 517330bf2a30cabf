using System.Numerics;
using CommunityToolkit.HighPerformance;
using Simd.Kernels;

namespace Simd.Training;

/// <summary>
/// The book's MultiLayerNet (common/multi_layer_net.py; its ch. 4 MultiLayerNet is the 784-50-10 case):
/// affine -> sigmoid or ReLU for every hidden layer, an affine output, softmax with cross-entropy,
/// optional weight decay. Parameters live in one flat buffer in the book's order (W1 | b1 | W2 | b2 | ...);
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

    /// <param name="threads">Workers sharing every step (the calling thread is one of them).</param>
    /// <param name="init">Initial weights; null for the ch. 4 network's 0.01.</param>
    /// <param name="weightDecay">λ of the book's weight decay: the loss gains ½λ·ΣW² over the weights, their gradients λW.</param>
    /// <param name="dropout">The book's dropout ratio after every hidden activation (0: none); see <see cref="DropoutRatio"/>.</param>
    public MultiLayerNet(
        NetworkShape shape, Activation activation, IsaPath isa, ulong seed, int maxBatch, int threads = 1,
        WeightInit? init = null, double weightDecay = 0, double dropout = 0)
    {
        if (!(dropout >= 0 && dropout < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(dropout), dropout, "the dropout ratio must be at least 0 and below 1");
        }

        ArgumentNullException.ThrowIfNull(shape);
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        if (!double.IsFinite(weightDecay) || weightDecay < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(weightDecay), weightDecay, "weight decay must be a finite number, 0 or more");
        }

        Shape = shape;
        Activation = activation;
        Isa = isa;
        Init = init ?? WeightInit.Book;
        WeightDecayLambda = weightDecay;
        DropoutRatio = dropout;
        Seed = seed;
        Workspace = new Workspace<T>(shape, maxBatch, threads, Tuning.EvaluationChunkRows);
        _pool = new WorkerPool(threads);
        _evaluation = new EvaluationWork(this);
        _backprop = new BackpropWork(this);
        _numerical = new NumericalWork(this);
        _pool.Run(new ScratchReservation(this));
        Initialize(seed);
    }

    public NetworkShape Shape { get; }

    public Activation Activation { get; }

    /// <summary>The kernel path every op of this network runs on.</summary>
    public IsaPath Isa { get; }

    /// <summary>How the weights were initialized.</summary>
    public WeightInit Init { get; }

    /// <summary>λ of the weight decay (0: none).</summary>
    public double WeightDecayLambda { get; }

    /// <summary>
    /// The book's Dropout after every hidden activation (multi_layer_net_extend.py): in training, each unit of
    /// each image is dropped (set to 0) when its uniform number is not above the ratio, the numbers drawn by a
    /// counter-based generator keyed by (seed, <see cref="DropoutStep"/>, layer, image, unit); in inference
    /// (accuracy, evaluation, prediction, <see cref="Loss"/> by default) every activation is scaled by 1 − ratio.
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
    /// Fresh weights: each W_l filled row-major, W1 first, with std_l·N(0, 1) (std by <see cref="Init"/>
    /// and the layer's fan-in), biases 0, optimizer state 0. The draws are made in double and rounded to T,
    /// so float and double runs with the same seed start from the same weights.
    /// </summary>
    public void Initialize(ulong seed)
    {
        var rng = new Rng(seed);
        Parameters.Clear();
        Workspace.OptimizerState1.Clear();
        Workspace.OptimizerState2.Clear();
        Updates = 0;
        for (int l = 0; l < Shape.LayerCount; l++)
        {
            FillGaussian(ref rng, Shape.Weights(Parameters, l).Flat(), Init.StandardDeviation(Shape.InputsOf(l)));
        }

        for (int l = 0; Shape.BatchNorm && l < Shape.LayerCount - 1; l++)
        {
            Parameters.Slice(Shape.GammaOffset(l), Shape.OutputsOf(l)).Fill(T.One); // γ = 1, β = 0
            Workspace.RunningMean(l).Clear();
            Workspace.RunningVariance(l).Clear();
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
        return LossWith(Parameters, x[..(batch * Shape.InputSize)].AsSpan2D(batch, Shape.InputSize), labels, worker: 0, training);
    }

    /// <summary>
    /// Number of images of <paramref name="data"/> whose predicted class (argmax of the logits, as the
    /// book's accuracy) equals the label. The images are split into fixed chunks that the workers claim:
    /// normalize the chunk into the worker's scratch, forward, count.
    /// </summary>
    public int CountCorrect(Dataset<T> data)
    {
        if (data.Features != Shape.InputSize)
        {
            throw new ArgumentException($"the images have {data.Features} values, the network takes {Shape.InputSize}");
        }

        _evaluation.Start(data);
        _pool.Run(_evaluation);
        return _evaluation.Total;
    }

    /// <summary>The book's accuracy(x, t) over a whole dataset.</summary>
    public double Accuracy(Dataset<T> data) => data.Count == 0 ? 0 : CountCorrect(data) / (double)data.Count;

    /// <summary>Applies one optimizer step to every parameter from <paramref name="gradients"/> (one thread; training fuses it into the gradient).</summary>
    public void Update(ReadOnlySpan<T> gradients, OptimizerSettings optimizer)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        Updates++;
        optimizer.Apply(Isa, Updates, gradients[..Shape.ParameterCount], Parameters, Workspace.OptimizerState1, Workspace.OptimizerState2);
    }

    public void Dispose() => _pool.Dispose();

    /// <summary>
    /// The forward pass of the images <paramref name="x"/>, [rows, n_0], through every layer, layer by layer
    /// in the two scratch buffers; returns the logits, [rows, n_L], inside one of them.
    /// </summary>
    /// <param name="positive">When not empty ([rows · Σ hidden sizes], layer after layer): 1 where a hidden activation
    /// is positive, else 0 — the pattern of ReLU's kinks a gradient check compares between p + h and p − h.</param>
    private ReadOnlySpan2D<T> ForwardInto(ReadOnlySpan<T> parameters, ReadOnlySpan2D<T> x, Span<T> scratchA, Span<T> scratchB, bool training = false, Span<byte> positive = default)
    {
        ReadOnlySpan2D<T> input = x;
        int recorded = 0;
        for (int l = 0; l < Shape.LayerCount; l++)
        {
            Span2D<T> output = (l % 2 == 0 ? scratchA : scratchB).AsSpan2D(x.Height, Shape.OutputsOf(l));
            AffineForward(parameters, l, input, output, training ? 0 : -1);
            if (!positive.IsEmpty && l < Shape.LayerCount - 1)
            {
                foreach (T value in output.Flat())
                {
                    positive[recorded++] = value > T.Zero ? (byte)1 : (byte)0;
                }
            }

            input = output;
        }

        return input;
    }

    /// <summary>
    /// Z = X·W_l + b_l, X [rows, n_in] and Z [rows, n_out], then the activation and dropout unless it is the
    /// output layer. <paramref name="firstRow"/>: the batch row of Z's first row, whose masks training uses;
    /// -1 for inference (dropout scales instead).
    /// </summary>
    private void AffineForward(ReadOnlySpan<T> parameters, int layer, ReadOnlySpan2D<T> x, Span2D<T> z, int firstRow)
    {
        Affine(parameters, layer, x, z);
        if (layer == Shape.LayerCount - 1)
        {
            return;
        }

        if (Shape.BatchNorm)
        {
            // Here the rows are the whole batch (one worker: the numerical gradient, the loss, evaluation);
            // training's parallel step normalizes in a phase of its own, by blocks of features.
            Span<T> values = z.Flat();
            ReadOnlySpan<T> gamma = parameters.Slice(Shape.GammaOffset(layer), z.Width), beta = parameters.Slice(Shape.BetaOffset(layer), z.Width);
            if (firstRow >= 0)
            {
                BatchNorm.ForwardTraining(Isa, values, z.Height, z.Width, 0, z.Width, gamma, beta, [], [], [], [], updateRunning: false);
            }
            else
            {
                BatchNorm.ForwardInference(values, z.Height, z.Width, gamma, beta, Workspace.RunningMean(layer), Workspace.RunningVariance(layer));
            }
        }

        ActivateRows(layer, z, firstRow);
    }

    /// <summary>Z = X·W_l + b_l: X [rows, n_in], Z [rows, n_out].</summary>
    private void Affine(ReadOnlySpan<T> parameters, int layer, ReadOnlySpan2D<T> x, Span2D<T> z) =>
        GemmNN.Multiply(Isa, x.Flat(), Shape.Weights(parameters, layer).Flat(), Shape.Bias(parameters, layer), x.Height, x.Width, z.Width, z.Flat());

    /// <summary>A hidden layer's activation, then dropout (training: masks of rows from <paramref name="firstRow"/>; -1: inference scaling), in place.</summary>
    private void ActivateRows(int layer, Span2D<T> z, int firstRow)
    {
        Span<T> result = z.Flat();
        if (Activation == Activation.Sigmoid)
        {
            Sigmoid.Forward<T>(Isa, result, result);
        }
        else
        {
            Relu.Forward<T>(Isa, result, result);
        }

        if (DropoutRatio == 0)
        {
            return;
        }

        if (firstRow >= 0)
        {
            // The backward pass needs no mask of its own: act'(A) is 0 wherever A was dropped to 0
            // (sigmoid: A(1 − A); ReLU: A > 0), and 1 · act' of the kept value elsewhere, as the book's
            // dout * mask followed by the activation's backward.
            (uint k0, uint k1) = DropoutKeys(layer);
            Kernels.Dropout.Apply(Isa, result, z.Height, z.Width, firstRow, k0, k1, DropoutRatio);
        }
        else
        {
            T keep = T.CreateTruncating(1 - DropoutRatio);
            foreach (ref T value in result)
            {
                value *= keep;
            }
        }
    }

    /// <summary>The dropout generator's key for <see cref="DropoutStep"/> and a layer: SplitMix64 of the three, split in two words.</summary>
    private (uint K0, uint K1) DropoutKeys(int layer)
    {
        ulong z = Seed ^ ((ulong)DropoutStep * 0xD1B54A32D192ED03UL) ^ ((ulong)(layer + 1) * 0x9E3779B97F4A7C15UL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        return ((uint)z, (uint)(z >> 32));
    }

    /// <summary>dZ_(l-1) = (dZ_l·W_lᵀ) ⊙ act'(A_(l-1)): dZ_l [rows, n_out], A_(l-1) and dZ_(l-1) [rows, n_in].</summary>
    private void BackwardThroughActivation(ReadOnlySpan<T> parameters, int layer, ReadOnlySpan2D<T> dz, ReadOnlySpan2D<T> previousActivations, Span2D<T> previousDz)
    {
        Span<T> result = previousDz.Flat();
        GemmNT.Multiply(Isa, dz.Flat(), Shape.Weights(parameters, layer).Flat(), dz.Height, dz.Width, previousDz.Width, result);
        if (Activation == Activation.Sigmoid)
        {
            Sigmoid.Backward<T>(Isa, previousActivations.Flat(), result, result);
        }
        else
        {
            Relu.Backward<T>(Isa, previousActivations.Flat(), result, result);
        }
    }

    /// <summary>The whole forward pass and the loss (mean cross-entropy + ½λ·ΣW²), with the given parameters and worker scratch.</summary>
    /// <param name="kind">The book's cross-entropy (δ inside the log), or the one without δ that backprop differentiates.</param>
    /// <param name="positive">Where the hidden activations' signs are recorded (see <see cref="ForwardInto"/>), or empty.</param>
    private T LossWith(
        ReadOnlySpan<T> parameters, ReadOnlySpan2D<T> x, ReadOnlySpan<byte> labels, int worker, bool training,
        NumericalLoss kind = NumericalLoss.Book, Span<byte> positive = default)
    {
        int batch = x.Height;
        ReadOnlySpan2D<T> logits = ForwardInto(parameters, x, Workspace.WorkerScratch(worker, 0), Workspace.WorkerScratch(worker, 1), training, positive);
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

    private static void FillGaussian(ref Rng rng, Span<T> weights, double standardDeviation)
    {
        for (int i = 0; i < weights.Length; i++)
        {
            weights[i] = T.CreateTruncating(standardDeviation * rng.NextGaussian());
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
            GemmScratch.Reserve<T>(Math.Max(rows, Math.Max(shape.InputSize, shape.MaxOutputWidth)), largestLayer);
        }
    }

    /// <summary>Accuracy: fixed chunks of images, claimed by the workers, each counted in the claimer's scratch.</summary>
    private sealed class EvaluationWork(MultiLayerNet<T> network) : ICompletableWork
    {
        private readonly BlockClaims _claims = new(Tuning.MaxEvaluationChunks);
        private readonly int[] _counts = new int[Tuning.MaxEvaluationChunks];
        private Dataset<T>? _data;
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

        public void Start(Dataset<T> data)
        {
            _data = data;
            (ChunkRows, _chunkCount) = network.EvaluationChunks(data.Count);
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
                int end = Math.Min(data.Count, start + ChunkRows);
                int matches = 0;
                for (int i = start; i < end; i += ws.EvaluationChunkRows)
                {
                    int rows = Math.Min(ws.EvaluationChunkRows, end - i);
                    data.CopyImages(network.Isa, i, rows, images);
                    ReadOnlySpan2D<T> batch = ((ReadOnlySpan<T>)images[..(rows * data.Features)]).AsSpan2D(rows, data.Features);
                    ReadOnlySpan2D<T> logits = network.ForwardInto(parameters, batch, ws.WorkerScratch(worker, 0), ws.WorkerScratch(worker, 1));
                    matches += RowArgMax.CountMatches<T>(network.Isa, logits.Flat(), data.Labels.Slice(i, rows), rows, network.Shape.OutputSize);
                }

                _counts[chunk] = matches;
                _claims.Complete(1);
            }
        }
    }
}
