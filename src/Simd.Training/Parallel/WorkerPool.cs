using System.Diagnostics;
using System.Runtime.ExceptionServices;

namespace Simd.Training;

/// <summary>Work split among the pool's workers: each calls <see cref="Execute"/> once with its index.</summary>
public interface IParallelWork
{
    /// <summary>Does worker <paramref name="worker"/>'s share (of <paramref name="workerCount"/>).</summary>
    void Execute(int worker, int workerCount);
}

/// <summary>
/// A fixed set of threads, created once, that run one <see cref="IParallelWork"/> at a time; the calling
/// thread is worker 0. Dispatch allocates nothing: the work is an object the caller made once, handed over
/// through a field and a generation counter (no Task, closure, delegate or boxing per call). Waiting
/// workers spin for a short while — a training step dispatches twice every ~50 µs, too often to sleep —
/// then block on a monitor, so an idle pool costs no CPU; with more workers than cores they yield the
/// core instead of spinning on it. One Run at a time: a second (nested, or from another thread) is refused. (Monitors rather than ManualResetEventSlim:
/// the latter creates its lock object lazily, on the first block, which would allocate mid-training.)
/// </summary>
public sealed class WorkerPool : IDisposable
{
    /// <summary>How long a waiting thread spins before it blocks: covers the gaps between a step's phases.</summary>
    private static readonly long SpinTicks = Stopwatch.Frequency / 5_000; // 200 µs

    private readonly Thread[] _threads;
    private readonly object[] _wake;
    private readonly int[] _sleeping;
    private readonly object _done = new();
    private readonly AllocationProbe _allocationProbe;
    private readonly bool _oversubscribed;
    private IParallelWork? _work;
    private ExceptionDispatchInfo? _failure;
    private int _generation;
    private int _pending;
    private int _callerSleeping;
    private int _state; // Idle, Running or Disposed
    private int _runningThread; // managed thread id of the Run in progress
    private volatile bool _disposed;

    /// <param name="workerCount">Workers including the calling thread: 1 runs everything on the caller.</param>
    public WorkerPool(int workerCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(workerCount, 1);
        Count = workerCount;
        _oversubscribed = workerCount > Environment.ProcessorCount;
        _allocationProbe = new AllocationProbe(workerCount);
        _threads = new Thread[workerCount - 1];
        _wake = new object[workerCount];
        _sleeping = new int[workerCount];
        for (int w = 1; w < workerCount; w++)
        {
            _wake[w] = new object();
            int worker = w;
            _threads[w - 1] = new Thread(() => Loop(worker)) { IsBackground = true, Name = $"simd worker {w}" };
            _threads[w - 1].Start();
        }
    }

    /// <summary>Number of workers, the calling thread included.</summary>
    public int Count { get; }

    /// <summary>
    /// Runs <paramref name="work"/> on every worker and returns when all have finished. An exception in
    /// any worker is rethrown here after the others finish.
    /// </summary>
    /// <exception cref="InvalidOperationException">A Run is already in progress: called from inside a work's
    /// Execute, or from a second thread at once. The pool runs one work at a time.</exception>
    public void Run(IParallelWork work)
    {
        ArgumentNullException.ThrowIfNull(work);
        int previous = Interlocked.CompareExchange(ref _state, Running, Idle);
        ObjectDisposedException.ThrowIf(previous == Disposed, this);
        if (previous == Running)
        {
            throw new InvalidOperationException(
                "WorkerPool.Run was called while another Run is in progress (from inside a work's Execute, or from a second thread): the pool runs one work at a time");
        }

        _runningThread = Environment.CurrentManagedThreadId;
        try
        {
            RunExclusive(work);
        }
        finally
        {
            _runningThread = 0;
            Volatile.Write(ref _state, Idle);
        }
    }

    private void RunExclusive(IParallelWork work)
    {
        if (Count == 1)
        {
            work.Execute(0, 1);
            return;
        }

        _work = work;
        _failure = null;
        Volatile.Write(ref _pending, Count - 1);
        Interlocked.Increment(ref _generation); // a full fence: the work is visible before anyone sees the new generation
        for (int w = 1; w < Count; w++)
        {
            if (Volatile.Read(ref _sleeping[w]) != 0)
            {
                Wake(w);
            }
        }

        try
        {
            work.Execute(0, Count);
        }
        catch (Exception e)
        {
            Interlocked.CompareExchange(ref _failure, ExceptionDispatchInfo.Capture(e), null);
        }

        WaitForWorkers();
        _work = null;
        _failure?.Throw();
    }

    /// <summary>
    /// Bytes allocated so far by the pool's threads, the calling thread included (each reads its own
    /// precise counter). Unlike the process-wide total, it is not disturbed by other threads of the host
    /// (a test runner reporting results): what the zero-allocation tests measure.
    /// </summary>
    public long AllocatedBytes()
    {
        Run(_allocationProbe);
        long total = 0;
        foreach (long bytes in _allocationProbe.Bytes)
        {
            total += bytes;
        }

        return total;
    }

