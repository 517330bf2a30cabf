using Simd.Tests.Support;
using Simd.Training;

namespace Simd.Tests.Training;

[Collection(AllocationSensitive.Name)]
public class WorkerPoolTests
{
    private sealed class Recorder(int workers) : IParallelWork
    {
        public int[] Calls { get; } = new int[workers];

        public int[] Threads { get; } = new int[workers];

        public int SeenCount { get; private set; }

        public void Execute(int worker, int workerCount)
        {
            Interlocked.Increment(ref Calls[worker]);
            Threads[worker] = Environment.CurrentManagedThreadId;
            SeenCount = workerCount;
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(5)]
    public void Every_worker_runs_once_per_call_on_its_own_thread(int workers)
    {
        using var pool = new WorkerPool(workers);
        var work = new Recorder(workers);
        for (int i = 0; i < 100; i++)
        {
            pool.Run(work);
        }

        Assert.All(work.Calls, c => Assert.Equal(100, c));
        Assert.Equal(workers, work.SeenCount);
        Assert.Equal(Environment.CurrentManagedThreadId, work.Threads[0]);
        Assert.Equal(workers, work.Threads.Distinct().Count());
    }

    [Fact]
    public void Workers_that_went_to_sleep_wake_up()
    {
        using var pool = new WorkerPool(3);
        var work = new Recorder(3);
        pool.Run(work);
        Thread.Sleep(50); // far past the spin window: the workers block
        pool.Run(work);
        Assert.All(work.Calls, c => Assert.Equal(2, c));
    }

    private sealed class Failing : IParallelWork
    {
        public void Execute(int worker, int workerCount)
        {
            if (worker == workerCount - 1)
            {
                throw new InvalidOperationException("worker failed");
            }
        }
    }

    [Fact]
    public void An_exception_in_a_worker_reaches_the_caller_and_the_pool_keeps_working()
    {
        using var pool = new WorkerPool(2);
        var e = Assert.Throws<InvalidOperationException>(() => pool.Run(new Failing()));
        Assert.Equal("worker failed", e.Message);
        var work = new Recorder(2);
        pool.Run(work);
        Assert.Equal([1, 1], work.Calls);
    }

    /// <summary>Runs a nested Run (or Dispose) from inside Execute on the chosen worker and keeps what it threw.</summary>
    private sealed class Nested(WorkerPool pool, int onWorker, bool dispose) : IParallelWork
    {
        public Exception? Thrown { get; private set; }

        public void Execute(int worker, int workerCount)
        {
            if (worker != onWorker)
            {
                return;
            }

            try
            {
                if (dispose)
                {
                    pool.Dispose();
                }
                else
                {
                    pool.Run(new Recorder(workerCount));
                }
            }
            catch (InvalidOperationException e)
            {
                Thrown = e;
            }
        }
    }

