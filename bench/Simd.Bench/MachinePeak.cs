using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
using Simd.Kernels;

namespace Simd.Bench;

/// <summary>
/// This machine's fused multiply-add peak for one core and one ISA path: 24 independent FMA chains
/// (enough to cover the FMA latency on both pipes), nothing else in the loop. The GEMM columns divide
/// by it; <see cref="MachinePeakBenchmarks"/> reports it.
/// </summary>
internal static class MachinePeak
{
    /// <summary>FMA steps per call of <see cref="Chains{T, TV}"/>.</summary>
    public const int Steps = 4096;

    /// <summary>Chains: 24 accumulators, as many as the 512-bit GEMM tile.</summary>
    public const int ChainCount = 24;

    private static readonly Dictionary<(IsaPath, Type, int Cores), double> Cache = [];

    /// <summary>Floating-point operations of one <see cref="Chains{T, TV}"/> call.</summary>
    public static double FlopsPerCall<T>(IsaPath isa) => 2.0 * Steps * ChainCount * Lanes<T>(isa);

    public static int Lanes<T>(IsaPath isa) => isa switch
    {
        IsaPath.Vector512 => 64 / Unsafe.SizeOf<T>(),
        IsaPath.Vector256 => 32 / Unsafe.SizeOf<T>(),
        IsaPath.Vector128 => 16 / Unsafe.SizeOf<T>(),
        _ => 1,
    };

    /// <summary>Runs the chains for the given path once; returns a value so nothing is optimized away.</summary>
    public static T Run<T>(IsaPath isa)
        where T : unmanaged, IFloatingPointIeee754<T>
        => isa switch
        {
            IsaPath.Vector512 => Chains<T, V512<T>>(),
            IsaPath.Vector256 => Chains<T, V256<T>>(),
            IsaPath.Vector128 => Chains<T, V128<T>>(),
            _ => ScalarChains<T>(),
        };

