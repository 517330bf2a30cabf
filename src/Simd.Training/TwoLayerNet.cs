using System.Numerics;
using Simd.Kernels;

namespace Simd.Training;

/// <summary>
/// The book's TwoLayerNet (ch. 4.5 / ch. 5): affine -> sigmoid or ReLU -> affine -> softmax with
/// cross-entropy. Parameters live in one flat buffer (W1 | b1 | W2 | b2); every other buffer is in
/// the <see cref="Workspace{T}"/>; the work is split among a <see cref="WorkerPool"/> so that every
/// output element is computed by exactly one worker in a fixed order — the results are bitwise the
/// same for any number of threads. This file: construction, prediction, loss, accuracy, update.
/// The gradients are in TwoLayerNet.Backprop.cs and TwoLayerNet.Numerical.cs.
/// </summary>
public sealed partial class TwoLayerNet<T> : IDisposable
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly WorkerPool _pool;
    private readonly EvaluationWork _evaluation;

    /// <param name="threads">Workers sharing every step (the calling thread is one of them).</param>
    public TwoLayerNet(NetworkShape shape, Activation activation, IsaPath isa, ulong seed, int maxBatch, int threads = 1)
    {
        shape.Validate();
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        Shape = shape;
        Activation = activation;
        Isa = isa;
        Workspace = new Workspace<T>(shape, maxBatch, threads, Tuning.EvaluationChunkRows);
        _pool = new WorkerPool(threads);
        _evaluation = new EvaluationWork(this);
        _backprop = new BackpropWork(this);
        _numerical = new NumericalWork(this);
        Initialize(seed);
    }

    public NetworkShape Shape { get; }

    public Activation Activation { get; }

    /// <summary>The kernel path every op of this network runs on.</summary>
    public IsaPath Isa { get; }

    /// <summary>Worker threads sharing the work, the calling thread included.</summary>
    public int Threads => _pool.Count;

    /// <summary>The workers (for diagnostics such as <see cref="WorkerPool.AllocatedBytes"/>).</summary>
    public WorkerPool Pool => _pool;

    public Workspace<T> Workspace { get; }

    /// <summary>The parameters, [P]: W1 | b1 | W2 | b2.</summary>
    public Span<T> Parameters => Workspace.Parameters;

    /// <summary>
    /// Fresh weights: W1 and W2 filled row-major with 0.01 * N(0, 1) from <paramref name="seed"/>,
    /// biases 0. The draws are made in double and rounded to T, so float and double runs with the
    /// same seed start from the same weights.
    /// </summary>
    public void Initialize(ulong seed)
    {
        var rng = new Rng(seed);
        Span<T> p = Parameters;
        p.Clear();
        FillGaussian(ref rng, Shape.W1(p));
        FillGaussian(ref rng, Shape.W2(p));
    }

    /// <summary>The book's loss(x, t): mean cross-entropy of the batch under the current parameters (one thread).</summary>
    public T Loss(ReadOnlySpan<T> x, ReadOnlySpan<byte> labels, int batch)
    {
        CheckBatch(x.Length, labels.Length, batch);
        return LossWith(Parameters, x, labels, batch, worker: 0);
    }

    /// <summary>
    /// Number of images of <paramref name="data"/> whose predicted class (argmax of the logits, as the
    /// book's accuracy) equals the label. The images are split among the workers, each working through
    /// its share in chunks: normalize the chunk into its scratch, forward, count.
    /// </summary>
    public int CountCorrect(Dataset<T> data)
    {
        if (data.Features != Shape.InputSize)
        {
            throw new ArgumentException($"the images have {data.Features} values, the network takes {Shape.InputSize}");
        }

        _evaluation.Data = data;
        _pool.Run(_evaluation);
        return _evaluation.Total;
    }

    /// <summary>The book's accuracy(x, t) over a whole dataset.</summary>
    public double Accuracy(Dataset<T> data) => data.Count == 0 ? 0 : CountCorrect(data) / (double)data.Count;

    /// <summary>Applies one SGD step: params -= lr * grads (one thread; training fuses it into the gradient).</summary>
    public void Update(ReadOnlySpan<T> gradients, T learningRate) =>
        SgdUpdate.Apply(Isa, gradients, learningRate, Parameters);

    public void Dispose() => _pool.Dispose();

    /// <summary>A1 = act(X·W1 + b1) for <paramref name="rows"/> images.</summary>
    private void ForwardHidden(ReadOnlySpan<T> parameters, ReadOnlySpan<T> x, int rows, Span<T> hidden)
    {
        int hiddenLength = rows * Shape.HiddenSize;
        GemmNN.Multiply(Isa, x, Shape.W1(parameters), Shape.B1(parameters), rows, Shape.InputSize, Shape.HiddenSize, hidden);
        if (Activation == Activation.Sigmoid)
        {
            Sigmoid.Forward<T>(Isa, hidden[..hiddenLength], hidden[..hiddenLength]);
        }
        else
        {
            Relu.Forward<T>(Isa, hidden[..hiddenLength], hidden[..hiddenLength]);
        }
    }

    /// <summary>Z2 = A1·W2 + b2.</summary>
    private void ForwardLogits(ReadOnlySpan<T> parameters, ReadOnlySpan<T> hidden, int rows, Span<T> logits) =>
        GemmNN.Multiply(Isa, hidden, Shape.W2(parameters), Shape.B2(parameters), rows, Shape.HiddenSize, Shape.OutputSize, logits);

    /// <summary>The whole forward pass and the mean loss, with the given parameters and worker scratch.</summary>
    private T LossWith(ReadOnlySpan<T> parameters, ReadOnlySpan<T> x, ReadOnlySpan<byte> labels, int batch, int worker)
    {
        Span<T> hidden = Workspace.WorkerHidden(worker);
        Span<T> logits = Workspace.WorkerLogits(worker);
        Span<T> rowLosses = Workspace.WorkerRowLosses(worker)[..batch];
        ForwardHidden(parameters, x, batch, hidden);
        ForwardLogits(parameters, hidden, batch, logits);
        SoftmaxCrossEntropy.Forward(Isa, logits, labels, batch, Shape.OutputSize, rowLosses);
        return SoftmaxCrossEntropy.Mean<T>(rowLosses);
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

    private static void FillGaussian(ref Rng rng, Span<T> weights)
    {
        for (int i = 0; i < weights.Length; i++)
        {
            weights[i] = T.CreateTruncating(BookDefaults.WeightInitStd * rng.NextGaussian());
        }
    }

    /// <summary>Accuracy: each worker counts its share of the images, chunk by chunk, in its own scratch.</summary>
    private sealed class EvaluationWork(TwoLayerNet<T> network) : IParallelWork
    {
        private readonly int[] _counts = new int[network.Threads];

        public Dataset<T>? Data { get; set; }

        public int Total
        {
            get
            {
                int total = 0;
                foreach (int count in _counts)
                {
                    total += count;
                }

                return total;
            }
        }

        public void Execute(int worker, int workerCount)
        {
            Dataset<T> data = Data!;
            (int start, int end) = Partition.Range(data.Count, worker, workerCount);
            int chunk = network.Workspace.EvaluationChunkRows;
            Span<T> images = network.Workspace.WorkerImages(worker);
            Span<T> hidden = network.Workspace.WorkerHidden(worker);
            Span<T> logits = network.Workspace.WorkerLogits(worker);
            ReadOnlySpan<T> parameters = network.Parameters;
            ReadOnlySpan<byte> labels = data.Labels;
            int matches = 0;
            for (int i = start; i < end; i += chunk)
            {
                int rows = Math.Min(chunk, end - i);
                data.CopyImages(network.Isa, i, rows, images);
                network.ForwardHidden(parameters, images, rows, hidden);
                network.ForwardLogits(parameters, hidden, rows, logits);
                matches += RowArgMax.CountMatches<T>(network.Isa, logits, labels.Slice(i, rows), rows, network.Shape.OutputSize);
            }

            _counts[worker] = matches;
        }
    }
}
