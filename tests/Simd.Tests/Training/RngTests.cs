using Simd.Training;

namespace Simd.Tests.Training;

public class RngTests
{
    [Fact]
    public void Same_seed_same_sequence_and_known_first_values()
    {
        var a = new Rng(42);
        var b = new Rng(42);
        for (int i = 0; i < 100; i++)
        {
            Assert.Equal(a.NextUInt64(), b.NextUInt64());
        }

        // xoshiro256** seeded by SplitMix64(0): the reference implementation's first output.
        var zero = new Rng(0);
        Assert.Equal(0x99EC5F36CB75F2B4UL, zero.NextUInt64());
    }

    [Fact]
    public void NextInt_stays_in_range_and_covers_it()
    {
        var rng = new Rng(1);
        var seen = new int[10];
        for (int i = 0; i < 10_000; i++)
        {
            int v = rng.NextInt(10);
            Assert.InRange(v, 0, 9);
            seen[v]++;
        }

        Assert.All(seen, count => Assert.InRange(count, 850, 1150));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Rng(1).NextInt(0));
    }

    [Fact]
    public void Gaussian_has_mean_0_and_variance_1()
    {
        var rng = new Rng(5);
        double sum = 0, squares = 0;
        const int n = 100_000;
        for (int i = 0; i < n; i++)
        {
            double v = rng.NextGaussian();
            sum += v;
            squares += v * v;
        }

        Assert.InRange(sum / n, -0.02, 0.02);
        Assert.InRange(squares / n, 0.98, 1.02);
    }
}
