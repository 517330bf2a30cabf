using System.Numerics;
using System.Runtime.CompilerServices;

namespace Simd.Kernels;

/// <summary>
/// Vectorized exp(x) for sigmoid and softmax. Method: x = n·ln2 + r with n = round(x / ln2) and
/// |r| &lt;= ln2/2 (ln2 split in two parts so n·ln2_hi is exact), exp(r) by its Taylor polynomial
/// (degree 7 for float, 13 for double: truncation below 1e-8 / 1e-17 relative), then exp(x) = exp(r)·2ⁿ.
/// Range: results below the smallest normal number are flushed to 0 (x &lt; -87.34 in float,
/// -708.40 in double), above the largest finite number they are +∞; NaN stays NaN.
/// Measured accuracy against Math.Exp is stated in the tests (ExpTests).
/// </summary>
public static class Exp
{
    /// <summary>y = exp(x). <paramref name="y"/> may be <paramref name="x"/>.</summary>
    public static void Compute<T>(IsaPath isa, ReadOnlySpan<T> x, Span<T> y)
        where T : unmanaged, IFloatingPointIeee754<T>
        => SpanDriver.Map(isa, x, y, default(Operator<T>));

    /// <summary>The scalar reference: the runtime's exp (Math.Exp / MathF.Exp).</summary>
    public static T Reference<T>(T x)
        where T : unmanaged, IFloatingPointIeee754<T>
        => T.Exp(x);

    /// <summary>exp of every lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static TV Vector<TV, T>(TV x)
        where TV : struct, IVector<TV, T>
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        TV clamped = TV.Min(TV.Max(x, ExpConstants<TV, T>.Low), ExpConstants<TV, T>.High);
        TV shifted = TV.MultiplyAdd(clamped, ExpConstants<TV, T>.Log2E, ExpConstants<TV, T>.Shift);
        TV n = shifted - ExpConstants<TV, T>.Shift;
        TV r = TV.MultiplyAdd(n, ExpConstants<TV, T>.MinusLn2High, clamped);
        r = TV.MultiplyAdd(n, ExpConstants<TV, T>.MinusLn2Low, r);

        TV p;
        if (typeof(T) == typeof(float))
        {
            // 1 + r + r²/2! + ... + r⁷/7!: |r|⁸/8! < 5.2e-9 for |r| <= ln2/2.
            p = TV.MultiplyAdd(ExpConstants<TV, T>.C7, r, ExpConstants<TV, T>.C6);
        }
        else
        {
            // Up to r¹³/13!: |r|¹⁴/14! < 4.1e-18.
            p = TV.MultiplyAdd(ExpConstants<TV, T>.C13, r, ExpConstants<TV, T>.C12);
            p = TV.MultiplyAdd(p, r, ExpConstants<TV, T>.C11);
            p = TV.MultiplyAdd(p, r, ExpConstants<TV, T>.C10);
            p = TV.MultiplyAdd(p, r, ExpConstants<TV, T>.C9);
            p = TV.MultiplyAdd(p, r, ExpConstants<TV, T>.C8);
            p = TV.MultiplyAdd(p, r, ExpConstants<TV, T>.C7);
            p = TV.MultiplyAdd(p, r, ExpConstants<TV, T>.C6);
        }

        p = TV.MultiplyAdd(p, r, ExpConstants<TV, T>.C5);
        p = TV.MultiplyAdd(p, r, ExpConstants<TV, T>.C4);
        p = TV.MultiplyAdd(p, r, ExpConstants<TV, T>.C3);
        p = TV.MultiplyAdd(p, r, ExpConstants<TV, T>.C2);
        p = TV.MultiplyAdd(p, r, ExpConstants<TV, T>.One);
        p = TV.MultiplyAdd(p, r, ExpConstants<TV, T>.One);
        TV result = TV.ScaleByPowerOfTwo(p, n);
        result = TV.Select(TV.LessThan(x, ExpConstants<TV, T>.Low), TV.Zero, result);
        result = TV.Select(TV.LessThan(ExpConstants<TV, T>.High, x), ExpConstants<TV, T>.PositiveInfinity, result);
        return TV.Select(TV.Equal(x, x), result, x);
    }

    private readonly struct Operator<T> : IUnaryOperator<T>
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        public T Invoke(T x) => Reference(x);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public TV Invoke<TV>(TV x)
            where TV : struct, IVector<TV, T>
            => Vector<TV, T>(x);
    }
}

/// <summary>
/// exp's constants as ready-made vectors, built once per (width, type). Loading a field keeps the
/// JIT's inlining budget for the arithmetic: building each constant inline (Create of CreateTruncating)
/// exhausted it and left calls in the loop.
/// </summary>
internal static class ExpConstants<TV, T>
    where TV : struct, IVector<TV, T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private static readonly bool Single = typeof(T) == typeof(float);

    /// <summary>ln of the smallest normal number: below it the result is flushed to 0.</summary>
    public static readonly TV Low = Make(Single ? -87.33654475 : -708.3964185322641);

    /// <summary>ln of the largest finite number: above it the result is +∞.</summary>
    public static readonly TV High = Make(Single ? 88.72283935546875 : 709.782712893384);

    public static readonly TV Log2E = Make(1.4426950408889634);

    /// <summary>1.5·2^(mantissa bits): adding it rounds x·log2(e) to an integer.</summary>
    public static readonly TV Shift = Make(Single ? 12582912.0 : 6755399441055744.0);

    /// <summary>-ln2 in two parts: the high part has few enough bits that n·ln2_high is exact.</summary>
    public static readonly TV MinusLn2High = Make(Single ? -0.693359375 : -6.93147180369123816490e-01);

    public static readonly TV MinusLn2Low = Make(Single ? 2.12194440e-4 : -1.90821492927058770002e-10);

    public static readonly TV One = Make(1);
    public static readonly TV C2 = Make(1.0 / 2);
    public static readonly TV C3 = Make(1.0 / 6);
    public static readonly TV C4 = Make(1.0 / 24);
    public static readonly TV C5 = Make(1.0 / 120);
    public static readonly TV C6 = Make(1.0 / 720);
    public static readonly TV C7 = Make(1.0 / 5040);
    public static readonly TV C8 = Make(1.0 / 40320);
    public static readonly TV C9 = Make(1.0 / 362880);
    public static readonly TV C10 = Make(1.0 / 3628800);
    public static readonly TV C11 = Make(1.0 / 39916800);
    public static readonly TV C12 = Make(1.0 / 479001600);
    public static readonly TV C13 = Make(1.0 / 6227020800);

    public static readonly TV PositiveInfinity = TV.Create(T.PositiveInfinity);

    private static TV Make(double value) => TV.Create(T.CreateTruncating(value));
}
