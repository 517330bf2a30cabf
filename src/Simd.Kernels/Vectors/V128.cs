using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Vec = System.Runtime.Intrinsics.Vector128;

namespace Simd.Kernels;

/// <summary>The 128-bit path (SSE / NEON): 4 floats or 2 doubles per vector.</summary>
internal readonly struct V128<T> : IVector<V128<T>, T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Vector128<T> _value;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public V128(Vector128<T> value) => _value = value;

    public static int Lanes => Vector128<T>.Count;

    public static V128<T> Zero => default;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V128<T> Create(T value) => new(Vec.Create(value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V128<T> Load(ref T source, nint offset) => new(Vec.LoadUnsafe(ref source, (nuint)offset));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(V128<T> value, ref T destination, nint offset) => value._value.StoreUnsafe(ref destination, (nuint)offset);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe V128<T> LoadFirst(ref T source, nint offset, int count, V128<T> fill)
    {
        if (Avx.IsSupported)
        {
            fixed (T* address = &Unsafe.Add(ref source, offset))
            {
                Vector128<T> mask = LanesBelow(count)._value;
                return new(Vec.ConditionalSelect(mask, MaskLoad(address, mask), fill._value));
            }
        }

        return Partial<T, V128<T>>.Load(ref source, offset, count, fill);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void StoreFirst(V128<T> value, ref T destination, nint offset, int count)
    {
        if (Avx.IsSupported)
        {
            fixed (T* address = &Unsafe.Add(ref destination, offset))
            {
                MaskStore(address, LanesBelow(count)._value, value._value);
                return;
            }
        }

        Partial<T, V128<T>>.Store(value, ref destination, offset, count);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T GetElement(V128<T> value, int index) => value._value.GetElement(index);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V128<T> LaneEquals(int index) => new(Vec.Equals(Vector128<T>.Indices, Vec.Create(T.CreateTruncating(index))));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V128<T> operator +(V128<T> left, V128<T> right) => new(left._value + right._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V128<T> operator -(V128<T> left, V128<T> right) => new(left._value - right._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V128<T> operator *(V128<T> left, V128<T> right) => new(left._value * right._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V128<T> operator /(V128<T> left, V128<T> right) => new(left._value / right._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V128<T> MultiplyAdd(V128<T> a, V128<T> b, V128<T> c)
    {
        if (typeof(T) == typeof(float))
        {
            return new(Vec.MultiplyAddEstimate(a._value.AsSingle(), b._value.AsSingle(), c._value.AsSingle()).As<float, T>());
        }

        return new(Vec.MultiplyAddEstimate(a._value.AsDouble(), b._value.AsDouble(), c._value.AsDouble()).As<double, T>());
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V128<T> Sqrt(V128<T> x) => new(Vec.Sqrt(x._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V128<T> Max(V128<T> left, V128<T> right) => new(Vec.MaxNative(left._value, right._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V128<T> Min(V128<T> left, V128<T> right) => new(Vec.MinNative(left._value, right._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V128<T> LessThanOrEqual(V128<T> left, V128<T> right) => new(Vec.LessThanOrEqual(left._value, right._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V128<T> LessThan(V128<T> left, V128<T> right) => new(Vec.LessThan(left._value, right._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V128<T> Equal(V128<T> left, V128<T> right) => new(Vec.Equals(left._value, right._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V128<T> Select(V128<T> mask, V128<T> whenTrue, V128<T> whenFalse) =>
        new(Vec.ConditionalSelect(mask._value, whenTrue._value, whenFalse._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V128<T> LanesBelow(int count) => new(Vec.LessThan(Vector128<T>.Indices, Vec.Create(T.CreateTruncating(count))));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Sum(V128<T> value) => Vec.Sum(value._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (T A, T B, T C, T D) SumEach(V128<T> a, V128<T> b, V128<T> c, V128<T> d) =>
        (Vec.Sum(a._value), Vec.Sum(b._value), Vec.Sum(c._value), Vec.Sum(d._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T MaxAcross(V128<T> value)
    {
        T max = value._value.GetElement(0);
        for (int i = 1; i < Lanes; i++)
        {
            max = T.MaxNative(max, value._value.GetElement(i));
        }

        return max;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int FirstSetLane(V128<T> mask)
    {
        ulong bits = Vec.ExtractMostSignificantBits(mask._value);
        return bits == 0 ? Lanes : BitOperations.TrailingZeroCount(bits);
    }

    /// <summary>
    /// Builds 2^⌊n/2⌋ and 2^(n-⌊n/2⌋) from exponent bits and multiplies by both, so n up to twice the
    /// exponent range works. The integer n is read from the low mantissa bits of n + 1.5·2^(mantissa bits).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V128<T> ScaleByPowerOfTwo(V128<T> x, V128<T> n)
    {
        if (typeof(T) == typeof(float))
        {
            Vector128<float> nf = n._value.AsSingle();
            Vector128<float> half = Vec.Floor(nf * 0.5f);
            return new((x._value.AsSingle() * PowerOfTwo(half) * PowerOfTwo(nf - half)).As<float, T>());
        }

        Vector128<double> nd = n._value.AsDouble();
        Vector128<double> halfD = Vec.Floor(nd * 0.5);
        return new((x._value.AsDouble() * PowerOfTwo(halfD) * PowerOfTwo(nd - halfD)).As<double, T>());
    }

    /// <summary>2ⁿ for integral n within the normal exponent range.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> PowerOfTwo(Vector128<float> n)
    {
        const float shift = 12582912f; // 1.5·2^23: n + shift holds n in its low mantissa bits
        Vector128<int> integer = (n + Vec.Create(shift)).AsInt32() - Vec.Create(BitConverter.SingleToInt32Bits(shift));
        return ((integer + Vec.Create(127)) << 23).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<double> PowerOfTwo(Vector128<double> n)
    {
        const double shift = 6755399441055744.0; // 1.5·2^52
        Vector128<long> integer = (n + Vec.Create(shift)).AsInt64() - Vec.Create(BitConverter.DoubleToInt64Bits(shift));
        return ((integer + Vec.Create(1023L)) << 52).AsDouble();
    }

    /// <summary>vmaskmovps/pd: masked-off lanes read as 0 and never fault.</summary>
    private static unsafe Vector128<T> MaskLoad(T* address, Vector128<T> mask) => typeof(T) == typeof(float)
        ? Avx.MaskLoad((float*)address, mask.AsSingle()).As<float, T>()
        : Avx.MaskLoad((double*)address, mask.AsDouble()).As<double, T>();

    private static unsafe void MaskStore(T* address, Vector128<T> mask, Vector128<T> value)
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
