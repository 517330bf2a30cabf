using Simd.Kernels;
using Simd.Tests.Support;

namespace Simd.Tests.Kernels;

/// <summary>Rounding to IEEE binary16 and back: every path bitwise System.Half's own conversions, edge values included.</summary>
public class HalfPrecisionTests
{
    public static TheoryData<IsaPath> Paths => Reference.Paths();

    [Theory]
    [MemberData(nameof(Paths))]
    public void Round_trip_is_system_halfs_conversion_bit_for_bit(IsaPath path)
    {
        float tie = 1 + MathF.Pow(2, -11); // halfway between two halves: ties go to the even one (1)
        float[] edges =
        [
            0f, -0f, 1f, -1f, tie, -tie, 1 + (3 * MathF.Pow(2, -11)), 65504f, 65519.99f, 65520f, -65520f, 1e9f, float.MaxValue,
            float.PositiveInfinity, float.NegativeInfinity, float.NaN, MathF.Pow(2, -14), MathF.Pow(2, -24), MathF.Pow(2, -25),
            MathF.Pow(2, -25) * 1.0001f, MathF.Pow(2, -26), 3e-8f, float.Epsilon, -float.Epsilon, 0.1f, 1f / 3, 255f / 255, 37f / 255,
        ];
        // Random values over the whole range of half (and past it), and many more than one scratch chunk.
        float[] random = [.. Reference.Random<float>(10_007, 5).Select((v, i) => v * MathF.Pow(2, (i % 40) - 25))];
        float[] values = [.. edges, .. random];
        float[] expected = [.. values];
        HalfPrecision.RoundTripReference(expected);
        for (int i = 0; i < values.Length; i++)
        {
            Assert.Equal(BitConverter.SingleToInt32Bits((float)(Half)values[i]), BitConverter.SingleToInt32Bits(expected[i]));
        }

        HalfPrecision.RoundTrip(path, values, new Half[1000]);
        for (int i = 0; i < values.Length; i++)
        {
            Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(values[i]) || (float.IsNaN(expected[i]) && float.IsNaN(values[i])),
                $"{path}: value {i}: {values[i]} against {expected[i]}");
        }

        Assert.Equal(1f, expected[4]);    // the tie went to even
        Assert.Equal(float.PositiveInfinity, expected[9]); // 65520 rounds past the largest half

        var halves = new Half[random.Length];
        var back = new float[random.Length];
        HalfPrecision.ToHalf(path, random, halves);
        HalfPrecision.ToSingle(path, halves, back);
        Assert.Equal(expected[edges.Length..], back);
    }
}
