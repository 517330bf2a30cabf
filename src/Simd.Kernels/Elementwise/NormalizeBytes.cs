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
/// division is correctly rounded, so every path gives the reference's bits; no reciprocal shortcut
/// (multiplying by 1/255 in float32 gives a different float for 126 of the 256 bytes).
/// </summary>
public static class NormalizeBytes
{
    /// <summary>y[i] = T(float(x[i]) / divisor).</summary>
    public static void Divide<T>(IsaPath isa, ReadOnlySpan<byte> x, float divisor, Span<T> y)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ShapeCheck.SameLength(x, y, nameof(x), nameof(y));
        int done = Isa.Effective(isa) switch
        {
            IsaPath.Vector512 => Vectors512(x, divisor, y),
            IsaPath.Vector256 when Avx2.IsSupported => Vectors256(x, divisor, y),
            IsaPath.Vector128 or IsaPath.Vector256 when Sse41.IsSupported => Vectors128(x, divisor, y),
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

    /// <summary>16 bytes per step: widen to 16 ints, convert, divide; returns how many were done.</summary>
    private static int Vectors512<T>(ReadOnlySpan<byte> x, float divisor, Span<T> y)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ref byte xs = ref MemoryMarshal.GetReference(x);
        Vector512<float> d = Vector512.Create(divisor);
        int i = 0;
        for (; i <= x.Length - 16; i += 16)
        {
            Vector512<float> q = Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(Vector128.LoadUnsafe(ref xs, (nuint)i))) / d;
            Store(q, y, i);
        }

        return i;
    }

    /// <summary>8 bytes per step.</summary>
    private static int Vectors256<T>(ReadOnlySpan<byte> x, float divisor, Span<T> y)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ref byte xs = ref MemoryMarshal.GetReference(x);
        Vector256<float> d = Vector256.Create(divisor);
        int i = 0;
        for (; i <= x.Length - 16; i += 8)
        {
            // Loads 16 bytes and uses the low 8: stop while 16 remain, so the load stays inside x.
            Vector256<float> q = Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(Vector128.LoadUnsafe(ref xs, (nuint)i))) / d;
            if (typeof(T) == typeof(float))
            {
                q.As<float, T>().StoreUnsafe(ref MemoryMarshal.GetReference(y), (nuint)i);
            }
            else
            {
                ref T ys = ref MemoryMarshal.GetReference(y);
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
}
