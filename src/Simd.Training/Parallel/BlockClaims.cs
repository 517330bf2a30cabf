namespace Simd.Training;

/// <summary>
/// Fixed blocks of one phase's work, claimed by the workers: each first takes the blocks of its own
/// share (the same split every time, so in a quiet step a block — and the weights it updates — stays
/// with one core), then any block another worker has not started, so a worker the OS deschedules does
/// not hold the others up. The blocks' boundaries never depend on the worker count, and every block is
/// computed whole by whoever claims it, so the results are bitwise the same however they are shared.
/// A claim is a compare-exchange of the phase's serial number: nothing to reset between phases.
/// </summary>
public sealed class BlockClaims(int capacity)
{
    private readonly int[] _claimedBy = new int[capacity]; // the serial of the phase that claimed each block
    private int _serial;
    private int _count;

    /// <summary>Starts a phase of <paramref name="count"/> blocks (on the dispatching thread, before the workers run).</summary>
    public void Begin(int count)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, _claimedBy.Length);
        _count = count;
        _serial++;
    }

    /// <summary>Where a worker is in its walk over the blocks: its own share, then the rest, once around.</summary>
    public struct Cursor
    {
        internal int Serial;
        internal int Count;
        internal int Start;
        internal int Visited;
    }

    /// <summary>A worker's cursor for the current phase.</summary>
    public Cursor Open(int worker, int workerCount)
    {
        int count = _count;
        return new Cursor { Serial = Volatile.Read(ref _serial), Count = count, Start = Partition.Range(count, worker, workerCount).Start };
    }

    /// <summary>The next block this worker claimed, or -1 when every block is claimed.</summary>
    public int Next(ref Cursor cursor)
    {
        while (cursor.Visited < cursor.Count)
        {
            int block = (cursor.Start + cursor.Visited) % cursor.Count;
            cursor.Visited++;
            int seen = Volatile.Read(ref _claimedBy[block]);
            if (seen != cursor.Serial && Interlocked.CompareExchange(ref _claimedBy[block], cursor.Serial, seen) == seen)
            {
                return block;
            }
        }

        return -1;
    }
}
