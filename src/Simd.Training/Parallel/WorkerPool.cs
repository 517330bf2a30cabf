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
/// Work shared out as claimable blocks (<see cref="BlockClaims"/>): done when every block is, whether or not
/// every worker has come by. A Run of it returns then, without waiting for a worker the OS has descheduled;
/// that worker, when it runs again, finds nothing left to claim.
/// </summary>
public interface ICompletableWork : IParallelWork
{
    /// <summary>True once every block of the current Run is done.</summary>
    bool IsComplete { get; }
}

/// <summary>
/// A fixed set of threads, created once, that run one <see cref="IParallelWork"/> at a time; the calling
/// thread is worker 0. Dispatch allocates nothing: the work is an object the caller made once, handed over
/// through a field and a generation counter (no Task, closure, delegate or boxing per call). Waiting
/// workers spin for a short while — a training step dispatches twice every ~50 µs, too often to sleep —
/// then yield the core, then block on a monitor, so an idle pool costs no CPU; with more workers than
/// cores they yield from the start. One Run at a time: a second (nested, or from another thread) is
/// refused. A Run of an <see cref="ICompletableWork"/> returns when its blocks are done, not when every
/// worker has come by. (Monitors rather than ManualResetEventSlim: the latter creates its lock object
/// lazily, on the first block, which would allocate mid-training; the monitors themselves are made full
/// ones up front for the same reason.)
/// </summary>
public sealed class WorkerPool : IDisposable
{
    /// <summary>How long a waiting thread spins before it blocks: covers the gaps between a step's phases.</summary>
    private static readonly long SpinTicks = Stopwatch.Frequency / 5_000; // 200 µs

    /// <summary>The last part of the spin that yields the core instead (see <see cref="KeepSpinning"/>).</summary>
    private static readonly long YieldTicks = Stopwatch.Frequency / 5_555; // 180 µs: spin 20 µs, then yield

    private readonly Thread[] _threads;
    private readonly object[] _wake;
    private readonly int[] _sleeping;
    private readonly object _done = new();
    private readonly AllocationProbe _allocationProbe;
    private readonly bool _oversubscribed;
    private IParallelWork? _work;
    private ExceptionDispatchInfo? _failure;

    /// <summary>Even: the Run of number generation / 2 is published (with <see cref="_work"/>); odd: one is being published.</summary>
    private int _generation;

