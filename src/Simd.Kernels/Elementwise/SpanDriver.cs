using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Simd.Kernels;

/// <summary>
/// The one loop every elementwise op runs through: the op supplies its bodies, the driver walks the
/// spans with the widest vector the ISA path allows. As TensorPrimitives does, the first and the last
/// vector are computed up front (from the input, before anything is stored, so an op may write over
/// its input: y = x) and stored at the end, which lets the main loop start where the destination is
/// aligned to a whole vector — an unaligned 64-byte store splits across two cache lines — and needs
/// no scalar tail. Spans shorter than a vector fall to the next narrower width, then to scalar.
/// An expensive op (exp) runs one vector per iteration, which already fills the pipes: unrolled copies
/// of its body exceed the JIT's inlining budget and leave calls in the loop. Cheap ops
/// (<see cref="IUnaryOperator{T}.IsCheap"/>) get a loop unrolled four vectors deep.
/// </summary>
internal static class SpanDriver
{
    /// <summary>y[i] = op(x[i]). <paramref name="y"/> may be <paramref name="x"/> itself (not a shifted overlap).</summary>
    public static void Map<T, TOp>(IsaPath isa, ReadOnlySpan<T> x, Span<T> y, TOp op)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TOp : struct, IUnaryOperator<T>
    {
        ShapeCheck.SameLength(x, y, nameof(x), nameof(y));
        int length = x.Length;
        if (isa >= IsaPath.Vector512 && Isa.IsSupported(IsaPath.Vector512) && length >= V512<T>.Lanes)
        {
            MapVectors<T, TOp, V512<T>>(x, y, op);
        }
        else if (isa >= IsaPath.Vector256 && Isa.IsSupported(IsaPath.Vector256) && length >= V256<T>.Lanes)
        {
            MapVectors<T, TOp, V256<T>>(x, y, op);
        }
        else if (isa >= IsaPath.Vector128 && Isa.IsSupported(IsaPath.Vector128) && length >= V128<T>.Lanes)
        {
            MapVectors<T, TOp, V128<T>>(x, y, op);
        }
        else
        {
            for (int i = 0; i < length; i++)
            {
                y[i] = op.Invoke(x[i]);
            }
        }
    }

    /// <summary>z[i] = op(x[i], y[i]). <paramref name="z"/> may be either input itself.</summary>
    public static void Map<T, TOp>(IsaPath isa, ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> z, TOp op)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TOp : struct, IBinaryOperator<T>
    {
        ShapeCheck.SameLength(x, z, nameof(x), nameof(z));
        ShapeCheck.SameLength(y, z, nameof(y), nameof(z));
        int length = x.Length;
        if (isa >= IsaPath.Vector512 && Isa.IsSupported(IsaPath.Vector512) && length >= V512<T>.Lanes)
        {
            MapVectors<T, TOp, V512<T>>(x, y, z, op);
        }
        else if (isa >= IsaPath.Vector256 && Isa.IsSupported(IsaPath.Vector256) && length >= V256<T>.Lanes)
        {
            MapVectors<T, TOp, V256<T>>(x, y, z, op);
        }
        else if (isa >= IsaPath.Vector128 && Isa.IsSupported(IsaPath.Vector128) && length >= V128<T>.Lanes)
        {
            MapVectors<T, TOp, V128<T>>(x, y, z, op);
        }
        else
        {
            for (int i = 0; i < length; i++)
            {
                z[i] = op.Invoke(x[i], y[i]);
            }
        }
    }

    /// <summary>Requires x.Length &gt;= TV.Lanes.</summary>
    private static void MapVectors<T, TOp, TV>(ReadOnlySpan<T> x, Span<T> y, TOp op)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TOp : struct, IUnaryOperator<T>
        where TV : struct, IVector<TV, T>
    {
        int lanes = TV.Lanes;
        nint length = x.Length;
        ref T xs = ref MemoryMarshal.GetReference(x);
        ref T ys = ref MemoryMarshal.GetReference(y);
        TV first = op.Invoke(TV.Load(ref xs, 0));
        TV last = op.Invoke(TV.Load(ref xs, length - lanes));
        nint i = AlignedStart<T, TV>(ref ys);
        if (TOp.IsCheap)
        {
            for (; i <= length - (4 * lanes); i += 4 * lanes)
            {
                TV a = op.Invoke(TV.Load(ref xs, i));
                TV b = op.Invoke(TV.Load(ref xs, i + lanes));
                TV c = op.Invoke(TV.Load(ref xs, i + (2 * lanes)));
                TV d = op.Invoke(TV.Load(ref xs, i + (3 * lanes)));
                TV.Store(a, ref ys, i);
                TV.Store(b, ref ys, i + lanes);
                TV.Store(c, ref ys, i + (2 * lanes));
                TV.Store(d, ref ys, i + (3 * lanes));
            }
        }

        for (; i <= length - lanes; i += lanes)
        {
            TV.Store(op.Invoke(TV.Load(ref xs, i)), ref ys, i);
        }

        TV.Store(first, ref ys, 0);
        TV.Store(last, ref ys, length - lanes);
    }

    private static void MapVectors<T, TOp, TV>(ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> z, TOp op)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TOp : struct, IBinaryOperator<T>
        where TV : struct, IVector<TV, T>
    {
        int lanes = TV.Lanes;
        nint length = x.Length;
        ref T xs = ref MemoryMarshal.GetReference(x);
        ref T ys = ref MemoryMarshal.GetReference(y);
        ref T zs = ref MemoryMarshal.GetReference(z);
        TV first = op.Invoke(TV.Load(ref xs, 0), TV.Load(ref ys, 0));
        TV last = op.Invoke(TV.Load(ref xs, length - lanes), TV.Load(ref ys, length - lanes));
        nint i = AlignedStart<T, TV>(ref zs);
        if (TOp.IsCheap)
        {
            for (; i <= length - (4 * lanes); i += 4 * lanes)
            {
                TV a = op.Invoke(TV.Load(ref xs, i), TV.Load(ref ys, i));
                TV b = op.Invoke(TV.Load(ref xs, i + lanes), TV.Load(ref ys, i + lanes));
                TV c = op.Invoke(TV.Load(ref xs, i + (2 * lanes)), TV.Load(ref ys, i + (2 * lanes)));
                TV d = op.Invoke(TV.Load(ref xs, i + (3 * lanes)), TV.Load(ref ys, i + (3 * lanes)));
                TV.Store(a, ref zs, i);
                TV.Store(b, ref zs, i + lanes);
                TV.Store(c, ref zs, i + (2 * lanes));
                TV.Store(d, ref zs, i + (3 * lanes));
            }
        }

        for (; i <= length - lanes; i += lanes)
        {
            TV.Store(op.Invoke(TV.Load(ref xs, i), TV.Load(ref ys, i)), ref zs, i);
        }

        TV.Store(first, ref zs, 0);
        TV.Store(last, ref zs, length - lanes);
    }

    /// <summary>The first index at which the destination is aligned to a whole vector (0 to lanes - 1).</summary>
    private static unsafe nint AlignedStart<T, TV>(ref T destination)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TV : struct, IVector<TV, T>
    {
        nint vectorBytes = TV.Lanes * sizeof(T);
        nint misalignment = (nint)Unsafe.AsPointer(ref destination) & (vectorBytes - 1);
        return misalignment == 0 ? 0 : (vectorBytes - misalignment) / sizeof(T);
    }
}
