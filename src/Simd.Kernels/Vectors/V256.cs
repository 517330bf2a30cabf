using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Vec = System.Runtime.Intrinsics.Vector256;

namespace Simd.Kernels;

/// <summary>The 256-bit path (AVX2 + FMA): 8 floats or 4 doubles per vector, 16 registers (32 with AVX-512VL).</summary>
internal readonly struct V256<T> : IVector<V256<T>, T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Vector256<T> _value;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public V256(Vector256<T> value) => _value = value;

    public static int Lanes => Vector256<T>.Count;

    public static V256<T> Zero => default;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V256<T> Create(T value) => new(Vec.Create(value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V256<T> Load(ref T source, nint offset) => new(Vec.LoadUnsafe(ref source, (nuint)offset));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(V256<T> value, ref T destination, nint offset) => value._value.StoreUnsafe(ref destination, (nuint)offset);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe V256<T> LoadFirst(ref T source, nint offset, int count, V256<T> fill)
    {
        if (Avx.IsSupported)
        {
            fixed (T* address = &Unsafe.Add(ref source, offset))
            {
                Vector256<T> mask = LanesBelow(count)._value;
                return new(Vec.ConditionalSelect(mask, MaskLoad(address, mask), fill._value));
            }
        }

        return Partial<T, V256<T>>.Load(ref source, offset, count, fill);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void StoreFirst(V256<T> value, ref T destination, nint offset, int count)
    {
        if (Avx.IsSupported)
        {
            fixed (T* address = &Unsafe.Add(ref destination, offset))
            {
                MaskStore(address, LanesBelow(count)._value, value._value);
                return;
            }
        }

        Partial<T, V256<T>>.Store(value, ref destination, offset, count);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T GetElement(V256<T> value, int index) => value._value.GetElement(index);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V256<T> LaneEquals(int index) => new(Vec.Equals(Vector256<T>.Indices, Vec.Create(T.CreateTruncating(index))));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V256<T> operator +(V256<T> left, V256<T> right) => new(left._value + right._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V256<T> operator -(V256<T> left, V256<T> right) => new(left._value - right._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V256<T> operator *(V256<T> left, V256<T> right) => new(left._value * right._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V256<T> operator /(V256<T> left, V256<T> right) => new(left._value / right._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V256<T> MultiplyAdd(V256<T> a, V256<T> b, V256<T> c)
    {
        if (typeof(T) == typeof(float))
        {
            return new(Vec.MultiplyAddEstimate(a._value.AsSingle(), b._value.AsSingle(), c._value.AsSingle()).As<float, T>());
        }

        return new(Vec.MultiplyAddEstimate(a._value.AsDouble(), b._value.AsDouble(), c._value.AsDouble()).As<double, T>());
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V256<T> Sqrt(V256<T> x) => new(Vec.Sqrt(x._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V256<T> Max(V256<T> left, V256<T> right) => new(Vec.MaxNative(left._value, right._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V256<T> Min(V256<T> left, V256<T> right) => new(Vec.MinNative(left._value, right._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V256<T> LessThanOrEqual(V256<T> left, V256<T> right) => new(Vec.LessThanOrEqual(left._value, right._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V256<T> LessThan(V256<T> left, V256<T> right) => new(Vec.LessThan(left._value, right._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V256<T> Equal(V256<T> left, V256<T> right) => new(Vec.Equals(left._value, right._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V256<T> Select(V256<T> mask, V256<T> whenTrue, V256<T> whenFalse) =>
        new(Vec.ConditionalSelect(mask._value, whenTrue._value, whenFalse._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V256<T> LanesBelow(int count) => new(Vec.LessThan(Vector256<T>.Indices, Vec.Create(T.CreateTruncating(count))));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Sum(V256<T> value) => Vec.Sum(value._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (T A, T B, T C, T D) SumEach(V256<T> a, V256<T> b, V256<T> c, V256<T> d) =>
        (Vec.Sum(a._value), Vec.Sum(b._value), Vec.Sum(c._value), Vec.Sum(d._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T MaxAcross(V256<T> value) => V128<T>.MaxAcross(new V128<T>(Vector128.MaxNative(value._value.GetLower(), value._value.GetUpper())));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int FirstSetLane(V256<T> mask)
    {
        ulong bits = Vec.ExtractMostSignificantBits(mask._value);
        return bits == 0 ? Lanes : BitOperations.TrailingZeroCount(bits);
    }

    /// <summary>
    /// Builds 2^⌊n/2⌋ and 2^(n-⌊n/2⌋) from exponent bits and multiplies by both, so n up to twice the
    /// exponent range works. The integer n is read from the low mantissa bits of n + 1.5·2^(mantissa bits).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V256<T> ScaleByPowerOfTwo(V256<T> x, V256<T> n)
    {
        if (typeof(T) == typeof(float))
        {
            Vector256<float> nf = n._value.AsSingle();
            Vector256<float> half = Vec.Floor(nf * 0.5f);
            return new((x._value.AsSingle() * PowerOfTwo(half) * PowerOfTwo(nf - half)).As<float, T>());
        }

        Vector256<double> nd = n._value.AsDouble();
        Vector256<double> halfD = Vec.Floor(nd * 0.5);
        return new((x._value.AsDouble() * PowerOfTwo(halfD) * PowerOfTwo(nd - halfD)).As<double, T>());
    }

    /// <summary>2ⁿ for integral n within the normal exponent range.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> PowerOfTwo(Vector256<float> n)
    {
        const float shift = 12582912f; // 1.5·2^23: n + shift holds n in its low mantissa bits
        Vector256<int> integer = (n + Vec.Create(shift)).AsInt32() - Vec.Create(BitConverter.SingleToInt32Bits(shift));
        return ((integer + Vec.Create(127)) << 23).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<double> PowerOfTwo(Vector256<double> n)
    {
        const double shift = 6755399441055744.0; // 1.5·2^52
        Vector256<long> integer = (n + Vec.Create(shift)).AsInt64() - Vec.Create(BitConverter.DoubleToInt64Bits(shift));
        return ((integer + Vec.Create(1023L)) << 52).AsDouble();
    }

    /// <summary>vmaskmovps/pd: masked-off lanes read as 0 and never fault.</summary>
    private static unsafe Vector256<T> MaskLoad(T* address, Vector256<T> mask) => typeof(T) == typeof(float)
        ? Avx.MaskLoad((float*)address, mask.AsSingle()).As<float, T>()
        : Avx.MaskLoad((double*)address, mask.AsDouble()).As<double, T>();

    private static unsafe void MaskStore(T* address, Vector256<T> mask, Vector256<T> value)
    {
        if (typeof(T) == typeof(float))
        {
            Avx.MaskStore((float*)address, mask.AsSingle(), value.AsSingle());
        }
        else
        {
            Avx.MaskStore((double*)address, mask.AsDouble(), value.AsDouble());
        }
    }
}