    /// <summary>
    /// Peak GFLOP/s of <paramref name="cores"/> cores measured in this process (median of 7 samples of ~20 ms, every core
    /// running the chains at once), cached per path, type and cores: what the "% of peak" columns divide by. The cores
    /// are measured together, not one core times <paramref name="cores"/>: on a shared host two vCPUs may deliver far
    /// less than twice one (this one gave 1.3x to 2x in one session).
    /// </summary>
    public static double GigaflopsPerSecond<T>(IsaPath isa, int cores = 1)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        lock (Cache)
        {
            if (Cache.TryGetValue((isa, typeof(T), cores), out double cached))
            {
                return cached;
            }

            return Cache[(isa, typeof(T), cores)] = Measure<T>(isa, cores, samples: 7, sampleMilliseconds: 20);
        }
    }

    /// <summary>
    /// The median of <paramref name="samples"/> fresh measurements, uncached: each runs the chains on
    /// <paramref name="cores"/> threads at once for about <paramref name="sampleMilliseconds"/> and divides all their
    /// operations by the wall time from the common start to the last thread's end.
    /// </summary>
    public static double Measure<T>(IsaPath isa, int cores, int samples, int sampleMilliseconds)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(cores, 1);
        var results = new double[samples];
        long[] calls = new long[cores];
        using var start = new Barrier(cores + 1);
        using var end = new Barrier(cores + 1);
        bool stop = false;
        long until = 0;
        var threads = new Thread[cores];
        for (int c = 0; c < cores; c++)
        {
            int core = c;
            threads[c] = new Thread(() =>
            {
                Run<T>(isa);
                while (true)
                {
                    start.SignalAndWait();
                    if (Volatile.Read(ref stop))
                    {
                        return;
                    }

                    long n = 0;
                    do
                    {
                        Run<T>(isa);
                        n++;
                    }
                    while (Stopwatch.GetTimestamp() < Volatile.Read(ref until));

                    calls[core] = n;
                    end.SignalAndWait();
                }
            })
            { IsBackground = true, Name = $"fma-peak-{c}" };
            threads[c].Start();
        }

        for (int s = 0; s < samples; s++)
        {
            long begin = Stopwatch.GetTimestamp();
            Volatile.Write(ref until, begin + (sampleMilliseconds * Stopwatch.Frequency / 1000));
            start.SignalAndWait();
            end.SignalAndWait();
            double seconds = Stopwatch.GetElapsedTime(begin).TotalSeconds;
            results[s] = calls.Sum() * FlopsPerCall<T>(isa) / seconds / 1e9;
        }

        Volatile.Write(ref stop, true);
        start.SignalAndWait();
        foreach (Thread thread in threads)
        {
            thread.Join();
        }

        Array.Sort(results);
        return results[samples / 2];
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static T Chains<T, TV>()
        where T : unmanaged, IFloatingPointIeee754<T>
        where TV : struct, IVector<TV, T>
    {
        TV m = TV.Create(T.CreateTruncating(0.999999));
        TV x = TV.Create(T.CreateTruncating(1e-7));
        TV c0 = TV.Create(T.One), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0, c8 = c0, c9 = c0, c10 = c0, c11 = c0;
        TV c12 = c0, c13 = c0, c14 = c0, c15 = c0, c16 = c0, c17 = c0, c18 = c0, c19 = c0, c20 = c0, c21 = c0, c22 = c0, c23 = c0;
        for (int i = 0; i < Steps; i++)
        {
            c0 = TV.MultiplyAdd(c0, m, x); c1 = TV.MultiplyAdd(c1, m, x); c2 = TV.MultiplyAdd(c2, m, x); c3 = TV.MultiplyAdd(c3, m, x);
            c4 = TV.MultiplyAdd(c4, m, x); c5 = TV.MultiplyAdd(c5, m, x); c6 = TV.MultiplyAdd(c6, m, x); c7 = TV.MultiplyAdd(c7, m, x);
            c8 = TV.MultiplyAdd(c8, m, x); c9 = TV.MultiplyAdd(c9, m, x); c10 = TV.MultiplyAdd(c10, m, x); c11 = TV.MultiplyAdd(c11, m, x);
            c12 = TV.MultiplyAdd(c12, m, x); c13 = TV.MultiplyAdd(c13, m, x); c14 = TV.MultiplyAdd(c14, m, x); c15 = TV.MultiplyAdd(c15, m, x);
            c16 = TV.MultiplyAdd(c16, m, x); c17 = TV.MultiplyAdd(c17, m, x); c18 = TV.MultiplyAdd(c18, m, x); c19 = TV.MultiplyAdd(c19, m, x);
            c20 = TV.MultiplyAdd(c20, m, x); c21 = TV.MultiplyAdd(c21, m, x); c22 = TV.MultiplyAdd(c22, m, x); c23 = TV.MultiplyAdd(c23, m, x);
        }

        TV all = c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11 + c12 + c13 + c14 + c15 + c16 + c17 + c18 + c19 + c20 + c21 + c22 + c23;
        return TV.Sum(all);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static T ScalarChains<T>()
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T m = T.CreateTruncating(0.999999), x = T.CreateTruncating(1e-7);
        T c0 = T.One, c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0, c8 = c0, c9 = c0, c10 = c0, c11 = c0;
        T c12 = c0, c13 = c0, c14 = c0, c15 = c0, c16 = c0, c17 = c0, c18 = c0, c19 = c0, c20 = c0, c21 = c0, c22 = c0, c23 = c0;
        for (int i = 0; i < Steps; i++)
        {
            c0 = ScalarMath.MultiplyAdd(c0, m, x); c1 = ScalarMath.MultiplyAdd(c1, m, x); c2 = ScalarMath.MultiplyAdd(c2, m, x); c3 = ScalarMath.MultiplyAdd(c3, m, x);
            c4 = ScalarMath.MultiplyAdd(c4, m, x); c5 = ScalarMath.MultiplyAdd(c5, m, x); c6 = ScalarMath.MultiplyAdd(c6, m, x); c7 = ScalarMath.MultiplyAdd(c7, m, x);
            c8 = ScalarMath.MultiplyAdd(c8, m, x); c9 = ScalarMath.MultiplyAdd(c9, m, x); c10 = ScalarMath.MultiplyAdd(c10, m, x); c11 = ScalarMath.MultiplyAdd(c11, m, x);
            c12 = ScalarMath.MultiplyAdd(c12, m, x); c13 = ScalarMath.MultiplyAdd(c13, m, x); c14 = ScalarMath.MultiplyAdd(c14, m, x); c15 = ScalarMath.MultiplyAdd(c15, m, x);
            c16 = ScalarMath.MultiplyAdd(c16, m, x); c17 = ScalarMath.MultiplyAdd(c17, m, x); c18 = ScalarMath.MultiplyAdd(c18, m, x); c19 = ScalarMath.MultiplyAdd(c19, m, x);
            c20 = ScalarMath.MultiplyAdd(c20, m, x); c21 = ScalarMath.MultiplyAdd(c21, m, x); c22 = ScalarMath.MultiplyAdd(c22, m, x); c23 = ScalarMath.MultiplyAdd(c23, m, x);
        }

        return c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11 + c12 + c13 + c14 + c15 + c16 + c17 + c18 + c19 + c20 + c21 + c22 + c23;
    }
}
