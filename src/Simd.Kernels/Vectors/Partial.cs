using System.Numerics;
using System.Runtime.CompilerServices;

namespace Simd.Kernels;

/// <summary>Partial-vector load and store through a stack buffer, where the CPU has no masked memory operations.</summary>
internal static class Partial<T, TV>
    where T : unmanaged, IFloatingPointIeee754<T>
    where TV : struct, IVector<TV, T>
{
    /// <summary>The widest vector there is: 64 bytes.</summary>
    private const int MaxLanes = 64;

    public static TV Load(ref T source, nint offset, int count, TV fill)
    {
        Span<T> buffer = stackalloc T[MaxLanes];
        TV.Store(fill, ref buffer[0], 0);
        for (int i = 0; i < count; i++)
        {
            buffer[i] = Unsafe.Add(ref source, offset + i);
        }

        return TV.Load(ref buffer[0], 0);
    }

    public static void Store(TV value, ref T destination, nint offset, int count)
    {
        Span<T> buffer = stackalloc T[MaxLanes];
        TV.Store(value, ref buffer[0], 0);
        for (int i = 0; i < count; i++)
        {
            Unsafe.Add(ref destination, offset + i) = buffer[i];
        }
    }
}
