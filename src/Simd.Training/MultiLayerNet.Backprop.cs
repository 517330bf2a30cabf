using CommunityToolkit.HighPerformance;
using Simd.Kernels;
using Simd.Training.Layers;

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

    /// <summary>The phases in order; the loss summed in row order, the decay term in block order.</summary>
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
    /// Backprop in phases of fixed blocks, each computed whole by the worker that claims it, so no element is written by
    /// two workers and each is computed in the same order whatever the thread count (see <see cref="Phases"/>):
    /// <list type="number">
    /// <item>Rows: blocks of <see cref="RowBlock"/> images through the forward pass, the softmax gradient and
    /// the backward pass — everything that is per image (a convolution also adds up its row block's weight gradients);</item>
    /// <item>Weights: every layer's weight blocks (rows of an Affine's W, a whole convolution's W, each b, each γ and β):
    /// their gradient, weight decay and update.</item>
    /// </list>
    /// Batch normalization couples the images, so its forward and backward are phases of blocks of
    /// <see cref="Tuning.FeatureBlock"/> features that cut the rows work.
    /// </summary>
    private sealed class BackpropWork : ICompletableWork
    {
        /// <summary>Stamps are kept a cache line apart (16 ints), one per worker.</summary>
        private const int StampStride = 16;

        private enum PhaseKind
        {
            Rows,
            ForwardFeatures,
            BackwardFeatures,
            Weights,
        }

        /// <summary>
        /// One phase: a rows phase runs layers [ForwardFrom, ForwardTo) forward, then the loss when <see cref="Loss"/>,
        /// then layers BackwardFrom down to BackwardTo backward (none when BackwardFrom &lt; BackwardTo); a features
        /// phase runs the batch normalization <see cref="Layer"/>.
        /// </summary>
        private readonly record struct Phase(PhaseKind Kind, int Layer = -1, int ForwardFrom = 0, int ForwardTo = 0, bool Loss = false, int BackwardFrom = -1, int BackwardTo = 0);

        private readonly MultiLayerNet<T> _network;
        private readonly IReadOnlyList<Layer<T>> _layers;
        private readonly BlockClaims _claims;
        private readonly WeightBlock[] _blocks;  // the weights phase's blocks, large first
        private readonly double[] _decaySquares; // [blocks] Σ W² of the block's rows before the update
        private readonly int[] _batchStamps;     // [workers * StampStride] the step whose batch each worker's copy holds
        private readonly int[] _prefetchStamps;
        private readonly Phase[] _phases;
        private ReadOnlyMemory<T> _x;
        private ReadOnlyMemory<byte> _labels;
        private Memory<T> _gradients;
        private Dataset<T>? _gatherFrom;
        private OptimizerSettings? _optimizer;
        private int _step;
        private Phase _phase;

        public BackpropWork(MultiLayerNet<T> network)
        {
            _network = network;
            _layers = network.Plan.Layers;
            // The large blocks first, the biases and γβ last: small blocks that fill the gaps once the large ones are claimed.
            _blocks = [.. _layers.SelectMany((layer, index) => layer.WeightBlocks(index)).OrderBy(block => block.Kind)];
            _phases = Phases(_layers);
            _decaySquares = new double[_blocks.Length];
            int rowBlocks = network.RowBlocks(network.Workspace.MaxBatch);
            int widestNormalization = _layers.Where(l => l.Coupling == Coupling.PerFeature).Select(l => l.OutputLength).DefaultIfEmpty(0).Max();
            int featureBlocks = (widestNormalization + Tuning.FeatureBlock - 1) / Tuning.FeatureBlock;
            _claims = new BlockClaims(Math.Max(Math.Max(rowBlocks, featureBlocks), _blocks.Length));
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

        /// <summary>Phases of a step: rows, weights; with batch normalization, features phases cut the rows work.</summary>
        public int PhaseCount => _phases.Length;

        public void Begin(int phase)
        {
            _phase = _phases[phase];
            int blocks = _phase.Kind switch
            {
                PhaseKind.Weights => _blocks.Length,
                PhaseKind.ForwardFeatures or PhaseKind.BackwardFeatures =>
                    (_layers[_phase.Layer].OutputLength + Tuning.FeatureBlock - 1) / Tuning.FeatureBlock,
                PhaseKind.Rows => _network.RowBlocks(Batch),
                _ => throw new InvalidOperationException($"phase {_phase.Kind}"),
            };
            _claims.Begin(blocks);
        }

        /// <summary>
        /// Without batch normalization: one rows phase (forward, loss, backward), then the weights. With it, each batch
        /// normalization needs every row's values: rows forward up to it, its features phase, rows forward to the next,
        /// ..., the tail rows (the rest forward, the loss, backward down to the last normalization), then back: its
        /// features phase, the rows between it and the one before (when they have backward work), ..., and the weights.
        /// </summary>
        private static Phase[] Phases(IReadOnlyList<Layer<T>> layers)
        {
            int[] cuts = [.. Enumerable.Range(0, layers.Count).Where(i => layers[i].Coupling == Coupling.PerFeature)];
            var phases = new List<Phase>();
            int from = 0;
            foreach (int cut in cuts)
            {
                if (cut > from)
                {
                    phases.Add(new Phase(PhaseKind.Rows, ForwardFrom: from, ForwardTo: cut));
                }

                phases.Add(new Phase(PhaseKind.ForwardFeatures, Layer: cut));
                from = cut + 1;
            }

            phases.Add(new Phase(PhaseKind.Rows, ForwardFrom: from, ForwardTo: layers.Count, Loss: true, BackwardFrom: layers.Count - 1, BackwardTo: from));
            for (int c = cuts.Length - 1; c >= 0; c--)
            {
                phases.Add(new Phase(PhaseKind.BackwardFeatures, Layer: cuts[c]));
                int below = c == 0 ? 0 : cuts[c - 1] + 1;
                if (Enumerable.Range(below, cuts[c] - below).Any(i => layers[i].HasRowsBackward))
                {
                    phases.Add(new Phase(PhaseKind.Rows, BackwardFrom: cuts[c] - 1, BackwardTo: below));
                }
            }

            phases.Add(new Phase(PhaseKind.Weights));
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
            // A worker's own blocks in few calls: all its rows of the batch in one GEMM per layer, its rows of a W in
            // runs of up to Tuning.WeightRunBlocks (per-element results do not depend on how rows are grouped, so the
            // bits are the same either way).
            for (int block = _claims.NextRun(ref cursor, int.MaxValue, out int blocks); block >= 0; block = _claims.NextRun(ref cursor, int.MaxValue, out blocks))
            {
                switch (_phase.Kind)
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
                        throw new InvalidOperationException($"phase {_phase.Kind}");
                }

                _claims.Complete(blocks);
            }

            if (_phase.Kind == PhaseKind.Weights && _gatherFrom is { } train && _prefetchStamps[worker * StampStride] != _step)
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
        private ReadOnlySpan<T> ImagesOf(int worker) // [B, n_0]
        {
            int inputs = _network.Shape.InputSize;
            if (_gatherFrom is null)
            {
                return _x.Span[..(Batch * inputs)];
            }

            EnsureBatchCopy(worker);
            return _network.Workspace.WorkerBatchImages(worker)[..(Batch * inputs)];
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

        /// <summary>The values of <paramref name="node"/> for <paramref name="rows"/> images from <paramref name="r0"/> (node 0: the images).</summary>
        private Span<T> NodeRows(int node, int r0, int rows, int worker) => node == 0
            ? System.Runtime.InteropServices.MemoryMarshal.CreateSpan(
                ref System.Runtime.InteropServices.MemoryMarshal.GetReference(ImagesOf(worker).Slice(r0 * _network.Shape.InputSize, rows * _network.Shape.InputSize)),
                rows * _network.Shape.InputSize)
            : _network.Workspace.NodeValues(node).Rows(r0, rows).Flat();

        private RowsPass<T> PassFor(int layer, int r0, int rows, int worker)
        {
            MultiLayerNet<T> net = _network;
            int saved = _layers[layer].SavedPerImage;
            return new RowsPass<T>
            {
                Isa = net.Isa, Parameters = net.Parameters, Mode = PassMode.Training, Rows = rows, FirstRow = r0,
                Saved = net.Workspace.Saved(layer).Slice(r0 * saved, rows * saved), Scratch = net.Workspace.WorkerLayerScratch(worker, layer),
                Partials = net.Workspace.Partials(layer), RowBlock = net.RowBlock, DropoutKeys = net.DropoutKeysOf(layer), KeepsChoices = true,
            };
        }

        /// <summary>Row blocks [<paramref name="block"/>, + <paramref name="blocks"/>): the phase's layers forward, the loss, its layers backward.</summary>
        private void Rows(int block, int blocks, int worker)
        {
            MultiLayerNet<T> net = _network;
            Workspace<T> ws = net.Workspace;
            int r0 = block * net.RowBlock;
            int rows = Math.Min(Batch, r0 + (blocks * net.RowBlock)) - r0;
            for (int i = _phase.ForwardFrom; i < _phase.ForwardTo; i++)
            {
                Layer<T> layer = _layers[i];
                RowsPass<T> pass = PassFor(i, r0, rows, worker);
                layer.Forward(ref pass, NodeRows(layer.InputNode, r0, rows, worker), ws.NodeValues(layer.OutputNode).Rows(r0, rows).Flat());
            }

            if (_phase.Loss)
            {
                int logitsNode = _layers[^1].OutputNode, classes = net.Shape.OutputSize;
                ReadOnlySpan<byte> labels = LabelsOf(worker);
                SoftmaxCrossEntropy.ForwardBackward(net.Isa, ws.NodeValues(logitsNode).Rows(r0, rows).Flat(), labels.Slice(r0, rows), rows, classes, Batch,
                    ws.RowLosses.Slice(r0, rows), ws.NodeGradients(logitsNode).Rows(r0, rows).Flat());
            }

            for (int i = _phase.BackwardFrom; i >= _phase.BackwardTo; i--)
            {
                Layer<T> layer = _layers[i];
                if (!layer.HasRowsBackward)
                {
                    continue;
                }

                RowsPass<T> pass = PassFor(i, r0, rows, worker);
                layer.Backward(ref pass, NodeRows(layer.InputNode, r0, rows, worker), ws.NodeValues(layer.OutputNode).Rows(r0, rows).Flat(),
                    ws.NodeGradients(layer.OutputNode).Rows(r0, rows).Flat(),
                    layer.NeedsInputGradient ? ws.NodeGradients(layer.InputNode).Rows(r0, rows).Flat() : default);
            }
        }

        /// <summary>Blocks of <see cref="Tuning.FeatureBlock"/> features of the phase's batch normalization, forward or backward.</summary>
        private void Features(int block, int blocks)
        {
            MultiLayerNet<T> net = _network;
            Layer<T> layer = _layers[_phase.Layer];
            int n = layer.OutputLength;
            int j0 = block * Tuning.FeatureBlock, j1 = Math.Min(n, (block + blocks) * Tuning.FeatureBlock);
            var pass = new FeaturesPass<T>
            {
                Isa = net.Isa, Parameters = net.Parameters, Gradients = _gradients.Span, Batch = Batch,
                Backward = _phase.Kind == PhaseKind.BackwardFeatures, UpdateRunning = _optimizer is not null,
                Values = net.Workspace.NodeValues(layer.OutputNode).Rows(0, Batch).Flat(),
                ValueGradients = net.Workspace.NodeGradients(layer.OutputNode).Rows(0, Batch).Flat(),
            };
            layer.Features(ref pass, j0, j1);
        }

        /// <summary>How many blocks from <paramref name="block"/> (before <paramref name="end"/>, at most <see cref="Tuning.WeightRunBlocks"/>) are consecutive rows of the same W.</summary>
        private int SameLayerRun(int block, int end)
        {
            int run = 1;
            WeightBlock first = _blocks[block];
            while (block + run < end && run < Tuning.WeightRunBlocks && first.Kind == WeightBlockKind.Weights && _blocks[block + run].Layer == first.Layer
                && _blocks[block + run].Kind == WeightBlockKind.Weights && _blocks[block + run].RowStart == _blocks[block + run - 1].RowEnd)
            {
                run++;
            }

            return run;
        }

        /// <summary>
        /// Weight blocks [<paramref name="block"/>, + <paramref name="blocks"/>): consecutive rows of one W (or one
        /// bias, or one γβ): the gradient, weight decay (Σ W² kept per block) and the optimizer's update.
        /// </summary>
        private void Weights(int block, int blocks, int worker)
        {
            MultiLayerNet<T> net = _network;
            Workspace<T> ws = net.Workspace;
            WeightBlock first = _blocks[block], last = _blocks[block + blocks - 1];
            Layer<T> layer = _layers[first.Layer];
            (int start, _) = layer.ParameterSlice(first);
            (int lastStart, int lastLength) = layer.ParameterSlice(last);
            int length = lastStart + lastLength - start;
            Span<T> gradients = _gradients.Span;
            var pass = new WeightsPass<T>
            {
                Isa = net.Isa, Parameters = net.Parameters, Gradients = gradients, Batch = Batch,
                Inputs = first.Kind == WeightBlockKind.Weights && layer.PartialLength == 0 ? NodeRows(layer.InputNode, 0, Batch, worker) : default,
                OutputGradients = first.Kind == WeightBlockKind.ScaleShift ? default : ws.NodeGradients(layer.OutputNode).Rows(0, Batch).Flat(),
                Partials = ws.Partials(first.Layer), RowBlocks = net.RowBlocks(Batch),
            };
            layer.WeightGradient(ref pass, first, last);
            if (first.Kind == WeightBlockKind.Weights && net.WeightDecayLambda != 0)
            {
                ReadOnlySpan<T> w = net.Parameters;
                for (int b = block; b < block + blocks; b++)
                {
                    (int blockStart, int blockLength) = layer.ParameterSlice(_blocks[b]);
                    _decaySquares[b] = WeightDecay.SumOfSquares(w.Slice(blockStart, blockLength));
                }

                WeightDecay.Apply(net.Isa, w.Slice(start, length), T.CreateTruncating(net.WeightDecayLambda), gradients.Slice(start, length));
            }

            if (_optimizer is { } optimizer)
            {
                optimizer.Apply(net.Isa, net.Updates, gradients.Slice(start, length), net.Parameters.Slice(start, length),
                    ws.OptimizerState1.Slice(start, length), ws.OptimizerState2.Slice(start, length));
            }
        }
    }
}