    [Theory]
    [InlineData(1, 0)]
    [InlineData(3, 0)]
    [InlineData(3, 2)]
    public void Run_from_inside_a_work_is_refused_and_the_pool_keeps_working(int workers, int onWorker)
    {
        using var pool = new WorkerPool(workers);
        var nested = new Nested(pool, onWorker, dispose: false);
        pool.Run(nested);
        Assert.NotNull(nested.Thrown);
        Assert.Contains("another Run is in progress", nested.Thrown!.Message, StringComparison.Ordinal);
        var work = new Recorder(workers);
        pool.Run(work);
        Assert.All(work.Calls, c => Assert.Equal(1, c));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public void Dispose_from_inside_a_work_is_refused(int onWorker)
    {
        using var pool = new WorkerPool(2);
        var nested = new Nested(pool, onWorker, dispose: true);
        pool.Run(nested);
        Assert.NotNull(nested.Thrown);
        Assert.Contains("from inside a work", nested.Thrown!.Message, StringComparison.Ordinal);
        pool.Run(new Recorder(2)); // still usable: the refused Dispose did nothing
    }

    /// <summary>Holds every worker inside Execute until released, so the test can act while a Run is in progress.</summary>
    private sealed class Gate : IParallelWork
    {
        public ManualResetEventSlim Entered { get; } = new();

        public ManualResetEventSlim Release { get; } = new();

        public void Execute(int worker, int workerCount)
        {
            if (worker == 0)
            {
                Entered.Set();
            }

            Release.Wait();
        }
    }

    [Fact]
    public async Task Run_from_a_second_thread_during_a_run_is_refused()
    {
        using var pool = new WorkerPool(2);
        var gate = new Gate();
        var first = Task.Run(() => pool.Run(gate));
        Assert.True(gate.Entered.Wait(TimeSpan.FromSeconds(10)));
        var e = Assert.Throws<InvalidOperationException>(() => pool.Run(new Recorder(2)));
        Assert.Contains("another Run is in progress", e.Message, StringComparison.Ordinal);
        gate.Release.Set();
        await first.WaitAsync(TimeSpan.FromSeconds(10));
        pool.Run(new Recorder(2));
    }

    [Fact]
    public async Task Dispose_during_a_run_waits_for_it_and_then_refuses_new_runs()
    {
        var pool = new WorkerPool(3);
        var gate = new Gate();
        var run = Task.Run(() => pool.Run(gate));
        Assert.True(gate.Entered.Wait(TimeSpan.FromSeconds(10)));
        var dispose = Task.Run(pool.Dispose);
        await Task.WhenAny(dispose, Task.Delay(100));
        Assert.False(dispose.IsCompleted, "Dispose returned while the run was still in progress");
        gate.Release.Set();
        await run.WaitAsync(TimeSpan.FromSeconds(10));     // TimeoutException: the run never finished
        await dispose.WaitAsync(TimeSpan.FromSeconds(10)); // TimeoutException: Dispose never finished
        Assert.Throws<ObjectDisposedException>(() => pool.Run(new Recorder(3)));
        pool.Dispose(); // a second Dispose is harmless
    }

    [Fact]
    public void More_workers_than_cores_still_run_every_share()
    {
        int workers = (Environment.ProcessorCount * 4) + 1;
        using var pool = new WorkerPool(workers);
        var work = new Recorder(workers);
        for (int i = 0; i < 50; i++)
        {
            pool.Run(work);
            Thread.Sleep(i % 10 == 0 ? 5 : 0); // now and then long enough for the workers to block
        }

        Assert.All(work.Calls, c => Assert.Equal(50, c));
    }

    /// <summary>Blocks claimed by free workers; one worker is held at the door (as if the OS had descheduled it).</summary>
    private sealed class ClaimedWork(int blocks, int heldWorker) : ICompletableWork
    {
        private readonly BlockClaims _claims = new(blocks);

        public int[] DoneBy { get; } = new int[blocks];

        public ManualResetEventSlim Release { get; } = new();

        public bool IsComplete => _claims.IsComplete;

        public void Begin()
        {
            Array.Fill(DoneBy, -1);
            _claims.Begin(DoneBy.Length);
        }

        public void Execute(int worker, int workerCount)
        {
            if (worker == heldWorker)
            {
                Release.Wait();
            }

            BlockClaims.Cursor cursor = _claims.Open(worker, workerCount);
            for (int block = _claims.Next(ref cursor); block >= 0; block = _claims.Next(ref cursor))
            {
                Assert.Equal(-1, Interlocked.Exchange(ref DoneBy[block], worker)); // never twice
                _claims.Complete(1);
            }
        }
    }

    /// <summary>
    /// A Run of claimed blocks returns once every block is done, without the worker that never came; that
    /// worker, released later, claims nothing, and the pool's next Runs (of either kind) count right.
    /// </summary>
    [Fact]
    public void A_run_of_claimed_blocks_does_not_wait_for_a_worker_that_never_came()
    {
        using var pool = new WorkerPool(3);
        var work = new ClaimedWork(blocks: 12, heldWorker: 2);
        work.Begin();
        pool.Run(work); // would hang here if it waited for worker 2
        Assert.All(work.DoneBy, by => Assert.InRange(by, 0, 1));

        work.Begin();
        pool.Run(work); // worker 2 is still held from the first Run
        Assert.All(work.DoneBy, by => Assert.InRange(by, 0, 1));

        work.Release.Set();
        var recorder = new Recorder(3);
        for (int i = 0; i < 20; i++)
        {
            pool.Run(recorder);
        }

        Assert.All(recorder.Calls, c => Assert.Equal(20, c)); // every worker exactly once per Run

        work.Begin();
        pool.Run(work);
        Assert.Equal(12, work.DoneBy.Count(by => by >= 0));
    }

    [Theory]
    [InlineData(1, 5)]
    [InlineData(2, 5)]
    [InlineData(3, 2)]
    [InlineData(4, 13)]
    public void Claimed_runs_in_a_workers_own_share_are_consecutive_and_cover_every_block_once(int workers, int count)
    {
        var claims = new BlockClaims(count);
        claims.Begin(count);
        var seen = new List<(int Worker, int Start, int Blocks)>();
        for (int w = 0; w < workers; w++)
        {
            BlockClaims.Cursor cursor = claims.Open(w, workers);
            for (int b = claims.NextRun(ref cursor, int.MaxValue, out int n); b >= 0; b = claims.NextRun(ref cursor, int.MaxValue, out n))
            {
                seen.Add((w, b, n));
                claims.Complete(n);
            }
        }

        Assert.True(claims.IsComplete);
        Assert.Equal(Enumerable.Range(0, count), seen.SelectMany(r => Enumerable.Range(r.Start, r.Blocks)).Order());
        // Taken in order, each worker's first run is its whole share (Partition.Range), the last takes what is left.
        (int start, int end) = Partition.Range(count, 0, workers);
        Assert.Equal((0, start, Math.Max(end - start, 1)), seen[0]); // an empty share: one block taken over
    }

    [Fact]
    public void Dispatch_allocates_nothing()
    {
        using var pool = new WorkerPool(2);
        var work = new Recorder(2);
        for (int i = 0; i < 100; i++)
        {
            pool.Run(work);
        }

        long before = pool.AllocatedBytes();
        for (int i = 0; i < 1000; i++)
        {
            pool.Run(work);
        }

        Assert.Equal(0, pool.AllocatedBytes() - before);
    }

    [Theory]
    [InlineData(100, 2, 8)]
    [InlineData(784, 3, 8)]
    [InlineData(7, 4, 1)]
    [InlineData(3, 5, 1)]
    [InlineData(0, 2, 1)]
    [InlineData(1000, 7, 16)]
    public void Partition_covers_the_range_once_in_aligned_parts(int length, int workers, int align)
    {
        int next = 0;
        for (int w = 0; w < workers; w++)
        {
            (int start, int end) = Partition.Range(length, w, workers, align);
            Assert.Equal(next, start);
            Assert.True(end >= start);
            Assert.True(start % align == 0);
            next = end;
        }

        Assert.Equal(length, next);
        Assert.Equal((0, 48), Partition.Range(100, 0, 2, 8));
        Assert.Equal((48, 100), Partition.Range(100, 1, 2, 8));
    }
}
