using CommunityToolkit.HighPerformance;

namespace Simd.Training;

/// <summary>The book's numerical_gradient (ch. 4): central differences, one parameter at a time.</summary>
public sealed partial class MultiLayerNet<T>
{
    private readonly NumericalWork _numerical;

    /// <summary>
    /// The naive numerical gradient, exactly the book's method: for every parameter in buffer order
    /// (W1, b1, W2, b2, ..., row-major) set p + h and compute the loss (weight decay included) with a full
    /// forward pass over the batch, then p - h and again, restore p, and take (L+ - L-) / 2h with h = 1e-4.
    /// The workers share the parameters out (in chunks, first come first served); each perturbs its
    /// own copy of the parameters and runs its own forward passes, so the network's parameters are never
    /// disturbed and every element comes out bitwise the same for any number of threads.
    /// </summary>
    /// <param name="progress">Called on the calling thread now and then with (parameters done, parameter count); may be null.</param>
    /// <param name="cancellationToken">Checked by every worker between chunks of parameters.</param>
    /// <param name="loss">The loss differentiated: the book's (with δ in the log), or the one backprop differentiates.</param>
    /// <param name="kinks">When not empty ([parameter count]): 1 where the central difference straddles a kink — some
    /// value after a ReLU is positive at p + h and not at p − h, or the other way, or a max pooling picks another
    /// place — so it does not measure a derivative there; else 0. Networks without ReLU or max pooling have no kinks.</param>
    /// <param name="step">h, the book's 1e-4 by default; a gradient check in double may take a smaller one (its truncation error goes as h²).</param>
    /// <exception cref="OperationCanceledException">Cancelled; <paramref name="gradients"/> is then partly written.</exception>
    public void NumericalGradient(
        ReadOnlyMemory<T> x, ReadOnlyMemory<byte> labels, int batch, Memory<T> gradients, Action<int, int>? progress = null,
        NumericalLoss loss = NumericalLoss.Book, Memory<byte> kinks = default, double step = BookDefaults.NumericalGradientStep,
        CancellationToken cancellationToken = default)
    {
        if (!(step > 0 && double.IsFinite(step) && T.IsFinite(T.CreateTruncating(step)) && T.CreateTruncating(step) > T.Zero))
        {
            throw new ArgumentOutOfRangeException(nameof(step), step, "must be a positive finite number in T");
        }

        CheckBatch(x.Length, labels.Length, batch);
        if (gradients.Length < Shape.ParameterCount)
        {
            throw new ArgumentException($"gradients needs {Shape.ParameterCount} elements", nameof(gradients));
        }

        if (!kinks.IsEmpty && kinks.Length < Shape.ParameterCount)
        {
            throw new ArgumentException($"kinks needs {Shape.ParameterCount} elements", nameof(kinks));
        }

        _numerical.Set(x, labels, batch, gradients, progress, loss, KinkPatternLength > 0 ? kinks : default, step, cancellationToken);
        _pool.Run(_numerical);
        cancellationToken.ThrowIfCancellationRequested();
        progress?.Invoke(Shape.ParameterCount, Shape.ParameterCount);
    }

    private sealed class NumericalWork(MultiLayerNet<T> network) : IParallelWork
    {
        /// <summary>Parameters claimed at a time: small enough to balance the workers, large enough to make claiming free.</summary>
        private const int Chunk = 16;

        /// <summary>How often (in parameters) worker 0 reports progress.</summary>
        private const int ProgressInterval = 256;

        private ReadOnlyMemory<T> _x;
        private ReadOnlyMemory<byte> _labels;
        private Memory<T> _gradients;
        private Action<int, int>? _progress;
        private CancellationToken _cancellation;
        private int _batch;
        private int _next;
        private NumericalLoss _loss;
        private double _step;
        private Memory<byte> _kinks;
        private int _patternLength; // batch · KinkPatternLength when kinks are asked for, else 0
        private byte[][] _patterns = []; // [2 · worker + pass][batch · KinkPatternLength]: which values after a ReLU are positive

        public void Set(
            ReadOnlyMemory<T> x, ReadOnlyMemory<byte> labels, int batch, Memory<T> gradients, Action<int, int>? progress,
            NumericalLoss loss, Memory<byte> kinks, double step, CancellationToken cancellation)
        {
            _loss = loss;
            _step = step;
            _kinks = kinks;
            _patternLength = kinks.IsEmpty ? 0 : batch * network.KinkPatternLength;
            if (_patternLength > 0 && (_patterns.Length < 2 * network._pool.Count || _patterns[0].Length < _patternLength))
            {
                // Once per size, only for a gradient check that asks for kinks: never in a training step.
                _patterns = [.. Enumerable.Range(0, 2 * network._pool.Count).Select(_ => new byte[_patternLength])];
            }

            _cancellation = cancellation;
            _x = x;
            _labels = labels;
            _batch = batch;
            _gradients = gradients;
            _progress = progress;
            _next = 0;
        }

        public void Execute(int worker, int workerCount)
        {
            int count = network.Shape.ParameterCount;
            Span<T> p = network.Workspace.WorkerParameters(worker);
            network.Parameters.CopyTo(p);
            ReadOnlySpan<T> x = _x.Span[..(_batch * network.Shape.InputSize)];
            ReadOnlySpan<byte> labels = _labels.Span;
            Span<T> gradients = _gradients.Span;
            Span<byte> kinks = _kinks.Span;
            Span<byte> plusPattern = kinks.IsEmpty ? default : _patterns[2 * worker].AsSpan(0, _patternLength);
            Span<byte> minusPattern = kinks.IsEmpty ? default : _patterns[(2 * worker) + 1].AsSpan(0, _patternLength);
            T h = T.CreateTruncating(_step);
            T twoH = h + h;
            int reported = 0;
            while (true)
            {
                int start = Interlocked.Add(ref _next, Chunk) - Chunk;
                if (start >= count || _cancellation.IsCancellationRequested)
                {
                    return;
                }

                int end = Math.Min(count, start + Chunk);
                for (int i = start; i < end; i++)
                {
                    T saved = p[i];
                    p[i] = saved + h;
                    T lossPlus = network.LossWith(p, x, _batch, labels, worker, training: true, _loss, plusPattern);
                    p[i] = saved - h;
                    T lossMinus = network.LossWith(p, x, _batch, labels, worker, training: true, _loss, minusPattern);
                    p[i] = saved;
                    gradients[i] = (lossPlus - lossMinus) / twoH;
                    if (!kinks.IsEmpty)
                    {
                        kinks[i] = plusPattern.SequenceEqual(minusPattern) ? (byte)0 : (byte)1;
                    }
                }

                if (worker == 0 && _progress is { } progress && start - reported >= ProgressInterval)
                {
                    reported = start;
                    progress(Math.Min(Volatile.Read(ref _next), count), count);
                }
            }
        }
    }
}
