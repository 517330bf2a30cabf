using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Simd.Training;

/// <summary>
/// Every buffer the training loop, the gradients and the evaluation use, carved out of one pinned
/// allocation made at construction (llm.c style), each view starting on a 64-byte boundary so
/// vector loads never split a cache line at a row start. Nothing is allocated after this.
/// </summary>
public sealed class Workspace<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Alignment of every view, in bytes: one cache line, one AVX-512 vector.</summary>
    public const int AlignmentBytes = 64;

    /// <summary>The most values the one buffer can hold (one .NET array, less the alignment padding).</summary>
    public static long MaxElements => Array.MaxLength - (AlignmentBytes / Unsafe.SizeOf<T>());

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

    private readonly T[] _buffer;
    private readonly byte[] _batchLabels;
    private readonly byte[][] _workerBatchLabels;
    private readonly int[] _batchIndices;
    private readonly int[] _nextBatchIndices;
    private readonly Segment _parameters, _gradients, _batchImages, _hidden, _logits, _outputGradient, _hiddenGradient, _rowLosses;
    private readonly WorkerSegments[] _workers;

    /// <exception cref="ArgumentException">The sizes are not positive, or the buffers would not fit in one
    /// array (<see cref="MaxElements"/>): checked before anything is allocated.</exception>
    public Workspace(NetworkShape shape, int maxBatch, int workerCount, int evaluationChunkRows)
    {
        if (typeof(T) != typeof(float) && typeof(T) != typeof(double))
        {
            throw new NotSupportedException($"element type {typeof(T).Name}: the kernels support float and double");
        }

        Layout layout = Plan(shape, maxBatch, workerCount, evaluationChunkRows);
        if (layout.Length > MaxElements)
        {
            throw new ArgumentException(
                $"a {shape} network with a batch of {maxBatch} and {workerCount} workers needs {layout.Length:N0} values of buffers, more than one array holds ({MaxElements:N0})");
        }

        Shape = shape;
        MaxBatch = maxBatch;
        WorkerCount = workerCount;
        EvaluationChunkRows = evaluationChunkRows;
        (_parameters, _gradients, _batchImages, _hidden, _logits, _outputGradient, _hiddenGradient, _rowLosses) =
            (layout.Parameters, layout.Gradients, layout.BatchImages, layout.Hidden, layout.Logits, layout.OutputGradient, layout.HiddenGradient, layout.RowLosses);
        _workers = layout.Workers;
        int b = maxBatch;
        _buffer = GC.AllocateArray<T>((int)(layout.Length + (AlignmentBytes / Unsafe.SizeOf<T>())), pinned: true);
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

    /// <summary>All parameters, [P]: W1 [in, hidden] | b1 [hidden] | W2 [hidden, out] | b2 [out].</summary>
    public Span<T> Parameters => View(_parameters);

    /// <summary>Gradients, [P], in the layout of <see cref="Parameters"/>.</summary>
    public Span<T> Gradients => View(_gradients);

    /// <summary>The current batch's images, [maxBatch, in].</summary>
    public Span<T> BatchImages => View(_batchImages);

    /// <summary>The current batch's labels, [maxBatch].</summary>
    public Span<byte> BatchLabels => _batchLabels;

    /// <summary><see cref="BatchImages"/>, for work handed to other threads.</summary>
    public Memory<T> BatchImagesMemory => MemoryView(_batchImages);

    /// <summary><see cref="BatchLabels"/>, for work handed to other threads.</summary>
    public Memory<byte> BatchLabelsMemory => _batchLabels;

    /// <summary><see cref="Gradients"/>, for work handed to other threads.</summary>
    public Memory<T> GradientsMemory => MemoryView(_gradients);

    /// <summary>The current batch's sample indices into the training set, [maxBatch].</summary>
    public Span<int> BatchIndices => _batchIndices;

    /// <summary>The next batch's sample indices, drawn a step ahead so its images can be prefetched, [maxBatch].</summary>
    public Span<int> NextBatchIndices => _nextBatchIndices;

    /// <summary>
    /// Worker <paramref name="worker"/>'s own copy of the whole batch, [maxBatch, in]: every worker
    /// normalizes all the images itself, so the weight-gradient phase, which needs every row, reads
    /// only its own cache (a row another core wrote costs more to fetch than to normalize again).
    /// </summary>
    public Span<T> WorkerBatchImages(int worker) => View(_workers[worker].BatchImages);

    /// <summary>Worker <paramref name="worker"/>'s own copy of the batch's labels, [maxBatch].</summary>
    public Span<byte> WorkerBatchLabels(int worker) => _workerBatchLabels[worker].AsSpan(0, MaxBatch);

    /// <summary>Hidden activations A1 = act(X·W1 + b1), [maxBatch, hidden].</summary>
    public Span<T> Hidden => View(_hidden);

    /// <summary>Logits Z2 = A1·W2 + b2, [maxBatch, out].</summary>
    public Span<T> Logits => View(_logits);

    /// <summary>dZ2 = (softmax(Z2) - onehot(t)) / B, [maxBatch, out].</summary>
    public Span<T> OutputGradient => View(_outputGradient);

    /// <summary>dA1 = dZ2·W2ᵀ, then dZ1 = dA1 ⊙ act'(A1) in place, [maxBatch, hidden].</summary>
    public Span<T> HiddenGradient => View(_hiddenGradient);

    /// <summary>Per-row losses, [maxBatch], summed in row order into the batch loss.</summary>
    public Span<T> RowLosses => View(_rowLosses);

    /// <summary>Worker <paramref name="worker"/>'s evaluation images, normalized, [chunk, in].</summary>
    public Span<T> WorkerImages(int worker) => View(_workers[worker].Images);

    /// <summary>Worker <paramref name="worker"/>'s private parameter copy, [P].</summary>
    public Span<T> WorkerParameters(int worker) => View(_workers[worker].Parameters);

    /// <summary>Worker <paramref name="worker"/>'s hidden scratch, [max(maxBatch, chunk), hidden].</summary>
    public Span<T> WorkerHidden(int worker) => View(_workers[worker].Hidden);

    /// <summary>Worker <paramref name="worker"/>'s logits scratch, [max(maxBatch, chunk), out].</summary>
    public Span<T> WorkerLogits(int worker) => View(_workers[worker].Logits);

    /// <summary>Worker <paramref name="worker"/>'s per-row losses, [max(maxBatch, chunk)].</summary>
    public Span<T> WorkerRowLosses(int worker) => View(_workers[worker].RowLosses);

    /// <summary>True when <paramref name="span"/> starts on a 64-byte boundary (tests check every view).</summary>
    public static unsafe bool IsAligned(Span<T> span) =>
        ((nint)Unsafe.AsPointer(ref MemoryMarshal.GetReference(span)) & (AlignmentBytes - 1)) == 0;

    private Span<T> View(Segment s) => _buffer.AsSpan(BaseOffset + (int)s.Offset, (int)s.Length);

    private Memory<T> MemoryView(Segment s) => _buffer.AsMemory(BaseOffset + (int)s.Offset, (int)s.Length);

    /// <summary>Where every view goes, in values from the aligned start; nothing allocated but this plan.</summary>
    private static Layout Plan(NetworkShape shape, int maxBatch, int workerCount, int evaluationChunkRows)
    {
        shape.Validate();
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatch, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(workerCount, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(evaluationChunkRows, 1);
        long p = shape.ParameterCount, b = maxBatch, h = shape.HiddenSize, o = shape.OutputSize, input = shape.InputSize;
        long scratchRows = Math.Max(b, evaluationChunkRows);
        var layout = new Layout();
        layout.Parameters = layout.Take(p);          // [P]          W1 | b1 | W2 | b2
        layout.Gradients = layout.Take(p);           // [P]          same layout
        layout.BatchImages = layout.Take(b * input); // [B, in]
        layout.Hidden = layout.Take(b * h);          // [B, hidden]  activation output A1
        layout.Logits = layout.Take(b * o);          // [B, out]     Z2
        layout.OutputGradient = layout.Take(b * o);  // [B, out]     dZ2 = (softmax - t) / B
        layout.HiddenGradient = layout.Take(b * h);  // [B, hidden]  dA1, then dZ1 in place
        layout.RowLosses = layout.Take(b);           // [B]
        layout.Workers = new WorkerSegments[workerCount];
        for (int w = 0; w < workerCount; w++)
        {
            layout.Workers[w] = new WorkerSegments(
                BatchImages: layout.Take(b * input),                    // [B, in]  this worker's own copy of the whole batch
                Images: layout.Take(evaluationChunkRows * input),       // [chunk, in]  normalized images to evaluate
                Parameters: layout.Take(p),                             // [P]  a private copy to perturb
                Hidden: layout.Take(scratchRows * h),                   // [rows, hidden]
                Logits: layout.Take(scratchRows * o),                   // [rows, out]
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

    private readonly record struct WorkerSegments(Segment BatchImages, Segment Images, Segment Parameters, Segment Hidden, Segment Logits, Segment RowLosses);

    /// <summary>Hands out consecutive segments, each rounded up to whole 64-byte lines, and keeps them.</summary>
    private sealed class Layout
    {
        private static readonly int LineElements = AlignmentBytes / Unsafe.SizeOf<T>();

        public long Length { get; private set; }

        public Segment Parameters { get; set; }

        public Segment Gradients { get; set; }

        public Segment BatchImages { get; set; }

        public Segment Hidden { get; set; }

        public Segment Logits { get; set; }

        public Segment OutputGradient { get; set; }

        public Segment HiddenGradient { get; set; }

        public Segment RowLosses { get; set; }

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
