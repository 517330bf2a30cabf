using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Vec = System.Runtime.Intrinsics.Vector512;

namespace Simd.Kernels;

/// <summary>The 512-bit path (AVX-512): 16 floats or 8 doubles per vector, 32 registers.</summary>
internal readonly struct V512<T> : IVector<V512<T>, T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Vector512<T> _value;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public V512(Vector512<T> value) => _value = value;

    public static int Lanes => Vector512<T>.Count;

    public static V512<T> Zero => default;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V512<T> Create(T value) => new(Vec.Create(value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V512<T> Load(ref T source, nint offset) => new(Vec.LoadUnsafe(ref source, (nuint)offset));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(V512<T> value, ref T destination, nint offset) => value._value.StoreUnsafe(ref destination, (nuint)offset);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe V512<T> LoadFirst(ref T source, nint offset, int count, V512<T> fill)
    {
        if (Avx512F.IsSupported)
        {
            fixed (T* address = &Unsafe.Add(ref source, offset))
            {
                return new(MaskLoad(address, LanesBelow(count)._value, fill._value));
            }
        }

        return Partial<T, V512<T>>.Load(ref source, offset, count, fill);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void StoreFirst(V512<T> value, ref T destination, nint offset, int count)
    {
        if (Avx512F.IsSupported)
        {
            fixed (T* address = &Unsafe.Add(ref destination, offset))
            {
                MaskStore(address, LanesBelow(count)._value, value._value);
                return;
            }
        }

        Partial<T, V512<T>>.Store(value, ref destination, offset, count);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T GetElement(V512<T> value, int index) => value._value.GetElement(index);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V512<T> LaneEquals(int index) => new(Vec.Equals(Vector512<T>.Indices, Vec.Create(T.CreateTruncating(index))));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V512<T> operator +(V512<T> left, V512<T> right) => new(left._value + right._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V512<T> operator -(V512<T> left, V512<T> right) => new(left._value - right._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V512<T> operator *(V512<T> left, V512<T> right) => new(left._value * right._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V512<T> operator /(V512<T> left, V512<T> right) => new(left._value / right._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V512<T> MultiplyAdd(V512<T> a, V512<T> b, V512<T> c)
    {
        if (typeof(T) == typeof(float))
        {
            return new(Vec.MultiplyAddEstimate(a._value.AsSingle(), b._value.AsSingle(), c._value.AsSingle()).As<float, T>());
        }

        return new(Vec.MultiplyAddEstimate(a._value.AsDouble(), b._value.AsDouble(), c._value.AsDouble()).As<double, T>());
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V512<T> Sqrt(V512<T> x) => new(Vec.Sqrt(x._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V512<T> Max(V512<T> left, V512<T> right) => new(Vec.MaxNative(left._value, right._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V512<T> Min(V512<T> left, V512<T> right) => new(Vec.MinNative(left._value, right._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V512<T> LessThanOrEqual(V512<T> left, V512<T> right) => new(Vec.LessThanOrEqual(left._value, right._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V512<T> LessThan(V512<T> left, V512<T> right) => new(Vec.LessThan(left._value, right._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V512<T> Equal(V512<T> left, V512<T> right) => new(Vec.Equals(left._value, right._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V512<T> Select(V512<T> mask, V512<T> whenTrue, V512<T> whenFalse) =>
        new(Vec.ConditionalSelect(mask._value, whenTrue._value, whenFalse._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V512<T> LanesBelow(int count) => new(Vec.LessThan(Vector512<T>.Indices, Vec.Create(T.CreateTruncating(count))));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Sum(V512<T> value) => Vec.Sum(value._value);

    /// <summary>
    /// Four vectors' sums by a transposing tree: their 128-bit quarters paired and added (vshuff32x4/64x2) until each
    /// quarter of one vector holds one input's partial sums, then the lanes within each quarter (vpermilps/pd): 8
    /// shuffles and 6 adds for four sums where four <see cref="Sum"/>s take about 100 instructions.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (T A, T B, T C, T D) SumEach(V512<T> a, V512<T> b, V512<T> c, V512<T> d)
    {
        if (typeof(T) == typeof(float) && Avx512F.IsSupported)
        {
            Vector512<float> t = Quarters(a._value.AsSingle(), b._value.AsSingle(), c._value.AsSingle(), d._value.AsSingle());
            t += Avx512F.Permute4x32(t, 0b10_11_00_01); // lanes (1, 0, 3, 2) of each quarter
            t += Avx512F.Permute4x32(t, 0b01_00_11_10); // lanes (2, 3, 0, 1)
            return (T.CreateTruncating(t.GetElement(0)), T.CreateTruncating(t.GetElement(4)), T.CreateTruncating(t.GetElement(8)), T.CreateTruncating(t.GetElement(12)));
        }

        if (typeof(T) == typeof(double) && Avx512F.IsSupported)
        {
            Vector512<double> t = Quarters(a._value.AsDouble(), b._value.AsDouble(), c._value.AsDouble(), d._value.AsDouble());
            t += Avx512F.Permute2x64(t, 0b0101_0101); // the two lanes of each quarter swapped
            return (T.CreateTruncating(t.GetElement(0)), T.CreateTruncating(t.GetElement(2)), T.CreateTruncating(t.GetElement(4)), T.CreateTruncating(t.GetElement(6)));
        }

        return (Vec.Sum(a._value), Vec.Sum(b._value), Vec.Sum(c._value), Vec.Sum(d._value));
    }

    /// <summary>Quarter q of the result = the sum of input q's four quarters.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Quarters(Vector512<float> a, Vector512<float> b, Vector512<float> c, Vector512<float> d)
    {
        Vector512<float> ab = Avx512F.Shuffle4x128(a, b, 0b01_00_01_00) + Avx512F.Shuffle4x128(a, b, 0b11_10_11_10); // a0+a2 a1+a3 b0+b2 b1+b3
        Vector512<float> cd = Avx512F.Shuffle4x128(c, d, 0b01_00_01_00) + Avx512F.Shuffle4x128(c, d, 0b11_10_11_10);
        return Avx512F.Shuffle4x128(ab, cd, 0b10_00_10_00) + Avx512F.Shuffle4x128(ab, cd, 0b11_01_11_01);
    }

    /// <inheritdoc cref="Quarters(Vector512{float}, Vector512{float}, Vector512{float}, Vector512{float})"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<double> Quarters(Vector512<double> a, Vector512<double> b, Vector512<double> c, Vector512<double> d)
    {
        Vector512<double> ab = Avx512F.Shuffle4x128(a, b, 0b01_00_01_00) + Avx512F.Shuffle4x128(a, b, 0b11_10_11_10);
        Vector512<double> cd = Avx512F.Shuffle4x128(c, d, 0b01_00_01_00) + Avx512F.Shuffle4x128(c, d, 0b11_10_11_10);
        return Avx512F.Shuffle4x128(ab, cd, 0b10_00_10_00) + Avx512F.Shuffle4x128(ab, cd, 0b11_01_11_01);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T MaxAcross(V512<T> value) => V256<T>.MaxAcross(new V256<T>(Vector256.MaxNative(value._value.GetLower(), value._value.GetUpper())));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int FirstSetLane(V512<T> mask)
    {
        ulong bits = Vec.ExtractMostSignificantBits(mask._value);
        return bits == 0 ? Lanes : BitOperations.TrailingZeroCount(bits);
    }

    /// <summary>vscalefps/pd: exact scaling by 2ⁿ in one instruction.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static V512<T> ScaleByPowerOfTwo(V512<T> x, V512<T> n)
    {
        if (typeof(T) == typeof(float))
        {
            return new(Avx512F.Scale(x._value.AsSingle(), n._value.AsSingle()).As<float, T>());
        }

        return new(Avx512F.Scale(x._value.AsDouble(), n._value.AsDouble()).As<double, T>());
    }

    private static unsafe Vector512<T> MaskLoad(T* address, Vector512<T> mask, Vector512<T> fill) => typeof(T) == typeof(float)
        ? Avx512F.MaskLoad((float*)address, mask.AsSingle(), fill.AsSingle()).As<float, T>()
        : Avx512F.MaskLoad((double*)address, mask.AsDouble(), fill.AsDouble()).As<double, T>();

    private static unsafe void MaskStore(T* address, Vector512<T> mask, Vector512<T> value)
    {
        if (typeof(T) == typeof(float))
        {
            Avx512F.MaskStore((float*)address, mask.AsSingle(), value.AsSingle());
        }
        else
        {
            Avx512F.MaskStore((double*)address, mask.AsDouble(), value.AsDouble());
        }
    }
}