    /// <summary>
    /// Stops the threads. Called from another thread while a Run is in progress, it waits for that Run to
    /// finish first (stopping the workers mid-run would leave the Run waiting for them forever).
    /// </summary>
    /// <exception cref="InvalidOperationException">Called from inside a work's Execute: the Run it is part of
    /// could never finish.</exception>
    public void Dispose()
    {
        var wait = new SpinWait();
        while (true)
        {
            int previous = Interlocked.CompareExchange(ref _state, Disposed, Idle);
            if (previous == Disposed)
            {
                return;
            }

            if (previous == Idle)
            {
                break;
            }

            if (_runningThread == Environment.CurrentManagedThreadId || IsPoolThread(Thread.CurrentThread))
            {
                throw new InvalidOperationException("WorkerPool.Dispose was called from inside a work the pool is running");
            }

            wait.SpinOnce(sleep1Threshold: 20);
        }

        _disposed = true;
        Interlocked.Increment(ref _generation);
        for (int w = 1; w < Count; w++)
        {
            Wake(w);
        }

        foreach (Thread thread in _threads)
        {
            thread.Join();
        }
    }

    private bool IsPoolThread(Thread thread) => Array.IndexOf(_threads, thread) >= 0;

    /// <summary>
    /// One round of waiting before a thread blocks: until <paramref name="spinUntil"/>, spin on the core
    /// when every worker has a core of its own; when the workers outnumber the cores, yield it instead,
    /// so a descheduled worker that still has work gets it (spinning there made 16 threads on 2 cores
    /// take 19x as long as 2). False when it is time to block.
    /// </summary>
    private bool KeepSpinning(long spinUntil)
    {
        if (Stopwatch.GetTimestamp() >= spinUntil)
        {
            return false;
        }

        if (_oversubscribed)
        {
            Thread.Yield();
        }
        else
        {
            Thread.SpinWait(16);
        }

        return true;
    }

    private void Wake(int worker)
    {
        lock (_wake[worker])
        {
            Monitor.Pulse(_wake[worker]);
        }
    }

    private void Loop(int worker)
    {
        // Generation 0 is the pool's state before any Run: a thread that starts late must still see the first Run.
        int seen = 0;
        while (true)
        {
            seen = WaitForGeneration(worker, seen);
            if (_disposed)
            {
                return;
            }

            try
            {
                _work!.Execute(worker, Count);
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref _failure, ExceptionDispatchInfo.Capture(e), null);
            }

            if (Interlocked.Decrement(ref _pending) == 0 && Volatile.Read(ref _callerSleeping) != 0)
            {
                lock (_done)
                {
                    Monitor.Pulse(_done);
                }
            }
        }
    }

    /// <summary>Spins, then blocks, until the generation moves past <paramref name="seen"/>; returns the new one.</summary>
    private int WaitForGeneration(int worker, int seen)
    {
        long spinUntil = Stopwatch.GetTimestamp() + SpinTicks;
        while (true)
        {
            int generation = Volatile.Read(ref _generation);
            if (generation != seen)
            {
                return generation;
            }

            if (KeepSpinning(spinUntil))
            {
                continue;
            }

            // Announce the sleep with a full fence, then look once more: Run increments the generation
            // (a full fence) before it reads the flag, so either we see the new work or it sees us asleep
            // and pulses — under the same lock, so the pulse cannot come between our check and our wait.
            lock (_wake[worker])
            {
                Interlocked.Exchange(ref _sleeping[worker], 1);
                while (Volatile.Read(ref _generation) == seen)
                {
                    Monitor.Wait(_wake[worker]);
                }

                Interlocked.Exchange(ref _sleeping[worker], 0);
            }

            spinUntil = Stopwatch.GetTimestamp() + SpinTicks;
        }
    }

    private void WaitForWorkers()
    {
        long spinUntil = Stopwatch.GetTimestamp() + SpinTicks;
        while (Volatile.Read(ref _pending) != 0)
        {
            if (KeepSpinning(spinUntil))
            {
                continue;
            }

            lock (_done)
            {
                Interlocked.Exchange(ref _callerSleeping, 1);
                while (Volatile.Read(ref _pending) != 0)
                {
                    Monitor.Wait(_done);
                }

                Interlocked.Exchange(ref _callerSleeping, 0);
            }
        }
    }

    private const int Idle = 0;
    private const int Running = 1;
    private const int Disposed = 2;

    private sealed class AllocationProbe(int workers) : IParallelWork
    {
        public long[] Bytes { get; } = new long[workers];

        public void Execute(int worker, int workerCount) => Bytes[worker] = GC.GetAllocatedBytesForCurrentThread();
    }
}
