namespace Simd.Training;

/// <summary>
/// Fixed blocks of one phase's work, claimed by the workers: each first takes the blocks of its own
/// share (the same split every time, so in a quiet step a block — and the weights it updates — stays
/// with one core), then any block another worker has not started, so a worker the OS deschedules does
/// not hold the others up. The blocks' boundaries never depend on the worker count, and every block is
/// computed whole by whoever claims it, so the results are bitwise the same however they are shared.
/// A claim is a compare-exchange of the phase's serial number, which only grows: nothing to reset between
/// phases, and a worker still holding an earlier phase's serial can never claim a later phase's block.
/// </summary>
public sealed class BlockClaims(int capacity)
{
    /// <summary>Bits of <see cref="_phase"/> that hold the block count; the serial is above them.</summary>
    private const int CountBits = 24;

    private readonly long[] _claimedBy = new long[capacity]; // the serial of the phase that last claimed each block

    /// <summary>(serial &lt;&lt; 24) | block count: one word, so a worker never pairs one phase's serial with another's count.</summary>
    private long _phase;
    private int _count;
    private int _completed;

    /// <summary>Starts a phase of <paramref name="count"/> blocks (on the dispatching thread, before the workers run).</summary>
    public void Begin(int count)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, _claimedBy.Length);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(count, 1 << CountBits);
        long serial = (_phase >> CountBits) + 1;
        _count = count;
        Volatile.Write(ref _completed, 0);
        Interlocked.Exchange(ref _phase, (serial << CountBits) | (uint)count);
    }

    /// <summary>True once every block of the current phase is finished.</summary>
    public bool IsComplete => Volatile.Read(ref _completed) >= _count;

    /// <summary>Where a worker is in its walk over the blocks: its own share, then the rest, once around.</summary>
    public struct Cursor
    {
        internal long Serial;
        internal int Count;
        internal int Start;
        internal int ShareEnd;
        internal int Visited;
    }

    /// <summary>A worker's cursor for the current phase.</summary>
    public Cursor Open(int worker, int workerCount)
    {
        long phase = Volatile.Read(ref _phase);
        int count = (int)(phase & ((1 << CountBits) - 1));
        (int start, int end) = Partition.Range(count, worker, workerCount);
        return new Cursor { Serial = phase >> CountBits, Count = count, Start = start, ShareEnd = end };
    }

    /// <summary>The next block this worker claimed, or -1 when every block is claimed.</summary>
    public int Next(ref Cursor cursor) => NextRun(ref cursor, maxBlocks: 1, out _);

    /// <summary>
    /// The first of the next run of consecutive blocks this worker claimed, or -1 when every block is
    /// claimed. In its own share a worker claims up to <paramref name="maxBlocks"/> blocks in a row (so it
    /// can do them in one call: one GEMM over all its rows, as one worker alone does over the whole batch);
    /// blocks it takes over from another's share it claims one at a time.
    /// </summary>
    public int NextRun(ref Cursor cursor, int maxBlocks, out int blocks)
    {
        blocks = 0;
        while (cursor.Visited < cursor.Count)
        {
            int block = (cursor.Start + cursor.Visited) % cursor.Count;
            cursor.Visited++;
            if (!TryClaim(block, cursor.Serial))
            {
                continue;
            }

            blocks = 1;
            bool own = cursor.Visited <= cursor.ShareEnd - cursor.Start;
            while (own && blocks < maxBlocks && cursor.Visited < cursor.ShareEnd - cursor.Start && TryClaim(block + blocks, cursor.Serial))
            {
                blocks++;
                cursor.Visited++;
            }

            return block;
        }

        return -1;
    }

    private bool TryClaim(int block, long serial)
    {
        long seen = Volatile.Read(ref _claimedBy[block]);
        return seen < serial && Interlocked.CompareExchange(ref _claimedBy[block], serial, seen) == seen;
    }

    /// <summary>Called by a worker when it has finished <paramref name="blocks"/> blocks it claimed.</summary>
    public void Complete(int blocks) => Interlocked.Add(ref _completed, blocks);
}
