using System.Numerics;
using Simd.Kernels;

namespace Simd.Training;

/// <summary>
/// The book's TwoLayerNet (ch. 4.5 / ch. 5): affine -> sigmoid or ReLU -> affine -> softmax with
/// cross-entropy. Parameters live in one flat buffer (W1 | b1 | W2 | b2); every other buffer is in
/// the <see cref="Workspace{T}"/>. This file: construction, prediction, loss and accuracy.
/// The gradients are in TwoLayerNet.Backprop.cs and TwoLayerNet.Numerical.cs.
/// </summary>
public sealed partial class TwoLayerNet<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    public TwoLayerNet(NetworkShape shape, Activation activation, IsaPath isa, ulong seed, int maxBatch, int workerCount = 1)
    {
        shape.Validate();
        Shape = shape;
        Activation = activation;
        Isa = isa;
        Workspace = new Workspace<T>(shape, maxBatch, workerCount, Tuning.EvaluationChunkRows);
        Initialize(seed);
    }

    public NetworkShape Shape { get; }

    public Activation Activation { get; }

    /// <summary>The kernel path every op of this network runs on.</summary>
    public IsaPath Isa { get; }

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

    /// <summary>The book's loss(x, t): mean cross-entropy of the batch under the current parameters.</summary>
    public T Loss(ReadOnlySpan<T> x, ReadOnlySpan<byte> labels, int batch)
    {
        CheckBatch(x, labels, batch);
        return LossWith(Parameters, x, labels, batch, worker: 0);
    }

    /// <summary>
    /// Number of images whose predicted class (argmax of the logits, as the book's accuracy) equals
    /// the label, evaluated in chunks so the scratch stays small.
    /// </summary>
    public int CountCorrect(ReadOnlySpan<T> images, ReadOnlySpan<byte> labels, int count)
    {
        int chunk = Workspace.EvaluationChunkRows;
        int matches = 0;
        for (int start = 0; start < count; start += chunk)
        {
            int rows = Math.Min(chunk, count - start);
            matches += CountCorrectRows(images, labels, start, rows, worker: 0);
        }

        return matches;
    }

    /// <summary>The book's accuracy(x, t) over a whole dataset.</summary>
    public double Accuracy(Dataset<T> data) =>
        data.Count == 0 ? 0 : CountCorrect(data.Images, data.Labels, data.Count) / (double)data.Count;

    /// <summary>Applies one SGD step: params -= lr * grads.</summary>
    public void Update(ReadOnlySpan<T> gradients, T learningRate) =>
        SgdUpdate.Apply(Isa, gradients, learningRate, Parameters);

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

    private int CountCorrectRows(ReadOnlySpan<T> images, ReadOnlySpan<byte> labels, int start, int rows, int worker)
    {
        Span<T> hidden = Workspace.WorkerHidden(worker);
        Span<T> logits = Workspace.WorkerLogits(worker);
        ForwardHidden(Parameters, images.Slice(start * Shape.InputSize, rows * Shape.InputSize), rows, hidden);
        ForwardLogits(Parameters, hidden, rows, logits);
        return RowArgMax.CountMatches<T>(Isa, logits, labels.Slice(start, rows), rows, Shape.OutputSize);
    }

    private void CheckBatch(ReadOnlySpan<T> x, ReadOnlySpan<byte> labels, int batch)
    {
        if (batch < 1 || batch > Workspace.MaxBatch)
        {
            throw new ArgumentOutOfRangeException(nameof(batch), batch, $"must be in 1..{Workspace.MaxBatch}");
        }

        if (x.Length < batch * Shape.InputSize || labels.Length < batch)
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
}
