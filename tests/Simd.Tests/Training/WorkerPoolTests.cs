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
