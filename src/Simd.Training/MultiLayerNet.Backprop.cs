using CommunityToolkit.HighPerformance;
using Simd.Kernels;

namespace Simd.Training;

/// <summary>The book's gradient(x, t) by backpropagation (ch. 5), and the training step built on it.</summary>
public sealed partial class MultiLayerNet<T>
{
    private readonly BackpropWork _backprop;

    /// <summary>
    /// Backprop gradient of the book's loss on the batch, written to <paramref name="gradients"/> (layout of
    /// <see cref="Parameters"/>); returns the batch loss from the same forward pass (with ½λ·ΣW²).
    /// dZ_L = (softmax - t) / B; for each layer from the last: dW_l = A_(l-1)ᵀ·dZ_l (+ λW_l);
    /// db_l = Σ dZ_l; dZ_(l-1) = (dZ_l·W_lᵀ) ⊙ act'(A_(l-1)).
    /// </summary>
    public T Gradient(ReadOnlyMemory<T> x, ReadOnlyMemory<byte> labels, int batch, Memory<T> gradients)
    {
        CheckBatch(x.Length, labels.Length, batch);
        if (gradients.Length < Shape.ParameterCount)
        {
            throw new ArgumentException($"gradients needs {Shape.ParameterCount} elements", nameof(gradients));
        }

        _backprop.SetBatch(x, labels, batch, gradients, null, null);
        return RunBackprop();
    }

    /// <summary>
    /// One step of the book's training loop on the training images at <see cref="Workspace{T}.BatchIndices"/>
    /// (drawn by the caller): the gradient into <see cref="Workspace{T}.Gradients"/>, and the optimizer's
    /// update of each block of weights by the worker that computed its gradient; each worker prefetches
    /// the next batch (<see cref="Workspace{T}.NextBatchIndices"/>). Returns the batch loss (before the
    /// update). Allocates nothing.
    /// </summary>
    public T TrainStep(Dataset<T> train, int batch, OptimizerSettings optimizer)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        if (batch < 1 || batch > Workspace.MaxBatch)
        {
            throw new ArgumentOutOfRangeException(nameof(batch), batch, $"must be in 1..{Workspace.MaxBatch}");
        }

