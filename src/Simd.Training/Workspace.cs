using CommunityToolkit.HighPerformance;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Simd.Training;

/// <summary>
/// Every buffer the training loop, the gradients, the optimizer and the evaluation use, carved out of
/// one pinned allocation made at construction (llm.c style), each view starting on a 64-byte boundary
/// so vector loads never split a cache line at a row start. Nothing is allocated after this.
/// Its parts are what the network's layers ask for (<see cref="WorkspaceNeeds"/>): buffer nodes (a layer's output, which
/// the in-place layers after it share), batch normalization's statistics, what a layer keeps per image from forward to
/// backward, a convolution's per row block weight gradients, and each worker's scratch.
/// Shapes: B = max batch, P = parameters, n_0 = an image's values, W = the widest buffer node.
/// </summary>
public sealed class Workspace<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Alignment of every view, in bytes: one cache line, one AVX-512 vector.</summary>
    public const int AlignmentBytes = 64;

    private readonly T[] _buffer;
    private readonly byte[] _batchLabels;
    private readonly byte[][] _workerBatchLabels;
    private readonly int[] _batchIndices;
    private readonly int[] _nextBatchIndices;
    private readonly Layout _layout;

    /// <summary>A workspace for a fully connected network of <paramref name="shape"/> (its activation and dropout take no buffers).</summary>
    public Workspace(NetworkShape shape, int maxBatch, int workerCount, int evaluationChunkRows)
        : this(WorkspaceNeeds.Of(shape.Stack ?? Layers.LayerStack.FullyConnected(shape.InputSize, shape.HiddenSizes, shape.OutputSize, Activation.Sigmoid, shape.BatchNorm)),
            maxBatch, workerCount, evaluationChunkRows, rowBlock: 1)
    {
    }

    /// <exception cref="ArgumentException">The sizes are not positive, or the buffers would not fit in one
    /// array (<see cref="MaxElements"/>): checked before anything is allocated.</exception>
    /// <param name="rowBlock">Images per row block of a training step (a layer's partial sums are kept per block).</param>
    public Workspace(WorkspaceNeeds needs, int maxBatch, int workerCount, int evaluationChunkRows, int rowBlock)
    {
        ArgumentNullException.ThrowIfNull(needs);
        if (typeof(T) != typeof(float) && typeof(T) != typeof(double))
        {
            throw new NotSupportedException($"element type {typeof(T).Name}: the kernels support float and double");
        }

        _layout = Plan(needs, maxBatch, workerCount, evaluationChunkRows, rowBlock);
        if (_layout.Length > MaxElements)
        {
            throw new ArgumentException(
                $"a {needs.Shape} network with a batch of {maxBatch} and {workerCount} workers needs {_layout.Length:N0} values of buffers, more than one array holds ({MaxElements:N0})");
        }

        Needs = needs;
        Shape = needs.Shape;
        MaxBatch = maxBatch;
        WorkerCount = workerCount;
        EvaluationChunkRows = evaluationChunkRows;
        int b = maxBatch;
        _buffer = GC.AllocateArray<T>((int)(_layout.Length + (AlignmentBytes / Unsafe.SizeOf<T>())), pinned: true);
        BaseOffset = AlignedStart(_buffer);
        _batchLabels = GC.AllocateArray<byte>(b, pinned: true);
        _batchIndices = GC.AllocateArray<int>(b, pinned: true);
        _nextBatchIndices = GC.AllocateArray<int>(b, pinned: true);
        _workerBatchLabels = new byte[workerCount][];
        for (int w = 0; w < workerCount; w++)
        {
            // Padded to a cache line each, so two workers never write the same line.
            _workerBatchLabels[w] = GC.AllocateArray<byte>(b + AlignmentBytes, pinned: true);
        }
    }

    /// <summary>The most values the one buffer can hold (one .NET array, less the alignment padding).</summary>
    public static long MaxElements => Array.MaxLength - (AlignmentBytes / Unsafe.SizeOf<T>());

    public NetworkShape Shape { get; }

    /// <summary>What the layers asked for.</summary>
    public WorkspaceNeeds Needs { get; }

    public int MaxBatch { get; }

    public int WorkerCount { get; }

    public int EvaluationChunkRows { get; }

    /// <summary>Total bytes held (for <c>simd info</c>-style reporting).</summary>
    public long Bytes =>
        ((long)_buffer.Length * Unsafe.SizeOf<T>())
        + _batchLabels.Length
        + ((long)(_batchIndices.Length + _nextBatchIndices.Length) * sizeof(int))
        + _workerBatchLabels.Sum(labels => (long)labels.Length);

    private int BaseOffset { get; }

    /// <summary>
    /// The values the buffer of a workspace of these sizes holds, computed without allocating: what a
    /// caller checks against <see cref="MaxElements"/> and the memory it has before building one. Counted for row blocks
    /// of one image, the most partial sums any ISA path keeps (for the book's convnet 270 KB more than the 512-bit path's).
    /// </summary>
    public static long RequiredElements(WorkspaceNeeds needs, int maxBatch, int workerCount, int evaluationChunkRows) =>
        Plan(needs, maxBatch, workerCount, evaluationChunkRows, rowBlock: 1).Length;

    /// <summary>Bytes a workspace of these sizes holds: the buffer plus the small per-batch arrays.</summary>
    public static long RequiredBytes(WorkspaceNeeds needs, int maxBatch, int workerCount, int evaluationChunkRows) =>
        (RequiredElements(needs, maxBatch, workerCount, evaluationChunkRows) * Unsafe.SizeOf<T>())
        + (3L * maxBatch * sizeof(int)) + ((long)workerCount * (maxBatch + AlignmentBytes));

    /// <summary>All parameters, [P], in the book's order: W1 | b1 | W2 | b2 | ... (see <see cref="NetworkShape"/>).</summary>
    public Span<T> Parameters => View(_layout.Parameters);

    /// <summary>Gradients, [P], in the layout of <see cref="Parameters"/>.</summary>
    public Span<T> Gradients => View(_layout.Gradients);

    /// <summary>The optimizer's first state, [P]: Momentum's and Nesterov's v, AdaGrad's and RMSprop's h, Adam's m.</summary>
    public Span<T> OptimizerState1 => View(_layout.State1);

    /// <summary>The optimizer's second state, [P]: Adam's v.</summary>
    public Span<T> OptimizerState2 => View(_layout.State2);

    /// <summary>The current batch's images, [B, n_0].</summary>
    public Span<T> BatchImages => View(_layout.BatchImages);

    /// <summary>The current batch's labels, [B].</summary>
    public Span<byte> BatchLabels => _batchLabels;

    /// <summary><see cref="BatchImages"/>, for work handed to other threads.</summary>
    public Memory<T> BatchImagesMemory => MemoryView(_layout.BatchImages);

    /// <summary><see cref="BatchLabels"/>, for work handed to other threads.</summary>
    public Memory<byte> BatchLabelsMemory => _batchLabels;

    /// <summary><see cref="Gradients"/>, for work handed to other threads.</summary>
    public Memory<T> GradientsMemory => MemoryView(_layout.Gradients);

    /// <summary>The current batch's sample indices into the training set, [B].</summary>
    public Span<int> BatchIndices => _batchIndices;

    /// <summary>The next batch's sample indices, drawn a step ahead so its images can be prefetched, [B].</summary>
    public Span<int> NextBatchIndices => _nextBatchIndices;

    /// <summary>
    /// The values of buffer node <paramref name="node"/> (1 and up; 0 is the images), [B, its length]: the output of a layer
    /// that is not in place, which the in-place layers after it (batch normalization, activation, dropout) overwrite.
    /// </summary>
    public Span2D<T> NodeValues(int node) => View(_layout.NodeValues[node]).AsSpan2D(MaxBatch, (int)Needs.NodeLengths[node]);

    /// <summary>The loss's gradient at <see cref="NodeValues"/> (after the backward pass: at the first layer that wrote the node), [B, its length].</summary>
    public Span2D<T> NodeGradients(int node) => View(_layout.NodeGradients[node]).AsSpan2D(MaxBatch, (int)Needs.NodeLengths[node]);

    /// <summary>
    /// The output buffer of weight layer <paramref name="layer"/> (0-based), [B, its output per image]: an Affine's first
    /// holds Z = A·W + b, which batch normalization, the activation and dropout then overwrite in place (a phase later
    /// when batch normalization needs the whole batch's statistics first), the last layer's the logits; a fused
    /// convolution's holds its pooled output.
    /// </summary>
    public Span2D<T> Activations(int layer) => NodeValues(Needs.WeightLayerNodes[layer]);

    /// <summary>dZ of weight layer <paramref name="layer"/>: the loss's gradient at its output, before any layer after it, [B, n_(layer+1)].</summary>
    public Span2D<T> LayerGradients(int layer) => NodeGradients(Needs.WeightLayerNodes[layer]);

    /// <summary>Layer <paramref name="layer"/>'s state kept from forward to backward in a training step, [B, its saved length per image].</summary>
    public Span<T> Saved(int layer) => View(_layout.Saved[layer]);

    /// <summary>Layer <paramref name="layer"/>'s per row block weight gradients, [row blocks, its partial length].</summary>
    public Span<T> Partials(int layer) => View(_layout.Partials[layer]);

    /// <summary>Worker <paramref name="worker"/>'s state of layer <paramref name="layer"/> for passes that need no backward (inference, the numerical gradient), [rows, saved per image].</summary>
    public Span<T> WorkerSaved(int worker, int layer) => View(_layout.Workers[worker].Saved[layer]);

    /// <summary>Worker <paramref name="worker"/>'s scratch for layer <paramref name="layer"/> (column matrices of a convolution).</summary>
    public Span<T> WorkerLayerScratch(int worker, int layer) => View(_layout.Workers[worker].LayerScratch[layer]);

    /// <summary>Batch normalization number <paramref name="layer"/> of the stack (its ordinal): x̂ of the batch, [B, n] for its n features.</summary>
    public Span2D<T> Normalized(int layer) => View(_layout.Normalized[layer]).AsSpan2D(MaxBatch, (int)(_layout.Normalized[layer].Length / MaxBatch));

    /// <summary>Batch normalization: the batch's σ = √(var + 10e-7) per feature, [n].</summary>
    public Span<T> BatchStd(int layer) => View(_layout.BatchStd[layer]);

    /// <summary>Batch normalization: the running mean per feature (momentum 0.9), [n]; inference normalizes with it.</summary>
    public Span<T> RunningMean(int layer) => View(_layout.RunningMean[layer]);

    /// <summary>Batch normalization: the running variance per feature, [n].</summary>
    public Span<T> RunningVariance(int layer) => View(_layout.RunningVariance[layer]);

    /// <summary>Per-row losses, [B], summed in row order into the batch loss.</summary>
    public Span<T> RowLosses => View(_layout.RowLosses);

    /// <summary>
    /// Worker <paramref name="worker"/>'s own copy of the whole batch, [B, n_0]: every worker normalizes all
    /// the images itself, so the weight-gradient phase, which needs every row, reads only its own cache
    /// (a row another core wrote costs more to fetch than to normalize again).
    /// </summary>
    public Span<T> WorkerBatchImages(int worker) => View(_layout.Workers[worker].BatchImages);

    /// <summary>Worker <paramref name="worker"/>'s own copy of the batch's labels, [B].</summary>
    public Span<byte> WorkerBatchLabels(int worker) => _workerBatchLabels[worker].AsSpan(0, MaxBatch);

    /// <summary>Worker <paramref name="worker"/>'s evaluation images, normalized, [chunk, n_0].</summary>
    public Span<T> WorkerImages(int worker) => View(_layout.Workers[worker].Images);

    /// <summary>Worker <paramref name="worker"/>'s private parameter copy, [P].</summary>
    public Span<T> WorkerParameters(int worker) => View(_layout.Workers[worker].Parameters);

    /// <summary>Worker <paramref name="worker"/>'s two ping-pong node buffers, [max(B, chunk), widest node] each.</summary>
    public Span<T> WorkerScratch(int worker, int which) => View(which == 0 ? _layout.Workers[worker].ScratchA : _layout.Workers[worker].ScratchB);

    /// <summary>Worker <paramref name="worker"/>'s per-row losses, [max(B, chunk)].</summary>
    public Span<T> WorkerRowLosses(int worker) => View(_layout.Workers[worker].RowLosses);

    /// <summary>True when <paramref name="span"/> starts on a 64-byte boundary (tests check every view).</summary>
    public static unsafe bool IsAligned(Span<T> span) =>
        ((nint)Unsafe.AsPointer(ref MemoryMarshal.GetReference(span)) & (AlignmentBytes - 1)) == 0;

    private Span<T> View(Segment s) => _buffer.AsSpan(BaseOffset + (int)s.Offset, (int)s.Length);

    private Memory<T> MemoryView(Segment s) => _buffer.AsMemory(BaseOffset + (int)s.Offset, (int)s.Length);

    /// <summary>Where every view goes, in values from the aligned start; nothing allocated but this plan.</summary>
    private static Layout Plan(WorkspaceNeeds needs, int maxBatch, int workerCount, int evaluationChunkRows, int rowBlock)
    {
        ArgumentNullException.ThrowIfNull(needs);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatch, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(workerCount, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(evaluationChunkRows, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(rowBlock, 1);
        long p = needs.Shape.ParameterCount, b = maxBatch, input = needs.Shape.InputSize, widest = needs.NodeLengths.Skip(1).DefaultIfEmpty(1).Max();
        long scratchRows = Math.Max(b, evaluationChunkRows);
        long rowBlocks = (b + rowBlock - 1) / rowBlock;
        int layers = needs.SavedPerImage.Count;
        var layout = new Layout();
        layout.Parameters = layout.Take(p);          // [P]          W1 | b1 | W2 | b2 | ...
        layout.Gradients = layout.Take(p);           // [P]          same layout
        layout.State1 = layout.Take(p);              // [P]          optimizer state (v, h or m)
        layout.State2 = layout.Take(p);              // [P]          Adam's v
        layout.BatchImages = layout.Take(b * input); // [B, n_0]
        layout.NodeValues = new Segment[needs.NodeLengths.Count];
        layout.NodeGradients = new Segment[needs.NodeLengths.Count];
        for (int node = 1; node < needs.NodeLengths.Count; node++)
        {
            layout.NodeValues[node] = layout.Take(b * needs.NodeLengths[node]);    // [B, n]  a layer's output, then those in place after it
            layout.NodeGradients[node] = layout.Take(b * needs.NodeLengths[node]); // [B, n]  the gradient there
        }

        int normalizations = needs.BatchNormLengths.Count;
        layout.Normalized = new Segment[normalizations];
        layout.BatchStd = new Segment[normalizations];
        layout.RunningMean = new Segment[normalizations];
        layout.RunningVariance = new Segment[normalizations];
        for (int l = 0; l < normalizations; l++)
        {
            int n = needs.BatchNormLengths[l];
            layout.Normalized[l] = layout.Take(b * n);      // [B, n]  x̂ = (Z − μ) / σ
            layout.BatchStd[l] = layout.Take(n);            // [n]     σ = √(var + 10e-7) of the batch
            layout.RunningMean[l] = layout.Take(n);         // [n]     for inference
            layout.RunningVariance[l] = layout.Take(n);     // [n]
        }

        layout.Saved = new Segment[layers];
        layout.Partials = new Segment[layers];
        for (int l = 0; l < layers; l++)
        {
            layout.Saved[l] = layout.Take(b * needs.SavedPerImage[l]);          // [B, s]  e.g. a pooling's argmax
            layout.Partials[l] = layout.Take(rowBlocks * needs.PartialLengths[l]); // [row blocks, dW + db]  a convolution's
        }

        layout.RowLosses = layout.Take(b);           // [B]
        layout.Workers = new WorkerSegments[workerCount];
        for (int w = 0; w < workerCount; w++)
        {
            layout.Workers[w] = new WorkerSegments(
                BatchImages: layout.Take(b * input),                    // [B, n_0]  this worker's own copy of the whole batch
                Images: layout.Take(evaluationChunkRows * input),       // [chunk, n_0]  normalized images to evaluate
                Parameters: layout.Take(p),                             // [P]  a private copy to perturb
                ScratchA: layout.Take(scratchRows * widest),            // [rows, W]  one node's values
                ScratchB: layout.Take(scratchRows * widest),            // [rows, W]  the next one's
                RowLosses: layout.Take(scratchRows),                    // [rows]
                Saved: [.. needs.SavedPerImage.Select(s => layout.Take(scratchRows * s))],        // [rows, s] per layer
                LayerScratch: [.. needs.WorkerScratch.Select(length => layout.Take(length))]);    // per layer
        }

        return layout;
    }

    private static unsafe int AlignedStart(T[] pinned)
    {
        nint address = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(pinned));
        int misalignment = (int)(address & (AlignmentBytes - 1));
        return misalignment == 0 ? 0 : (AlignmentBytes - misalignment) / Unsafe.SizeOf<T>();
    }

    /// <summary>A view's place in the buffer; both fit in an int once the workspace exists (checked against <see cref="MaxElements"/>).</summary>
    private readonly record struct Segment(long Offset, long Length);

    private readonly record struct WorkerSegments(
        Segment BatchImages, Segment Images, Segment Parameters, Segment ScratchA, Segment ScratchB, Segment RowLosses, Segment[] Saved, Segment[] LayerScratch);

    /// <summary>Hands out consecutive segments, each rounded up to whole 64-byte lines, and keeps them.</summary>
    private sealed class Layout
    {
        private static readonly int LineElements = AlignmentBytes / Unsafe.SizeOf<T>();

        public long Length { get; private set; }

        public Segment Parameters { get; set; }

        public Segment Gradients { get; set; }

        public Segment State1 { get; set; }

        public Segment State2 { get; set; }

        public Segment BatchImages { get; set; }

        public Segment[] NodeValues { get; set; } = [];

        public Segment[] NodeGradients { get; set; } = [];

        public Segment[] Saved { get; set; } = [];

        public Segment[] Partials { get; set; } = [];

        public Segment RowLosses { get; set; }

        public Segment[] Normalized { get; set; } = [];

        public Segment[] BatchStd { get; set; } = [];

        public Segment[] RunningMean { get; set; } = [];

        public Segment[] RunningVariance { get; set; } = [];

        public WorkerSegments[] Workers { get; set; } = [];

        public Segment Take(long length)
        {
            var segment = new Segment(Length, length);
            // Saturates instead of overflowing: any length past MaxElements is refused all the same.
            Length = Math.Min(long.MaxValue / 2, Length + ((length + LineElements - 1) / LineElements * LineElements));
            return segment;
        }
    }
}

/// <summary>
/// What a network's layers need of a <see cref="Workspace{T}"/>: the length per image of each buffer node (node 0: the
/// images), the features of each batch normalization, and per layer the state it keeps per image, its row blocks'
/// partial weight gradients and a worker's scratch. Computed from the layers alone, so a command can size a network's
/// memory before building it.
/// </summary>
public sealed record WorkspaceNeeds(
    NetworkShape Shape,
    IReadOnlyList<long> NodeLengths,
    IReadOnlyList<int> WeightLayerNodes,
    IReadOnlyList<int> BatchNormLengths,
    IReadOnlyList<int> SavedPerImage,
    IReadOnlyList<int> PartialLengths,
    IReadOnlyList<long> WorkerScratch)
{
    /// <summary>The needs of <paramref name="stack"/>'s layers (the same for float and double, in values).</summary>
    public static WorkspaceNeeds Of(Layers.LayerStack stack) => Layers.LayerPlan<float>.Build(stack).Needs;
}
