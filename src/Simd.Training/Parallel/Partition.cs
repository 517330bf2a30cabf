namespace Simd.Training;

/// <summary>Fixed splits of a range among workers: the same split for the same (length, workers), every time.</summary>
public static class Partition
{
    /// <summary>
    /// Worker <paramref name="worker"/>'s part [Start, End) of [0, <paramref name="length"/>): parts as
    /// equal as whole multiples of <paramref name="align"/> allow (so GEMM row tiles stay whole), the
    /// remainder going to the last parts.
    /// </summary>
    public static (int Start, int End) Range(int length, int worker, int workers, int align = 1)
    {
        int units = (length + align - 1) / align;
        int basePart = units / workers, extra = units % workers;
        int startUnit = (worker * basePart) + Math.Max(0, worker - (workers - extra));
        int endUnit = startUnit + basePart + (worker >= workers - extra ? 1 : 0);
        return (Math.Min(length, startUnit * align), Math.Min(length, endUnit * align));
    }
}