        Updates++;
        DropoutStep = Updates;
        _backprop.SetBatch(default, default, batch, Workspace.GradientsMemory, train, optimizer);
        return RunBackprop();
    }

    /// <summary>Copies the training images at <see cref="Workspace{T}.BatchIndices"/> into the batch buffers (one thread).</summary>
    public void GatherBatch(Dataset<T> train, int batch) =>
        train.Gather(Isa, Workspace.BatchIndices[..batch], Workspace.BatchImages, Workspace.BatchLabels);

    /// <summary>The rows phase, then the weights phase; the loss summed in row order, the decay term in block order.</summary>
    private T RunBackprop()
    {
        _backprop.BeginRows();
        _pool.Run(_backprop);
        _backprop.BeginWeights();
        _pool.Run(_backprop);
        T loss = SoftmaxCrossEntropy.Mean<T>(Workspace.RowLosses[.._backprop.Batch]);
        return WeightDecayLambda == 0 ? loss : loss + T.CreateTruncating(0.5 * WeightDecayLambda * _backprop.DecaySquares());
    }

    /// <summary>
    /// Backprop in two phases of fixed blocks, each computed whole by the worker that claims it, so no
    /// element is written by two workers and each is computed in the same order whatever the thread count:
    /// <list type="number">
    /// <item>Rows: blocks of <see cref="Tuning.RowAlignment"/> images through the forward pass, the softmax
    /// gradient and every dZ — everything that is per image;</item>
    /// <item>Weights: blocks of <see cref="Tuning.WeightBlockRows"/> rows of each W_l (its gradient,
    /// weight decay and update) and one block per bias.</item>
    /// </list>
    /// </summary>
    private sealed class BackpropWork : ICompletableWork
    {
        /// <summary>Stamps are kept a cache line apart (16 ints), one per worker.</summary>
        private const int StampStride = 16;

        private readonly MultiLayerNet<T> _network;
        private readonly BlockClaims _claims;
        private readonly int[] _blockLayer;    // [blocks] the layer of each weight-phase block
        private readonly int[] _blockRowStart; // [blocks] first row of W, or -1 for the layer's bias
        private readonly int[] _blockRowEnd;   // [blocks]
        private readonly double[] _decaySquares; // [blocks] Σ W² of the block's rows before the update
        private readonly int[] _batchStamps;   // [workers * StampStride] the step whose batch each worker's copy holds
        private readonly int[] _prefetchStamps;
        private ReadOnlyMemory<T> _x;
        private ReadOnlyMemory<byte> _labels;
        private Memory<T> _gradients;
        private Dataset<T>? _gatherFrom;
        private OptimizerSettings? _optimizer;
        private int _step;
        private bool _weightsPhase;

        public BackpropWork(MultiLayerNet<T> network)
        {
            _network = network;
            NetworkShape shape = network.Shape;
            var layers = new List<int>();
            var starts = new List<int>();
            var ends = new List<int>();
            for (int l = 0; l < shape.LayerCount; l++)
            {
                for (int row = 0; row < shape.InputsOf(l); row += Tuning.WeightBlockRows)
                {
                    layers.Add(l);
                    starts.Add(row);
                    ends.Add(Math.Min(shape.InputsOf(l), row + Tuning.WeightBlockRows));
                }
            }

            // The biases last: small blocks that fill the gaps once the large ones are claimed.
            for (int l = 0; l < shape.LayerCount; l++)
            {
                layers.Add(l);
                starts.Add(-1);
                ends.Add(-1);
            }

            _blockLayer = [.. layers];
            _blockRowStart = [.. starts];
            _blockRowEnd = [.. ends];
            _decaySquares = new double[_blockLayer.Length];
            int rowBlocks = (network.Workspace.MaxBatch + Tuning.RowAlignment - 1) / Tuning.RowAlignment;
            _claims = new BlockClaims(Math.Max(rowBlocks, _blockLayer.Length));
            _batchStamps = new int[network.Threads * StampStride];
            _prefetchStamps = new int[network.Threads * StampStride];
        }

        public int Batch { get; private set; }

        public bool IsComplete => _claims.IsComplete;

        /// <param name="gatherFrom">Training step: copy the rows at BatchIndices from here first, and apply
        /// <paramref name="optimizer"/> after the gradient. Null for a plain gradient.</param>
        public void SetBatch(ReadOnlyMemory<T> x, ReadOnlyMemory<byte> labels, int batch, Memory<T> gradients, Dataset<T>? gatherFrom, OptimizerSettings? optimizer)
        {
            _x = x;
            _labels = labels;
            Batch = batch;
            _gradients = gradients;
            _gatherFrom = gatherFrom;
            _optimizer = optimizer;
            _step++;
        }

        public void BeginRows()
        {
            _weightsPhase = false;
            _claims.Begin((Batch + Tuning.RowAlignment - 1) / Tuning.RowAlignment);
        }

        public void BeginWeights()
        {
            _weightsPhase = true;
            _claims.Begin(_blockLayer.Length);
        }

        /// <summary>Σ W² over every weight, summed block by block in block order.</summary>
        public double DecaySquares()
        {
            double sum = 0;
            foreach (double squares in _decaySquares)
            {
                sum += squares;
            }

            return sum;
        }

        public void Execute(int worker, int workerCount)
        {
            BlockClaims.Cursor cursor = _claims.Open(worker, workerCount);
            // A worker's own blocks in as few calls as possible: all its rows of the batch in one GEMM per
            // layer, all its rows of a W in one (per-element results do not depend on how rows are grouped,
            // so the bits are the same either way).
            for (int block = _claims.NextRun(ref cursor, int.MaxValue, out int blocks); block >= 0; block = _claims.NextRun(ref cursor, int.MaxValue, out blocks))
            {
                if (_weightsPhase)
                {
                    for (int b = block, end = block + blocks; b < end;)
                    {
                        int group = SameLayerRun(b, end);
                        Weights(b, group, worker);
                        b += group;
                    }
                }
                else
                {
                    Rows(block, blocks, worker);
                }

                _claims.Complete(blocks);
            }

            if (_weightsPhase && _gatherFrom is { } train && _prefetchStamps[worker * StampStride] != _step)
            {
                // The next batch's images, on their way while the other workers finish this step.
                _prefetchStamps[worker * StampStride] = _step;
                foreach (int index in _network.Workspace.NextBatchIndices[..Batch])
                {
                    train.Prefetch(index);
                }
            }
        }

        /// <summary>
        /// The batch this worker computes from: in training its own copy of the whole batch (normalized by
        /// itself once a step, whichever blocks it claims; see Workspace.WorkerBatchImages), else the caller's.
        /// </summary>
        private ReadOnlySpan2D<T> ImagesOf(int worker) // [B, n_0]
        {
            int inputs = _network.Shape.InputSize;
            if (_gatherFrom is null)
            {
                return _x.Span[..(Batch * inputs)].AsSpan2D(Batch, inputs);
            }

            EnsureBatchCopy(worker);
            return ((ReadOnlySpan<T>)_network.Workspace.WorkerBatchImages(worker)[..(Batch * inputs)]).AsSpan2D(Batch, inputs);
        }

        private ReadOnlySpan<byte> LabelsOf(int worker)
        {
            if (_gatherFrom is null)
            {
                return _labels.Span;
            }

            EnsureBatchCopy(worker);
            return _network.Workspace.WorkerBatchLabels(worker);
        }

        private void EnsureBatchCopy(int worker)
        {
            if (_batchStamps[worker * StampStride] != _step)
            {
                Workspace<T> ws = _network.Workspace;
                _gatherFrom!.Gather(_network.Isa, ws.BatchIndices[..Batch], ws.WorkerBatchImages(worker), ws.WorkerBatchLabels(worker));
                _batchStamps[worker * StampStride] = _step;
            }
        }

        /// <summary>Row blocks [<paramref name="block"/>, + <paramref name="blocks"/>): forward, softmax, every dZ.</summary>
        private void Rows(int block, int blocks, int worker)
        {
            MultiLayerNet<T> net = _network;
            NetworkShape shape = net.Shape;
            Workspace<T> ws = net.Workspace;
            int last = shape.LayerCount - 1;
            int r0 = block * Tuning.RowAlignment;
            int rows = Math.Min(Batch, r0 + (blocks * Tuning.RowAlignment)) - r0;
            ReadOnlySpan<byte> labels = LabelsOf(worker);
            ReadOnlySpan<T> p = net.Parameters;

            ReadOnlySpan2D<T> input = ImagesOf(worker).Rows(r0, rows); // [rows, n_0]
            for (int l = 0; l <= last; l++)
            {
                Span2D<T> a = ws.Activations(l).Rows(r0, rows); // [rows, n_(l+1)]
                net.AffineForward(p, l, input, a, r0);
                input = a;
            }

            Span2D<T> dLogits = ws.LayerGradients(last).Rows(r0, rows); // [rows, n_L]
            SoftmaxCrossEntropy.ForwardBackward(net.Isa, input.Flat(), labels.Slice(r0, rows), rows, shape.OutputSize, Batch, ws.RowLosses.Slice(r0, rows), dLogits.Flat());
            for (int l = last; l >= 1; l--)
            {
                net.BackwardThroughActivation(
                    p, l,
                    ws.LayerGradients(l).Rows(r0, rows),      // dZ_l      [rows, n_(l+1)]
                    ws.Activations(l - 1).Rows(r0, rows),     // A_(l-1)   [rows, n_l]
                    ws.LayerGradients(l - 1).Rows(r0, rows)); // dZ_(l-1)  [rows, n_l]
            }
        }

        /// <summary>How many blocks from <paramref name="block"/> (before <paramref name="end"/>) are consecutive rows of the same W.</summary>
        private int SameLayerRun(int block, int end)
        {
            int run = 1;
            while (block + run < end && _blockRowStart[block] >= 0 && _blockLayer[block + run] == _blockLayer[block]
                && _blockRowStart[block + run] == _blockRowEnd[block + run - 1])
            {
                run++;
            }

            return run;
        }

        /// <summary>
        /// Weight blocks [<paramref name="block"/>, + <paramref name="blocks"/>): consecutive rows of one W (or one
        /// bias): the gradient, weight decay (Σ W² kept per block) and the optimizer's update.
        /// </summary>
        private void Weights(int block, int blocks, int worker)
        {
            MultiLayerNet<T> net = _network;
            NetworkShape shape = net.Shape;
            Workspace<T> ws = net.Workspace;
            IsaPath isa = net.Isa;
            int layer = _blockLayer[block], batch = Batch;
            int inputs = shape.InputsOf(layer), outputs = shape.OutputsOf(layer);
            ReadOnlySpan<T> dz = ws.LayerGradients(layer).Rows(0, batch).Flat(); // [B, n_out]
            Span<T> gradients = _gradients.Span;
            int start, length;
            if (_blockRowStart[block] < 0)
            {
                start = shape.BiasOffset(layer);
                length = outputs;
                ColumnSums.Compute(isa, dz, batch, outputs, gradients.Slice(start, length));
            }
            else
            {
                int i0 = _blockRowStart[block], i1 = _blockRowEnd[block + blocks - 1];
                start = shape.WeightOffset(layer) + (i0 * outputs);
                length = (i1 - i0) * outputs;
                ReadOnlySpan<T> previous = (layer == 0 ? ImagesOf(worker) : ws.Activations(layer - 1).Rows(0, batch)).Flat(); // [B, n_in]
                Span<T> dW = gradients.Slice(start, length);                                               // [i1 - i0, n_out]
                GemmTN.Multiply(isa, previous[i0..], inputs, dz, i1 - i0, batch, outputs, dW);
                if (net.WeightDecayLambda != 0)
                {
                    ReadOnlySpan<T> w = net.Parameters.Slice(start, length);
                    for (int b = block; b < block + blocks; b++)
                    {
                        int rowStart = (_blockRowStart[b] - i0) * outputs;
                        _decaySquares[b] = WeightDecay.SumOfSquares(w[rowStart..((_blockRowEnd[b] - i0) * outputs)]);
                    }

                    WeightDecay.Apply(isa, w, T.CreateTruncating(net.WeightDecayLambda), dW);
                }
            }

            if (_optimizer is { } optimizer)
            {
                optimizer.Apply(isa, net.Updates, gradients.Slice(start, length), net.Parameters.Slice(start, length),
                    ws.OptimizerState1.Slice(start, length), ws.OptimizerState2.Slice(start, length));
            }
        }
    }
}
