using Simd.Kernels;

namespace Simd.Training;

/// <summary>The book's gradient(x, t) by backpropagation (ch. 5), and the training step built on it.</summary>
public sealed partial class TwoLayerNet<T>
{
    private readonly BackpropWork _backprop;

    /// <summary>
    /// Backprop gradient of the mean loss on the batch, written to <paramref name="gradients"/>
    /// (layout of <see cref="Parameters"/>); returns the batch loss from the same forward pass.
    /// dY = (softmax - t) / B; dW2 = A1ᵀ·dY; db2 = Σ dY; dA1 = dY·W2ᵀ; dZ1 = dA1 ⊙ act'(A1);
    /// dW1 = Xᵀ·dZ1; db1 = Σ dZ1.
    /// </summary>
    public T Gradient(ReadOnlyMemory<T> x, ReadOnlyMemory<byte> labels, int batch, Memory<T> gradients)
    {
        CheckBatch(x.Length, labels.Length, batch);
        if (gradients.Length < Shape.ParameterCount)
        {
            throw new ArgumentException($"gradients needs {Shape.ParameterCount} elements", nameof(gradients));
        }

        _backprop.SetBatch(x, labels, batch, gradients, null, T.Zero);
        return RunBackprop();
    }

    /// <summary>
    /// One step of the book's training loop on the training images at <see cref="Workspace{T}.BatchIndices"/>
    /// (drawn by the caller): each worker normalizes the batch into its own copy, the gradient is computed
    /// into <see cref="Workspace{T}.Gradients"/>, each worker applies SGD to the parameters whose gradient
    /// it computed, and prefetches its rows of the next batch (<see cref="Workspace{T}.NextBatchIndices"/>).
    /// Returns the batch loss (before the update). Allocates nothing.
    /// </summary>
    public T TrainStep(Dataset<T> train, int batch, T learningRate)
    {
        if (batch < 1 || batch > Workspace.MaxBatch)
        {
            throw new ArgumentOutOfRangeException(nameof(batch), batch, $"must be in 1..{Workspace.MaxBatch}");
        }

        _backprop.SetBatch(default, default, batch, Workspace.GradientsMemory, train, learningRate);
        return RunBackprop();
    }

    /// <summary>Copies the training images at <see cref="Workspace{T}.BatchIndices"/> into the batch buffers (one thread).</summary>
    public void GatherBatch(Dataset<T> train, int batch) =>
        train.Gather(Isa, Workspace.BatchIndices[..batch], Workspace.BatchImages, Workspace.BatchLabels);

    /// <summary>Phase 1 (rows of the batch), then phase 2 (rows of the weight gradients); the loss summed in row order.</summary>
    private T RunBackprop()
    {
        _backprop.Phase = BackpropWork.Stage.Rows;
        _pool.Run(_backprop);
        _backprop.Phase = BackpropWork.Stage.Weights;
        _pool.Run(_backprop);
        return SoftmaxCrossEntropy.Mean<T>(Workspace.RowLosses[.._backprop.Batch]);
    }

    /// <summary>
    /// Backprop split by ownership (llm.c style), so no element is written by two workers and each is
    /// computed in the same order whatever the thread count:
    /// <list type="number">
    /// <item>Rows: each worker takes whole rows of the batch through the forward pass, the softmax
    /// gradient and dZ1 — everything that is per image;</item>
    /// <item>Weights: each worker takes rows of dW1 = Xᵀ·dZ1 (pixels); the last one also dW2, db1 and
    /// db2 (and, in training, their SGD updates), in exchange for fewer rows of dW1.</item>
    /// </list>
    /// </summary>
    private sealed class BackpropWork(TwoLayerNet<T> network) : IParallelWork
    {
        /// <summary>The two phases, with a barrier between them (the pool's Run).</summary>
        public enum Stage
        {
            Rows,
            Weights,
        }

        private ReadOnlyMemory<T> _x;
        private ReadOnlyMemory<byte> _labels;
        private Memory<T> _gradients;
        private Dataset<T>? _gatherFrom;
        private T _learningRate;

        public Stage Phase { get; set; }

        public int Batch { get; private set; }

        /// <param name="gatherFrom">Training step: copy the rows at BatchIndices from here first, and apply SGD with
        /// <paramref name="learningRate"/> after the gradient. Null for a plain gradient.</param>
        public void SetBatch(ReadOnlyMemory<T> x, ReadOnlyMemory<byte> labels, int batch, Memory<T> gradients, Dataset<T>? gatherFrom, T learningRate)
        {
            _x = x;
            _labels = labels;
            Batch = batch;
            _gradients = gradients;
            _gatherFrom = gatherFrom;
            _learningRate = learningRate;
        }

        public void Execute(int worker, int workerCount)
        {
            if (Phase == Stage.Rows)
            {
                Rows(worker, workerCount);
            }
            else
            {
                Weights(worker, workerCount);
            }
        }

