using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Simd.Kernels;

/// <summary>
/// Bytes to floating point, divided in float32: y = T(float(x) / divisor). This is numpy's
/// <c>x.astype(np.float32) / 255.0</c> (the book's normalization; a double result is that float32
/// value widened, as numpy widens it against float64 weights). The vector paths divide too — IEEE
/// division is correctly rounded, so every path gives the reference's bits. No float32 reciprocal
/// alone (multiplying by 1/255 in float32 gives a different float for 126 of the 256 bytes); the 512- and
/// 256-bit paths multiply by it and correct once with two fused multiply-adds (<see cref="CorrectedQuotient"/>),
/// which gives the quotient's own bits for every byte when <see cref="ReciprocalIsExact"/> says so
/// (checked for all 256 bytes against the division: true for 255), and divide 4 lanes at a time
/// otherwise. Three FMA-unit ops cost less than a division: see docs/PERFORMANCE.md.
/// </summary>
public static class NormalizeBytes
{
    /// <summary>y[i] = T(float(x[i]) / divisor).</summary>
    public static void Divide<T>(IsaPath isa, ReadOnlySpan<byte> x, float divisor, Span<T> y)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ShapeCheck.SameLength(x, y, nameof(x), nameof(y));
        bool multiply = divisor == Book255.Divisor ? Book255.Exact : ReciprocalIsExact(divisor);
        int done = Isa.Effective(isa) switch
        {
            IsaPath.Vector512 when multiply => Reciprocal512(x, divisor, y),
            IsaPath.Vector256 when multiply && Avx2.IsSupported => Reciprocal256(x, divisor, y),
            IsaPath.Vector128 or IsaPath.Vector256 or IsaPath.Vector512 when Sse41.IsSupported => Vectors128(x, divisor, y),
            _ => 0,
        };

        for (int i = done; i < x.Length; i++)
        {
            y[i] = Reference<T>(x[i], divisor);
        }
    }

    /// <summary>The scalar reference.</summary>
    public static T Reference<T>(byte x, float divisor)
        where T : unmanaged, IFloatingPointIeee754<T>
        => T.CreateTruncating(x / divisor);

    /// <summary>
    /// Whether the quotient by reciprocal and one correction (<see cref="CorrectedQuotient"/>) gives the
    /// bits of float32(b) / divisor for every byte b.
    /// </summary>
    public static bool ReciprocalIsExact(float divisor)
    {
        float reciprocal = 1f / divisor;
        for (int b = 0; b < 256; b++)
        {
            if (BitConverter.SingleToInt32Bits(CorrectedQuotient(b, divisor, reciprocal)) != BitConverter.SingleToInt32Bits(b / divisor))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Markstein's quotient: q = x·r, then q + (x − q·d)·r with both corrections fused (r = 1/d rounded).
    /// The residual x − q·d is exact in a fused multiply-add, so the correction moves q to the rounded
    /// quotient in all but rare cases — which <see cref="ReciprocalIsExact"/> rules out byte by byte.
    /// </summary>
    public static float CorrectedQuotient(float x, float divisor, float reciprocal)
    {
        float q = x * reciprocal;
        return MathF.FusedMultiplyAdd(MathF.FusedMultiplyAdd(-q, divisor, x), reciprocal, q);
    }

    /// <summary>16 bytes per step: <see cref="CorrectedQuotient"/> in every lane.</summary>
    private static int Reciprocal512<T>(ReadOnlySpan<byte> x, float divisor, Span<T> y)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ref byte xs = ref MemoryMarshal.GetReference(x);
        Vector512<float> d = Vector512.Create(divisor);
        Vector512<float> r = Vector512.Create(1f / divisor);
        int i = 0;
        for (; i <= x.Length - 16; i += 16)
        {
            Vector512<float> f = Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(Vector128.LoadUnsafe(ref xs, (nuint)i)));
            Vector512<float> q = f * r;
            Store(Vector512.FusedMultiplyAdd(Vector512.FusedMultiplyAdd(-q, d, f), r, q), y, i);
        }

        return i;
    }

    /// <summary>8 bytes per step: <see cref="CorrectedQuotient"/> in every lane.</summary>
    private static int Reciprocal256<T>(ReadOnlySpan<byte> x, float divisor, Span<T> y)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ref byte xs = ref MemoryMarshal.GetReference(x);
        ref T ys = ref MemoryMarshal.GetReference(y);
        Vector256<float> d = Vector256.Create(divisor);
        Vector256<float> r = Vector256.Create(1f / divisor);
        int i = 0;
        for (; i <= x.Length - 16; i += 8)
        {
            // Loads 16 bytes and uses the low 8: stop while 16 remain, so the load stays inside x.
            Vector256<float> f = Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(Vector128.LoadUnsafe(ref xs, (nuint)i)));
            Vector256<float> q0 = f * r;
            Vector256<float> q = Vector256.FusedMultiplyAdd(Vector256.FusedMultiplyAdd(-q0, d, f), r, q0);
            if (typeof(T) == typeof(float))
            {
                q.As<float, T>().StoreUnsafe(ref ys, (nuint)i);
            }
            else
            {
                Avx.ConvertToVector256Double(q.GetLower()).As<double, T>().StoreUnsafe(ref ys, (nuint)i);
                Avx.ConvertToVector256Double(q.GetUpper()).As<double, T>().StoreUnsafe(ref ys, (nuint)(i + 4));
            }
        }

        return i;
    }

    /// <summary>4 bytes per step.</summary>
    private static int Vectors128<T>(ReadOnlySpan<byte> x, float divisor, Span<T> y)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ref byte xs = ref MemoryMarshal.GetReference(x);
        ref T ys = ref MemoryMarshal.GetReference(y);
        Vector128<float> d = Vector128.Create(divisor);
        int i = 0;
        for (; i <= x.Length - 16; i += 4)
        {
            Vector128<float> q = Sse2.ConvertToVector128Single(Sse41.ConvertToVector128Int32(Vector128.LoadUnsafe(ref xs, (nuint)i))) / d;
            if (typeof(T) == typeof(float))
            {
                q.As<float, T>().StoreUnsafe(ref ys, (nuint)i);
            }
            else
            {
                Sse2.ConvertToVector128Double(q).As<double, T>().StoreUnsafe(ref ys, (nuint)i);
                Sse2.ConvertToVector128Double(Sse.MoveHighToLow(q, q)).As<double, T>().StoreUnsafe(ref ys, (nuint)(i + 2));
            }
        }

        return i;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store<T>(Vector512<float> q, Span<T> y, int i)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ref T ys = ref MemoryMarshal.GetReference(y);
        if (typeof(T) == typeof(float))
        {
            q.As<float, T>().StoreUnsafe(ref ys, (nuint)i);
        }
        else
        {
            Avx512F.ConvertToVector512Double(q.GetLower()).As<double, T>().StoreUnsafe(ref ys, (nuint)i);
            Avx512F.ConvertToVector512Double(q.GetUpper()).As<double, T>().StoreUnsafe(ref ys, (nuint)(i + 8));
        }
    }

    /// <summary>The book's divisor, checked once.</summary>
    private static class Book255
    {
        public const float Divisor = 255f;

        public static readonly bool Exact = ReciprocalIsExact(Divisor);
    }
}
