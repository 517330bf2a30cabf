using System.Numerics;
using Simd.Kernels;
using Simd.Tests.Support;

namespace Simd.Tests.Kernels;

/// <summary>
/// Every optimizer update on every ISA path and every length 0-131 (every vector remainder of every
/// width, and the scalar tail), three steps in a row, against its scalar reference: bitwise equal, as
/// each body rounds exactly as the reference does (no fused multiply-add; IEEE division and square root).
/// Weight decay too. The states start from random values, so no term is vacuously zero.
/// </summary>
public class OptimizerKernelTests
{
    public static TheoryData<IsaPath> Paths => Reference.Paths();

    private const int MaxLength = 131;

    [Theory]
    [MemberData(nameof(Paths))]
    public void Momentum(IsaPath isa)
    {
        Check<float>(isa, states: 1, (g, p, s1, _) => MomentumUpdate.Apply(isa, g, 0.01f, 0.9f, p, s1),
            (p, g, s1, _) => { var r = MomentumUpdate.Reference(p, g, s1, 0.01f, 0.9f); return (r.Parameter, r.Velocity, 0f); });
        Check<double>(isa, states: 1, (g, p, s1, _) => MomentumUpdate.Apply(isa, g, 0.01, 0.9, p, s1),
            (p, g, s1, _) => { var r = MomentumUpdate.Reference(p, g, s1, 0.01, 0.9); return (r.Parameter, r.Velocity, 0.0); });
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Nesterov(IsaPath isa)
    {
        Check<float>(isa, states: 1, (g, p, s1, _) => NesterovUpdate.Apply(isa, g, 0.01f, 0.9f, 0.81f, 0.019f, p, s1),
            (p, g, s1, _) => { var r = NesterovUpdate.Reference(p, g, s1, 0.01f, 0.9f, 0.81f, 0.019f); return (r.Parameter, r.Velocity, 0f); });
        Check<double>(isa, states: 1, (g, p, s1, _) => NesterovUpdate.Apply(isa, g, 0.01, 0.9, 0.81, 0.019, p, s1),
            (p, g, s1, _) => { var r = NesterovUpdate.Reference(p, g, s1, 0.01, 0.9, 0.81, 0.019); return (r.Parameter, r.Velocity, 0.0); });
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void AdaGrad(IsaPath isa)
    {
        Check<float>(isa, states: 1, (g, p, s1, _) => AdaGradUpdate.Apply(isa, g, 0.01f, p, s1),
            (p, g, s1, _) => { var r = AdaGradUpdate.Reference(p, g, s1, 0.01f); return (r.Parameter, r.Squares, 0f); });
        Check<double>(isa, states: 1, (g, p, s1, _) => AdaGradUpdate.Apply(isa, g, 0.01, p, s1),
            (p, g, s1, _) => { var r = AdaGradUpdate.Reference(p, g, s1, 0.01); return (r.Parameter, r.Squares, 0.0); });
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void RmsProp(IsaPath isa)
    {
        Check<float>(isa, states: 1, (g, p, s1, _) => RmsPropUpdate.Apply(isa, g, 0.01f, 0.99f, 0.01f, p, s1),
            (p, g, s1, _) => { var r = RmsPropUpdate.Reference(p, g, s1, 0.01f, 0.99f, 0.01f); return (r.Parameter, r.Squares, 0f); });
        Check<double>(isa, states: 1, (g, p, s1, _) => RmsPropUpdate.Apply(isa, g, 0.01, 0.99, 0.01, p, s1),
            (p, g, s1, _) => { var r = RmsPropUpdate.Reference(p, g, s1, 0.01, 0.99, 0.01); return (r.Parameter, r.Squares, 0.0); });
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Adam(IsaPath isa)
    {
        Check<float>(isa, states: 2, (g, p, s1, s2) => AdamUpdate.Apply(isa, g, 0.0003f, 0.1f, 0.001f, p, s1, s2),
            (p, g, s1, s2) => AdamUpdate.Reference(p, g, s1, s2, 0.0003f, 0.1f, 0.001f));
        Check<double>(isa, states: 2, (g, p, s1, s2) => AdamUpdate.Apply(isa, g, 0.0003, 0.1, 0.001, p, s1, s2),
            (p, g, s1, s2) => AdamUpdate.Reference(p, g, s1, s2, 0.0003, 0.1, 0.001));
    }

    /// <summary>
    /// A state that decays below the smallest normal value (a weight whose gradient stays 0) becomes 0 on every path,
    /// as in the reference: the velocity, h, m and v of weights whose gradient is 0 and whose state starts just above it.
    /// </summary>
    [Theory]
    [MemberData(nameof(Paths))]
    public void States_falling_below_the_smallest_normal_become_zero(IsaPath isa)
    {
        const int Length = 37;
        float smallest = OptimizerConstants.SmallestNormal<float>();
        Assert.Equal(float.Epsilon * (1 << 23), smallest); // 2⁻¹²⁶: the subnormals' step times 2²³
        float[] Just(float scale) => [.. Enumerable.Range(0, Length).Select(i => (i % 2 == 0 ? 1 : -1) * scale * smallest)];
        float[] zeros = new float[Length], weights = Reference.Random<float>(Length, 7);

        float[] velocity = Just(1.05f), p = [.. weights];
        MomentumUpdate.Apply(isa, zeros, 0.01f, 0.9f, p, velocity);
        Assert.All(velocity, v => Assert.Equal(0f, v));
        Assert.Equal(weights, p);

        velocity = Just(1.05f);
        NesterovUpdate.Apply(isa, zeros, 0.01f, 0.9f, 0.81f, 0.019f, [.. weights], velocity);
        Assert.All(velocity, v => Assert.Equal(0f, v));

        float[] squares = [.. Just(1.005f).Select(MathF.Abs)];
        RmsPropUpdate.Apply(isa, zeros, 0.01f, 0.99f, 0.01f, [.. weights], squares);
        Assert.All(squares, h => Assert.Equal(0f, h));

        float[] m = Just(1.05f), v = [.. Just(1.0005f).Select(MathF.Abs)];
        p = [.. weights];
        AdamUpdate.Apply(isa, zeros, 0.0003f, 0.1f, 0.001f, p, m, v);
        Assert.All(m, x => Assert.Equal(0f, x));
        Assert.All(v, x => Assert.Equal(0f, x));
        Assert.Equal(weights, p);
        Assert.Equal((0f, 0f, 0f), (AdamUpdate.Reference(0.5f, 0f, 1.05f * smallest, 0f, 0.0003f, 0.1f, 0.001f) is var r ? (r.Parameter - 0.5f, r.M, r.V) : default));
    }

    [Fact]
    public void Adams_step_rate_is_the_books()
    {
        // lr_t = lr·√(1 − β2^t) / (1 − β1^t): t = 1 gives lr·√0.001 / 0.1.
        Assert.Equal(0.001 * Math.Sqrt(1 - 0.999) / (1 - 0.9), AdamUpdate.StepRate(0.001, 0.9, 0.999, 1), 1e-18);
        Assert.Equal(0.001 * Math.Sqrt(1 - Math.Pow(0.999, 50)) / (1 - Math.Pow(0.9, 50)), AdamUpdate.StepRate(0.001, 0.9, 0.999, 50), 1e-18);
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Weight_decay_adds_lambda_times_the_weight(IsaPath isa)
    {
        for (int length = 0; length <= MaxLength; length++)
        {
            float[] g = Reference.Random<float>(length, seed: (ulong)length + 1);
            float[] w = Reference.Random<float>(length, seed: (ulong)length + 500);
            float[] expected = [.. g.Select((gi, i) => WeightDecay.Reference(gi, w[i], 0.1f))];
            WeightDecay.Apply(isa, w, 0.1f, g);
            Assert.Equal(expected, g);
        }
    }


    private static void Check<T>(IsaPath isa, int states, Action<T[], T[], T[], T[]> apply, Func<T, T, T, T, (T, T, T)> reference)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int length = 0; length <= MaxLength; length++)
        {
            T[] p = Reference.Random<T>(length, seed: (ulong)length + 1);
            T[] s1 = Reference.Random<T>(length, seed: (ulong)length + 100, low: 0, high: 0.5); // h and v stay non-negative
            T[] s2 = states == 2 ? Reference.Random<T>(length, seed: (ulong)length + 200, low: 0, high: 0.5) : new T[length];
            T[] ep = (T[])p.Clone(), es1 = (T[])s1.Clone(), es2 = (T[])s2.Clone();
            for (int step = 0; step < 3; step++)
            {
                T[] g = Reference.Random<T>(length, seed: (ulong)((length * 7) + step + 300));
                apply(g, p, s1, s2);
                for (int i = 0; i < length; i++)
                {
                    (ep[i], es1[i], T e2) = reference(ep[i], g[i], es1[i], es2[i]);
                    if (states == 2)
                    {
                        es2[i] = e2;
                    }
                }

                Assert.True(ep.AsSpan().SequenceEqual(p), $"{typeof(T).Name} {isa}, length {length}, step {step}: parameters differ from the reference");
                Assert.True(es1.AsSpan().SequenceEqual(s1), $"{typeof(T).Name} {isa}, length {length}, step {step}: state differs from the reference");
                Assert.True(es2.AsSpan().SequenceEqual(s2), $"{typeof(T).Name} {isa}, length {length}, step {step}: second state differs from the reference");
            }
        }
    }
}