        private void Rows(int worker, int workerCount)
        {
            NetworkShape shape = network.Shape;
            Workspace<T> ws = network.Workspace;
            IsaPath isa = network.Isa;
            int input = shape.InputSize, hiddenSize = shape.HiddenSize, output = shape.OutputSize;
            ReadOnlySpan<T> xAll = _x.Span;
            ReadOnlySpan<byte> labelsAll = _labels.Span;
            if (_gatherFrom is { } train)
            {
                // Every worker normalizes the whole batch into its own copy (see Workspace.WorkerBatchImages),
                // even one with no rows here: the weights phase reads every row of it. (Skipping this for a
                // worker without rows left it computing dW1 from an earlier batch whenever the workers
                // outnumbered the batch's row blocks.)
                Span<T> images = ws.WorkerBatchImages(worker);
                Span<byte> batchLabels = ws.WorkerBatchLabels(worker);
                train.Gather(isa, ws.BatchIndices[..Batch], images, batchLabels);
                xAll = images;
                labelsAll = batchLabels;
            }

            (int r0, int r1) = Partition.Range(Batch, worker, workerCount, Tuning.RowAlignment);
            int rows = r1 - r0;
            if (rows == 0)
            {
                return;
            }

            ReadOnlySpan<T> p = network.Parameters;
            ReadOnlySpan<T> x = xAll.Slice(r0 * input, rows * input);                   // [rows, in]
            ReadOnlySpan<byte> labels = labelsAll.Slice(r0, rows);                       // [rows]
            Span<T> hidden = ws.Hidden.Slice(r0 * hiddenSize, rows * hiddenSize);        // [rows, hidden]
            Span<T> logits = ws.Logits.Slice(r0 * output, rows * output);                // [rows, out]
            Span<T> dLogits = ws.OutputGradient.Slice(r0 * output, rows * output);       // [rows, out]
            Span<T> dHidden = ws.HiddenGradient.Slice(r0 * hiddenSize, rows * hiddenSize); // [rows, hidden]

            network.ForwardHidden(p, x, rows, hidden);
            network.ForwardLogits(p, hidden, rows, logits);
            SoftmaxCrossEntropy.ForwardBackward(isa, logits, labels, rows, output, Batch, ws.RowLosses.Slice(r0, rows), dLogits);
            GemmNT.Multiply(isa, dLogits, shape.W2(p), rows, output, hiddenSize, dHidden);
            if (network.Activation == Activation.Sigmoid)
            {
                Sigmoid.Backward<T>(isa, hidden, dHidden, dHidden);
            }
            else
            {
                Relu.Backward<T>(isa, hidden, dHidden, dHidden);
            }
        }

        private void Weights(int worker, int workerCount)
        {
            NetworkShape shape = network.Shape;
            Workspace<T> ws = network.Workspace;
            IsaPath isa = network.Isa;
            int input = shape.InputSize, hiddenSize = shape.HiddenSize, output = shape.OutputSize, batch = Batch;
            Span<T> gradients = _gradients.Span;
            bool update = _gatherFrom is not null;

            // The last worker's range runs past the real rows by the small work it also does.
            (int i0, int i1) = Partition.Range(input + Tuning.SmallWeightWorkRows, worker, workerCount, Tuning.RowAlignment);
            i1 = Math.Min(i1, input);
            ReadOnlySpan<T> x = update ? ws.WorkerBatchImages(worker) : _x.Span;
            if (update && _gatherFrom is { } train)
            {
                // The next batch's images this worker will normalize: on their way while this phase computes.
                foreach (int index in ws.NextBatchIndices[..batch])
                {
                    train.Prefetch(index);
                }
            }

            if (i1 > i0)
            {
                Span<T> dW1Rows = shape.W1(gradients).Slice(i0 * hiddenSize, (i1 - i0) * hiddenSize);
                GemmTN.Multiply(isa, x[i0..], input, ws.HiddenGradient[..(batch * hiddenSize)], i1 - i0, batch, hiddenSize, dW1Rows);
                if (update)
                {
                    SgdUpdate.Apply(isa, dW1Rows, _learningRate, shape.W1(network.Parameters).Slice(i0 * hiddenSize, (i1 - i0) * hiddenSize));
                }
            }

            if (worker == workerCount - 1)
            {
                ReadOnlySpan<T> dLogits = ws.OutputGradient[..(batch * output)];
                GemmTN.Multiply(isa, ws.Hidden[..(batch * hiddenSize)], hiddenSize, dLogits, hiddenSize, batch, output, shape.W2(gradients));
                ColumnSums.Compute(isa, dLogits, batch, output, shape.B2(gradients));
                ColumnSums.Compute(isa, ws.HiddenGradient, batch, hiddenSize, shape.B1(gradients));
                if (update)
                {
                    // b1 | W2 | b2 are contiguous: one update for the three.
                    int start = shape.B1Offset;
                    SgdUpdate.Apply(isa, gradients[start..shape.ParameterCount], _learningRate, network.Parameters[start..shape.ParameterCount]);
                }
            }
        }
    }
}
