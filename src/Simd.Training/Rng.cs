namespace Simd.Training;

/// <summary>
/// The run's random numbers: xoshiro256** seeded through SplitMix64. Small, fast and allocation-free; its
/// integers and uniform doubles are the same on every machine and .NET version (System.Random promises
/// neither). <see cref="NextGaussian"/> goes through Math.Log and Math.Cos, which .NET leaves to the
/// platform's C library: the same seed gives the same Gaussians on one machine and runtime, and may differ
/// in the last bit elsewhere.
/// </summary>
public struct Rng
{
    private ulong _s0, _s1, _s2, _s3;

    public Rng(ulong seed)
    {
        ulong x = seed;
        _s0 = SplitMix64(ref x);
        _s1 = SplitMix64(ref x);
        _s2 = SplitMix64(ref x);
        _s3 = SplitMix64(ref x);
    }

    /// <summary>The generator's whole state (four words), to save in a checkpoint.</summary>
    public readonly ulong[] State => [_s0, _s1, _s2, _s3];

    /// <summary>A generator continuing exactly from a saved <see cref="State"/>.</summary>
    public static Rng FromState(ReadOnlySpan<ulong> state)
    {
        if (state.Length != 4 || (state[0] | state[1] | state[2] | state[3]) == 0)
        {
            throw new ArgumentException("a generator's state is four words, not all zero", nameof(state));
        }

        var rng = default(Rng);
        rng._s0 = state[0];
        rng._s1 = state[1];
        rng._s2 = state[2];
        rng._s3 = state[3];
        return rng;
    }

    /// <summary>Next 64 random bits.</summary>
    public ulong NextUInt64()
    {
        ulong result = ulong.RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = ulong.RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>Uniform in [0, 1), 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform integer in [0, bound), without modulo bias (Lemire's method).</summary>
    public int NextInt(int bound)
    {
        if (bound <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(bound), bound, "must be > 0");
        }

        ulong range = (ulong)bound;
        UInt128 product = (UInt128)NextUInt64() * range;
        ulong low = (ulong)product;
        if (low < range)
        {
            ulong threshold = (0UL - range) % range;
            while (low < threshold)
            {
                product = (UInt128)NextUInt64() * range;
                low = (ulong)product;
            }
        }

        return (int)(product >> 64);
    }

    /// <summary>Standard normal N(0, 1), by the Box–Muller transform (one value per call, for simplicity).</summary>
    public double NextGaussian()
    {
        // 1 - u is in (0, 1], so the log is finite.
        double u1 = 1.0 - NextDouble();
        double u2 = NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    private static ulong SplitMix64(ref ulong x)
    {
        ulong z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>values[i] = std·N(0, 1), drawn in double in order and rounded to T (float and double runs with one seed start alike).</summary>
    public static void FillGaussian<T>(ref Rng rng, Span<T> values, double standardDeviation)
        where T : System.Numerics.INumberBase<T>
    {
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = T.CreateTruncating(standardDeviation * rng.NextGaussian());
        }
    }
}
