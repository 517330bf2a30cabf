using System.Numerics;
using Simd.Kernels;
using Simd.Tests.Support;

namespace Simd.Tests.Kernels;

/// <summary>The vector operations that are more than one instruction, against their definitions, for every width this CPU has.</summary>
public class VectorTests
{
    /// <summary>SumEach gives each vector's lane sum: with integers every order of adding is exact, so they must be equal.</summary>
    [Fact]
    public void Sum_each_gives_the_four_sums()
    {
        SumEach<float, V128<float>>();
        SumEach<double, V128<double>>();
        if (Isa.Supported.Contains(IsaPath.Vector256))
        {
            SumEach<float, V256<float>>();
            SumEach<double, V256<double>>();
        }

        if (Isa.Supported.Contains(IsaPath.Vector512))
        {
            SumEach<float, V512<float>>();
            SumEach<double, V512<double>>();
        }
    }

    private static void SumEach<T, TV>()
        where T : unmanaged, IFloatingPointIeee754<T>
        where TV : struct, IVector<TV, T>
    {
        var random = new Random(TV.Lanes);
        for (int round = 0; round < 20; round++)
        {
            T[][] values = [.. Enumerable.Range(0, 4).Select(_ => Enumerable.Range(0, TV.Lanes).Select(_ => T.CreateTruncating(random.Next(-1000, 1000))).ToArray())];
            (T a, T b, T c, T d) = TV.SumEach(TV.Load(ref values[0][0], 0), TV.Load(ref values[1][0], 0), TV.Load(ref values[2][0], 0), TV.Load(ref values[3][0], 0));
            T[] expected = [.. values.Select(v => v.Aggregate(T.Zero, (sum, x) => sum + x))];
            Assert.Equal(expected, new[] { a, b, c, d });
        }
    }
}
