using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Simd.Kernels;

/// <summary>
/// One optimizer step on one element or one vector: the parameter and up to two state values are
/// updated in place from the gradient. Every body rounds exactly as its scalar reference (no fused
/// multiply-add, IEEE division and square root), so the vector paths equal the reference bit for bit.
/// </summary>
internal interface IUpdateOperator<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>State buffers the op reads and writes: 0, 1 (velocity, h) or 2 (Adam's m and v).</summary>
    static abstract int StateCount { get; }

    void Invoke(ref T parameter, T gradient, ref T state1, ref T state2);

    void Invoke<TV>(ref TV parameter, TV gradient, ref TV state1, ref TV state2)
        where TV : struct, IVector<TV, T>;
}

/// <summary>
/// The one loop of every optimizer update: one pass over parameters, gradient and state, the widest
/// vector the ISA path allows, the tail element by element with the same arithmetic.
/// </summary>
internal static class UpdateDriver
{
    public static void Run<T, TOp>(IsaPath isa, Span<T> parameters, ReadOnlySpan<T> gradients, Span<T> state1, Span<T> state2, TOp op)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TOp : struct, IUpdateOperator<T>
    {
        ShapeCheck.SameLength(gradients, parameters, nameof(gradients), nameof(parameters));
        if (TOp.StateCount >= 1)
        {
            ShapeCheck.SameLength(state1, parameters, nameof(state1), nameof(parameters));
        }

        if (TOp.StateCount >= 2)
        {
            ShapeCheck.SameLength(state2, parameters, nameof(state2), nameof(parameters));
        }

        int done = 0;
        if (isa >= IsaPath.Vector512 && Isa.IsSupported(IsaPath.Vector512))
        {
            done = Vectors<T, TOp, V512<T>>(parameters, gradients, state1, state2, op);
        }
        else if (isa >= IsaPath.Vector256 && Isa.IsSupported(IsaPath.Vector256))
        {
            done = Vectors<T, TOp, V256<T>>(parameters, gradients, state1, state2, op);
        }
        else if (isa >= IsaPath.Vector128 && Isa.IsSupported(IsaPath.Vector128))
        {
            done = Vectors<T, TOp, V128<T>>(parameters, gradients, state1, state2, op);
        }

        T unused1 = T.Zero, unused2 = T.Zero;
        for (int i = done; i < parameters.Length; i++)
        {
            op.Invoke(
                ref parameters[i],
                gradients[i],
                ref TOp.StateCount >= 1 ? ref state1[i] : ref unused1,
                ref TOp.StateCount >= 2 ? ref state2[i] : ref unused2);
        }
    }

    /// <summary>Whole vectors from the start; returns how many elements it did.</summary>
    private static int Vectors<T, TOp, TV>(Span<T> parameters, ReadOnlySpan<T> gradients, Span<T> state1, Span<T> state2, TOp op)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TOp : struct, IUpdateOperator<T>
        where TV : struct, IVector<TV, T>
    {
        int lanes = TV.Lanes;
        nint length = parameters.Length;
        ref T p = ref MemoryMarshal.GetReference(parameters);
        ref T g = ref MemoryMarshal.GetReference(gradients);
        ref T s1 = ref TOp.StateCount >= 1 ? ref MemoryMarshal.GetReference(state1) : ref Unsafe.NullRef<T>();
        ref T s2 = ref TOp.StateCount >= 2 ? ref MemoryMarshal.GetReference(state2) : ref Unsafe.NullRef<T>();
        nint i = 0;
        for (; i <= length - lanes; i += lanes)
        {
            TV pv = TV.Load(ref p, i);
            TV a = TOp.StateCount >= 1 ? TV.Load(ref s1, i) : TV.Zero;
            TV b = TOp.StateCount >= 2 ? TV.Load(ref s2, i) : TV.Zero;
            op.Invoke(ref pv, TV.Load(ref g, i), ref a, ref b);
            TV.Store(pv, ref p, i);
            if (TOp.StateCount >= 1)
            {
                TV.Store(a, ref s1, i);
            }

            if (TOp.StateCount >= 2)
            {
                TV.Store(b, ref s2, i);
            }
        }

        return (int)i;
    }
}
