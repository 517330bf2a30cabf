using System.Numerics;
using Simd.Kernels;

namespace Simd.Tests.Support;

/// <summary>Inputs, double-precision references and error bounds shared by the kernel tests.</summary>
public static class Reference
{
    /// <summary>Unit roundoff of T: 2^-24 for float, 2^-53 for double.</summary>
    public static double UnitRoundoff<T>() => typeof(T) == typeof(float) ? Math.Pow(2, -24) : Math.Pow(2, -53);

    /// <summary>
    /// The classic bound for a sum of k products computed in any order with rounding in T:
    /// |computed - exact| &lt;= γ(k+1) Σ|a·b|, γ(n) = n·u / (1 - n·u). We allow twice that (the result is
    /// also compared with a double reference that carries its own, much smaller, error), so a test
    /// built on it cannot flake, yet a wrong product or a missed term is far outside it.
    /// </summary>
    public static double DotBound<T>(int k, double sumOfAbsoluteProducts)
    {
        double nu = (k + 2) * UnitRoundoff<T>();
        return 2 * nu / (1 - nu) * sumOfAbsoluteProducts + double.Epsilon;
    }

    public static T[] Random<T>(int length, ulong seed, double low = -1, double high = 1)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new global::Simd.Training.Rng(seed);
        var values = new T[length];
        for (int i = 0; i < length; i++)
        {
            values[i] = T.CreateTruncating(low + ((high - low) * rng.NextDouble()));
        }

        return values;
    }

    public static double[] ToDouble<T>(ReadOnlySpan<T> values)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var result = new double[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            result[i] = double.CreateTruncating(values[i]);
        }

        return result;
    }

    /// <summary>Every ISA path this machine can run: each test runs on all of them.</summary>
    public static TheoryData<IsaPath> Paths()
    {
        var data = new TheoryData<IsaPath>();
        foreach (IsaPath path in Isa.Supported)
        {
            data.Add(path);
        }

        return data;
    }
}
