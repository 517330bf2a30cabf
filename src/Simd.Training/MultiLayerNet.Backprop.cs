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
        for (int phase = 0; phase < _backprop.PhaseCount; phase++)
        {
            _backprop.Begin(phase);
            _pool.Run(_backprop);
        }

        T loss = SoftmaxCrossEntropy.Mean<T>(Workspace.RowLosses[.._backprop.Batch]);
        return WeightDecayLambda == 0 ? loss : loss + T.CreateTruncating(0.5 * WeightDecayLambda * _backprop.DecaySquares());
    }

    /// <summary>
    /// Backprop in phases of fixed blocks (two without batch normalization), each computed whole by the worker that claims it, so no
    /// element is written by two workers and each is computed in the same order whatever the thread count:
    /// <list type="number">
    /// <item>Rows: blocks of <see cref="Tuning.RowAlignment"/> images through the forward pass, the softmax
    /// gradient and every dZ — everything that is per image;</item>
    /// <item>Weights: blocks of <see cref="Tuning.WeightBlockRows"/> rows of each W_l (its gradient,
    /// weight decay and update), one block per bias, and one per hidden layer's γ and β.</item>
    /// </list>
    /// With batch normalization the rows phase is cut at every hidden layer by a phase of blocks of
    /// <see cref="Tuning.FeatureBlock"/> features, whose statistics need every row (see <see cref="Phases"/>).
    /// </summary>
    private sealed class BackpropWork : ICompletableWork
    {
        /// <summary>Stamps are kept a cache line apart (16 ints), one per worker.</summary>
        private const int StampStride = 16;

        /// <summary>The row start that marks a weights-phase block of γ and β.</summary>
        private const int GammaBetaBlock = -2;

        private enum PhaseKind
        {
            Rows,
            Weights,
            ForwardRows,
            ForwardFeatures,
            TailRows,
            BackwardFeatures,
            BackwardRows,
        }

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
        private readonly (PhaseKind Kind, int Layer)[] _phases;
        private int _step;
        private bool _weightsPhase;
        private PhaseKind _kind;
        private int _layer;

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

            // γ and β of each hidden layer (batch normalization): their gradients come from the features
            // phases; this block applies the optimizer to both.
            for (int l = 0; shape.BatchNorm && l < shape.LayerCount - 1; l++)
            {
                layers.Add(l);
                starts.Add(GammaBetaBlock);
                ends.Add(GammaBetaBlock);
            }

            _phases = Phases(shape);

            _blockLayer = [.. layers];
            _blockRowStart = [.. starts];
            _blockRowEnd = [.. ends];
            _decaySquares = new double[_blockLayer.Length];
            int rowBlocks = (network.Workspace.MaxBatch + Tuning.RowAlignment - 1) / Tuning.RowAlignment;
            int featureBlocks = (shape.MaxOutputWidth + Tuning.FeatureBlock - 1) / Tuning.FeatureBlock;
            _claims = new BlockClaims(Math.Max(Math.Max(rowBlocks, featureBlocks), _blockLayer.Length));
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

        /// <summary>Phases of a step: rows, weights; with batch normalization, a features phase around every hidden layer.</summary>
        public int PhaseCount => _phases.Length;

        public void Begin(int phase)
        {
            (_kind, _layer) = _phases[phase];
            _weightsPhase = _kind == PhaseKind.Weights;
            int blocks = _kind switch
            {
                PhaseKind.Weights => _blockLayer.Length,
                PhaseKind.ForwardFeatures or PhaseKind.BackwardFeatures =>
                    (_network.Shape.OutputsOf(_layer) + Tuning.FeatureBlock - 1) / Tuning.FeatureBlock,
                _ => (Batch + Tuning.RowAlignment - 1) / Tuning.RowAlignment,
            };
            _claims.Begin(blocks);
        }

        /// <summary>
        /// Without batch normalization: all rows work, then the weights. With it, the batch statistics of each
        /// hidden layer need every row, so the rows work is cut at each: forward rows of layer 0, its features
        /// (normalize), forward rows of layer 1 (activate layer 0, then affine), ..., the tail rows (the last
        /// activation, the output, softmax, the first dY), then back: features of the last hidden layer (dZ,
        /// dγ, dβ), rows (dY of the layer below), ..., features of layer 0, and the weights.
        /// </summary>
        private static (PhaseKind, int)[] Phases(NetworkShape shape)
        {
            if (!shape.BatchNorm || shape.LayerCount == 1)
            {
                return [(PhaseKind.Rows, 0), (PhaseKind.Weights, 0)];
            }

            int hidden = shape.LayerCount - 1;
            var phases = new List<(PhaseKind, int)>();
            for (int l = 0; l < hidden; l++)
            {
                phases.Add((PhaseKind.ForwardRows, l));
                phases.Add((PhaseKind.ForwardFeatures, l));
            }

            phases.Add((PhaseKind.TailRows, hidden));
            for (int l = hidden - 1; l >= 0; l--)
            {
                phases.Add((PhaseKind.BackwardFeatures, l));
                if (l > 0)
                {
                    phases.Add((PhaseKind.BackwardRows, l));
                }
            }

            phases.Add((PhaseKind.Weights, 0));
            return [.. phases];
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
                switch (_kind)
                {
                    case PhaseKind.Weights:
                        for (int b = block, end = block + blocks; b < end;)
                        {
                            int group = SameLayerRun(b, end);
                            Weights(b, group, worker);
                            b += group;
                        }

                        break;
                    case PhaseKind.Rows:
                        Rows(block, blocks, worker);
                        break;
                    case PhaseKind.ForwardFeatures:
                    case PhaseKind.BackwardFeatures:
                        Features(block, blocks);
                        break;
                    default:
                        NormalizedRows(block, blocks, worker);
                        break;
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

        /// <summary>The rows phases of a network with batch normalization (see <see cref="Phases"/>).</summary>
        private void NormalizedRows(int block, int blocks, int worker)
        {
            MultiLayerNet<T> net = _network;
            NetworkShape shape = net.Shape;
            Workspace<T> ws = net.Workspace;
            int r0 = block * Tuning.RowAlignment;
            int rows = Math.Min(Batch, r0 + (blocks * Tuning.RowAlignment)) - r0;
            ReadOnlySpan<T> p = net.Parameters;
            int l = _layer, last = shape.LayerCount - 1;
            switch (_kind)
            {
                case PhaseKind.ForwardRows:
                case PhaseKind.TailRows:
                {
                    ReadOnlySpan2D<T> input;
                    if (l == 0)
                    {
                        input = ImagesOf(worker).Rows(r0, rows);
                    }
                    else
                    {
                        Span2D<T> below = ws.Activations(l - 1).Rows(r0, rows); // Y of the layer below, normalized
                        net.ActivateRows(l - 1, below, r0);
                        input = below;
                    }

                    Span2D<T> z = ws.Activations(l).Rows(r0, rows);
                    net.Affine(p, l, input, z);
                    if (_kind == PhaseKind.TailRows)
                    {
                        ReadOnlySpan<byte> labels = LabelsOf(worker);
                        Span2D<T> dLogits = ws.LayerGradients(last).Rows(r0, rows);
                        SoftmaxCrossEntropy.ForwardBackward(net.Isa, z.Flat(), labels.Slice(r0, rows), rows, shape.OutputSize, Batch, ws.RowLosses.Slice(r0, rows), dLogits.Flat());
                        net.BackwardThroughActivation(p, last, dLogits, ws.Activations(last - 1).Rows(r0, rows), ws.LayerGradients(last - 1).Rows(r0, rows));
                    }

                    break;
                }

                default: // BackwardRows: dY of layer l − 1 from dZ of layer l
                    net.BackwardThroughActivation(p, l, ws.LayerGradients(l).Rows(r0, rows), ws.Activations(l - 1).Rows(r0, rows), ws.LayerGradients(l - 1).Rows(r0, rows));
                    break;
            }
        }

        /// <summary>Blocks of <see cref="Tuning.FeatureBlock"/> features of hidden layer <see cref="_layer"/>: batch normalization forward or backward.</summary>
        private void Features(int block, int blocks)
        {
            MultiLayerNet<T> net = _network;
            NetworkShape shape = net.Shape;
            Workspace<T> ws = net.Workspace;
            int l = _layer, n = shape.OutputsOf(l);
            int j0 = block * Tuning.FeatureBlock, j1 = Math.Min(n, (block + blocks) * Tuning.FeatureBlock);
            ReadOnlySpan<T> gamma = net.Parameters.Slice(shape.GammaOffset(l), n);
            if (_kind == PhaseKind.ForwardFeatures)
            {
                ReadOnlySpan<T> beta = net.Parameters.Slice(shape.BetaOffset(l), n);
                BatchNorm.ForwardTraining(net.Isa, ws.Activations(l).Rows(0, Batch).Flat(), Batch, n, j0, j1, gamma, beta,
                    ws.Normalized(l).Rows(0, Batch).Flat(), ws.BatchStd(l), ws.RunningMean(l), ws.RunningVariance(l), updateRunning: _optimizer is not null);
            }
            else
            {
                Span<T> gradients = _gradients.Span;
                BatchNorm.Backward(net.Isa, ws.LayerGradients(l).Rows(0, Batch).Flat(), ws.Normalized(l).Rows(0, Batch).Flat(), Batch, n, j0, j1, gamma, ws.BatchStd(l),
                    gradients.Slice(shape.GammaOffset(l), n), gradients.Slice(shape.BetaOffset(l), n));
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
            if (_blockRowStart[block] == GammaBetaBlock)
            {
                start = shape.GammaOffset(layer);
                length = 2 * outputs; // γ then β, their gradients already written by the features phase
            }
            else if (_blockRowStart[block] < 0)
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
