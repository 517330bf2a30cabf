using System.Numerics;
using Simd.Kernels;
using Simd.Tests.Support;

namespace Simd.Tests.Kernels;

/// <summary>
/// The products read from pooling phases (<see cref="PhaseConvolution"/>) on every ISA path against their scalar
/// references, bitwise: the values are small integers, so every sum is exact in any order and a wrong product, a
/// missed term, a lane read twice or a tie broken the other way shows as a difference. Filters, window entries,
/// blocks and pooled positions go past every tile edge (1 to 13 filters and 30; k from 1 to 25; Q below one vector,
/// between vectors and the book's 144).
/// </summary>
public class PhaseConvolutionTests
{
    public static TheoryData<IsaPath> Paths => Reference.Paths();

    private static readonly int[] FilterCounts = [1, 2, 5, 6, 7, 13, 30];
    private static readonly int[] Entries = [1, 4, 9, 25];
    private static readonly int[] BlockCounts = [1, 4, 9];
    private static readonly int[] Positions = [1, 5, 8, 15, 16, 17, 49, 144];

    [Theory]
    [MemberData(nameof(Paths))]
    public void The_pooled_forward_is_bitwise_its_reference(IsaPath path)
    {
        Forward<float>(path);
        Forward<double>(path);
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void The_weight_gradient_is_bitwise_its_reference(IsaPath path)
    {
        Gradient<float>(path);
        Gradient<double>(path);
    }

    private static void Forward<T>(IsaPath path)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var random = new Random(3);
        foreach ((int filters, int k, int blocks, int q) in Shapes())
        {
            (T[] phases, int[] offsets) = Phases<T>(random, k, blocks, q);
            T[] weights = Integers<T>(random, filters * k, 2), bias = Integers<T>(random, filters, 3);
            T[] pooled = Filled<T>(filters * q), argmax = Filled<T>(filters * q), pooledExpected = new T[filters * q], argmaxExpected = new T[filters * q];
            PhaseConvolution.ForwardPooled<T>(path, phases, offsets, weights, bias, q, pooled, argmax);
            PhaseConvolution.ForwardPooledReference<T>(phases, offsets, weights, bias, q, pooledExpected, argmaxExpected);
            string where = $"{path} {typeof(T).Name} filters {filters} k {k} blocks {blocks} q {q}";
            Assert.True(pooledExpected.AsSpan().SequenceEqual(pooled), where + ": pooled");
            Assert.True(argmaxExpected.AsSpan().SequenceEqual(argmax), where + ": argmax");

            // Inference keeps no argmax: the same maxima (the tiles fold with a plain maximum then).
            T[] pooledAlone = Filled<T>(filters * q), referenceAlone = Filled<T>(filters * q);
            PhaseConvolution.ForwardPooled<T>(path, phases, offsets, weights, bias, q, pooledAlone, []);
            PhaseConvolution.ForwardPooledReference<T>(phases, offsets, weights, bias, q, referenceAlone, []);
            Assert.True(pooledExpected.AsSpan().SequenceEqual(pooledAlone), where + ": pooled without argmax");
            Assert.True(pooledExpected.AsSpan().SequenceEqual(referenceAlone), where + ": the reference without argmax");
        }
    }

    private static void Gradient<T>(IsaPath path)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var random = new Random(4);
        foreach ((int filters, int k, int blocks, int q) in Shapes())
        {
            (T[] phases, int[] offsets) = Phases<T>(random, k, blocks, q);
            T[] dz = Integers<T>(random, filters * blocks * q, 2);
            T[] start = Integers<T>(random, filters * k, 5);
            foreach (bool accumulate in (bool[])[false, true])
            {
                T[] dW = [.. start], dWExpected = [.. start];
                PhaseConvolution.WeightGradient<T>(path, dz, phases, offsets, filters, q, dW, accumulate);
                PhaseConvolution.WeightGradientReference<T>(dz, phases, offsets, filters, q, dWExpected, accumulate);
                Assert.True(dWExpected.AsSpan().SequenceEqual(dW), $"{path} {typeof(T).Name} filters {filters} k {k} blocks {blocks} q {q} accumulate {accumulate}");
            }
        }
    }

    [Fact]
    public void Offsets_that_read_past_the_phases_are_refused()
    {
        var phases = new float[20];
        var pooled = new float[10];
        var argmax = new float[10];
        Assert.Throws<ArgumentOutOfRangeException>(() => PhaseConvolution.ForwardPooled<float>(IsaPath.Scalar, phases, [0, 11], [1f, 1f], [0f], 10, pooled, argmax));
        Assert.Throws<ArgumentException>(() => PhaseConvolution.ForwardPooled<float>(IsaPath.Scalar, phases, [0, 1, 2], [1f, 1f], [0f], 10, pooled, argmax));
    }

    private static IEnumerable<(int Filters, int K, int Blocks, int Q)> Shapes() =>
        from filters in FilterCounts
        from k in Entries
        from blocks in BlockCounts
        from q in Positions
        select (filters, k, blocks, q);

    /// <summary>Phase rows of length q (one more than the offsets need, so some rows go unread) and offsets [B, K] into them, some repeated.</summary>
    private static (T[] Phases, int[] Offsets) Phases<T>(Random random, int k, int blocks, int q)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int rows = k + blocks;
        int[] offsets = [.. Enumerable.Range(0, blocks * k).Select(_ => random.Next(rows) * q)];
        return (Integers<T>(random, rows * q, 3), offsets);
    }

    /// <summary>Integers in [−range, range]: few values, so maxima tie and ReLU cuts many.</summary>
    private static T[] Integers<T>(Random random, int length, int range)
        where T : unmanaged, IFloatingPointIeee754<T> =>
        [.. Enumerable.Range(0, length).Select(_ => T.CreateTruncating(random.Next(-range, range + 1)))];

    private static T[] Filled<T>(int length)
        where T : unmanaged, IFloatingPointIeee754<T> => [.. Enumerable.Repeat(T.NaN, length)];
}