    /// <summary>(generation &lt;&lt; 32) | the workers still to finish that generation; a worker late for it cannot miscount a later one.</summary>
    private long _pending;
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
        Inflate(_done);
        for (int w = 1; w < workerCount; w++)
        {
            _wake[w] = new object();
            Inflate(_wake[w]);
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

        // Publish (generation, work) as a pair, seqlock style: a worker that reads the generation, the work and
        // the generation again, and finds it even and unchanged, has a consistent pair.
        int generation = _generation + 2;
        Interlocked.Increment(ref _generation); // odd: publishing
        _work = work;
        _failure = null;
        Volatile.Write(ref _pending, ((long)generation << 32) | (uint)(Count - 1));
        Interlocked.Increment(ref _generation); // even again, a full fence: the work is visible before anyone sees it
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

        WaitForWorkers(generation, work as ICompletableWork);
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
        Interlocked.Add(ref _generation, 2);
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
    /// Makes <paramref name="monitor"/> a full monitor now: the runtime allocates one (Native AOT: 272 bytes
    /// seen) the first time a thread waits on an object, which would otherwise happen mid-training, the
    /// first time a step's wait outlasts the spin.
    /// </summary>
    private static void Inflate(object monitor)
    {
        lock (monitor)
        {
            Monitor.Wait(monitor, 0);
            Monitor.Pulse(monitor);
        }
    }

    /// <summary>
    /// One round of waiting before a thread blocks: until <paramref name="spinUntil"/>, spin on the core for
    /// the first 20 µs (the usual gap between a step's phases), then yield it, so a thread that still has
    /// work — ours, descheduled by another process's, or another process's — gets the core: beside one busy
    /// process the book's run took 1.33-1.54x as long as with one thread when spinning, 1.06x when yielding
    /// (bench/load-test.sh), and no longer on a quiet machine. When the workers outnumber the cores, yield
    /// at once (spinning there made 16 threads on 2 cores take 19x as long as 2). False when it is time to block.
    /// </summary>
    private bool KeepSpinning(long spinUntil)
    {
        long now = Stopwatch.GetTimestamp();
        if (now >= spinUntil)
        {
            return false;
        }

        if (_oversubscribed || now >= spinUntil - YieldTicks)
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
        // Native AOT also gives each thread its own waiter object the first time that thread waits on any monitor
        // (168 bytes seen, in 4 runs of 12 beside a busy process): wait once here, before training, on this thread.
        Inflate(_wake[worker]);

        // Generation 0 is the pool's state before any Run: a thread that starts late must still see the first Run.
        int seen = 0;
        while (true)
        {
            (seen, IParallelWork? work) = WaitForGeneration(worker, seen);
            if (_disposed)
            {
                return;
            }

            try
            {
                work!.Execute(worker, Count);
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref _failure, ExceptionDispatchInfo.Capture(e), null);
            }

            bool last = Finish(seen);
            if ((last || work is ICompletableWork { IsComplete: true }) && Volatile.Read(ref _callerSleeping) != 0)
            {
                lock (_done)
                {
                    Monitor.Pulse(_done);
                }
            }
        }
    }

    /// <summary>Counts this worker out of <paramref name="generation"/> if that is still the current Run; true when it was the last.</summary>
    private bool Finish(int generation)
    {
        while (true)
        {
            long pending = Volatile.Read(ref _pending);
            if ((int)(pending >> 32) != generation || (uint)pending == 0)
            {
                return false; // a Run that has already returned (its blocks all done without us)
            }

            if (Interlocked.CompareExchange(ref _pending, pending - 1, pending) == pending)
            {
                return (uint)pending == 1;
            }
        }
    }

    /// <summary>
    /// Spins, then blocks, until a Run newer than <paramref name="seen"/> is published; returns its
    /// generation and its work, read as a consistent pair.
    /// </summary>
    private (int Generation, IParallelWork? Work) WaitForGeneration(int worker, int seen)
    {
        long spinUntil = Stopwatch.GetTimestamp() + SpinTicks;
        while (true)
        {
            int generation = Volatile.Read(ref _generation);
            if (generation != seen)
            {
                if ((generation & 1) == 0)
                {
                    IParallelWork? work = Volatile.Read(ref _work);
                    if (Volatile.Read(ref _generation) == generation)
                    {
                        return (generation, work);
                    }
                }

                continue; // being published: a few instructions away
            }

            if (KeepSpinning(spinUntil))
            {
                continue;
            }

            // Announce the sleep with a full fence, then look once more: Run changes the generation
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

    /// <summary>Until every other worker has finished <paramref name="generation"/>, or the work says it is complete.</summary>
    private void WaitForWorkers(int generation, ICompletableWork? work)
    {
        bool Done() => (uint)Volatile.Read(ref _pending) == 0 || (work?.IsComplete ?? false);

        long spinUntil = Stopwatch.GetTimestamp() + SpinTicks;
        while (!Done())
        {
            if (KeepSpinning(spinUntil))
            {
                continue;
            }

            lock (_done)
            {
                Interlocked.Exchange(ref _callerSleeping, 1);
                while (!Done())
                {
                    Monitor.Wait(_done);
                }

                Interlocked.Exchange(ref _callerSleeping, 0);
            }
        }

        // Late workers must not count themselves into a later Run: close this one.
        Interlocked.Exchange(ref _pending, (long)generation << 32);
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
