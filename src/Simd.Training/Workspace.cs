using CommunityToolkit.HighPerformance;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Simd.Training;

/// <summary>
/// Every buffer the training loop, the gradients, the optimizer and the evaluation use, carved out of
/// one pinned allocation made at construction (llm.c style), each view starting on a 64-byte boundary
/// so vector loads never split a cache line at a row start. Nothing is allocated after this.
/// Shapes: B = max batch, P = parameters, n_l = the width of layer l, W = the widest layer output.
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

    /// <exception cref="ArgumentException">The sizes are not positive, or the buffers would not fit in one
    /// array (<see cref="MaxElements"/>): checked before anything is allocated.</exception>
    public Workspace(NetworkShape shape, int maxBatch, int workerCount, int evaluationChunkRows)
    {
        if (typeof(T) != typeof(float) && typeof(T) != typeof(double))
        {
            throw new NotSupportedException($"element type {typeof(T).Name}: the kernels support float and double");
        }

        _layout = Plan(shape, maxBatch, workerCount, evaluationChunkRows);
        if (_layout.Length > MaxElements)
        {
            throw new ArgumentException(
                $"a {shape} network with a batch of {maxBatch} and {workerCount} workers needs {_layout.Length:N0} values of buffers, more than one array holds ({MaxElements:N0})");
        }

        Shape = shape;
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
    /// caller checks against <see cref="MaxElements"/> and the memory it has before building one.
    /// </summary>
    public static long RequiredElements(NetworkShape shape, int maxBatch, int workerCount, int evaluationChunkRows) =>
        Plan(shape, maxBatch, workerCount, evaluationChunkRows).Length;

    /// <summary>Bytes a workspace of these sizes holds: the buffer plus the small per-batch arrays.</summary>
    public static long RequiredBytes(NetworkShape shape, int maxBatch, int workerCount, int evaluationChunkRows) =>
        (RequiredElements(shape, maxBatch, workerCount, evaluationChunkRows) * Unsafe.SizeOf<T>())
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
    /// The output buffer of affine layer <paramref name="layer"/> (0-based), [B, n_(layer+1)]: it first holds Z = A·W + b,
    /// which is normalized (with batch normalization) and activated in place, a phase later when batch normalization
    /// needs the whole batch's statistics first; the last layer's holds the logits.
    /// </summary>
    public Span2D<T> Activations(int layer) => View(_layout.Activations[layer]).AsSpan2D(MaxBatch, Shape.OutputsOf(layer));

    /// <summary>dZ of affine layer <paramref name="layer"/>: the loss's gradient at its pre-activation output, [B, n_(layer+1)].</summary>
    public Span2D<T> LayerGradients(int layer) => View(_layout.LayerGradients[layer]).AsSpan2D(MaxBatch, Shape.OutputsOf(layer));

    /// <summary>Batch normalization of hidden layer <paramref name="layer"/>: x̂ of the batch, [B, n].</summary>
    public Span2D<T> Normalized(int layer) => View(_layout.Normalized[layer]).AsSpan2D(MaxBatch, Shape.OutputsOf(layer));

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

    /// <summary>Worker <paramref name="worker"/>'s two ping-pong layer buffers, [max(B, chunk), W] each.</summary>
    public Span<T> WorkerScratch(int worker, int which) => View(which == 0 ? _layout.Workers[worker].ScratchA : _layout.Workers[worker].ScratchB);

    /// <summary>Worker <paramref name="worker"/>'s per-row losses, [max(B, chunk)].</summary>
    public Span<T> WorkerRowLosses(int worker) => View(_layout.Workers[worker].RowLosses);

    /// <summary>True when <paramref name="span"/> starts on a 64-byte boundary (tests check every view).</summary>
    public static unsafe bool IsAligned(Span<T> span) =>
        ((nint)Unsafe.AsPointer(ref MemoryMarshal.GetReference(span)) & (AlignmentBytes - 1)) == 0;

    private Span<T> View(Segment s) => _buffer.AsSpan(BaseOffset + (int)s.Offset, (int)s.Length);

    private Memory<T> MemoryView(Segment s) => _buffer.AsMemory(BaseOffset + (int)s.Offset, (int)s.Length);

    /// <summary>Where every view goes, in values from the aligned start; nothing allocated but this plan.</summary>
    private static Layout Plan(NetworkShape shape, int maxBatch, int workerCount, int evaluationChunkRows)
    {
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatch, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(workerCount, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(evaluationChunkRows, 1);
        long p = shape.ParameterCount, b = maxBatch, input = shape.InputSize, widest = shape.MaxOutputWidth;
        long scratchRows = Math.Max(b, evaluationChunkRows);
        var layout = new Layout();
        layout.Parameters = layout.Take(p);          // [P]          W1 | b1 | W2 | b2 | ...
        layout.Gradients = layout.Take(p);           // [P]          same layout
        layout.State1 = layout.Take(p);              // [P]          optimizer state (v, h or m)
        layout.State2 = layout.Take(p);              // [P]          Adam's v
        layout.BatchImages = layout.Take(b * input); // [B, n_0]
        layout.Activations = new Segment[shape.LayerCount];
        layout.LayerGradients = new Segment[shape.LayerCount];
        for (int l = 0; l < shape.LayerCount; l++)
        {
            layout.Activations[l] = layout.Take(b * shape.OutputsOf(l));     // [B, n_(l+1)]  act(Z), the last layer's logits
            layout.LayerGradients[l] = layout.Take(b * shape.OutputsOf(l));  // [B, n_(l+1)]  dZ
        }

        int hidden = shape.LayerCount - 1;
        layout.Normalized = new Segment[shape.BatchNorm ? hidden : 0];
        layout.BatchStd = new Segment[shape.BatchNorm ? hidden : 0];
        layout.RunningMean = new Segment[shape.BatchNorm ? hidden : 0];
        layout.RunningVariance = new Segment[shape.BatchNorm ? hidden : 0];
        for (int l = 0; l < layout.Normalized.Length; l++)
        {
            layout.Normalized[l] = layout.Take(b * shape.OutputsOf(l));      // [B, n]  x̂ = (Z − μ) / σ
            layout.BatchStd[l] = layout.Take(shape.OutputsOf(l));            // [n]     σ = √(var + 10e-7) of the batch
            layout.RunningMean[l] = layout.Take(shape.OutputsOf(l));         // [n]     for inference
            layout.RunningVariance[l] = layout.Take(shape.OutputsOf(l));     // [n]
        }

        layout.RowLosses = layout.Take(b);           // [B]
        layout.Workers = new WorkerSegments[workerCount];
        for (int w = 0; w < workerCount; w++)
        {
            layout.Workers[w] = new WorkerSegments(
                BatchImages: layout.Take(b * input),                    // [B, n_0]  this worker's own copy of the whole batch
                Images: layout.Take(evaluationChunkRows * input),       // [chunk, n_0]  normalized images to evaluate
                Parameters: layout.Take(p),                             // [P]  a private copy to perturb
                ScratchA: layout.Take(scratchRows * widest),            // [rows, W]  one layer's output
                ScratchB: layout.Take(scratchRows * widest),            // [rows, W]  the next one's
                RowLosses: layout.Take(scratchRows));                   // [rows]
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

    private readonly record struct WorkerSegments(Segment BatchImages, Segment Images, Segment Parameters, Segment ScratchA, Segment ScratchB, Segment RowLosses);

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

        public Segment[] Activations { get; set; } = [];

        public Segment[] LayerGradients { get; set; } = [];

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
