using System.Numerics.Tensors;

namespace Simd.Kernels;

/// <summary>
/// IEEE binary16 storage for float32 arithmetic (ch08/half_float_network.py's question: do weights and activations
/// kept in half precision lose accuracy?). A value stored as half is float → half (to nearest, ties to even; beyond
/// ±65504 to infinity; below 2^-24 to 0) and read back exactly; <see cref="RoundTrip"/> does both in place.
/// .NET 10 exposes no F16C (vcvtph2ps/vcvtps2ph) nor AVX-512 FP16 intrinsics (they light up in the JIT from .NET 11),
/// so the vector paths use System.Numerics.Tensors' TensorPrimitives.ConvertToHalf/ConvertToSingle, which do the
/// conversion with integer operations on the widest vectors the CPU has; the scalar path is System.Half's own operators,
/// the reference.
/// </summary>
public static class HalfPrecision
{
    /// <summary>values[i] = (float)(Half)values[i], through <paramref name="scratch"/> in chunks of its length.</summary>
    public static void RoundTrip(IsaPath isa, Span<float> values, Span<Half> scratch)
    {
        if (Isa.Effective(isa) == IsaPath.Scalar || scratch.IsEmpty)
        {
            RoundTripReference(values);
            return;
        }

        for (int start = 0; start < values.Length; start += scratch.Length)
        {
            Span<float> chunk = values[start..Math.Min(values.Length, start + scratch.Length)];
            Span<Half> halves = scratch[..chunk.Length];
            TensorPrimitives.ConvertToHalf(chunk, halves);
            TensorPrimitives.ConvertToSingle(halves, chunk);
        }
    }

    /// <summary>The scalar reference: System.Half's conversions, one value at a time.</summary>
    public static void RoundTripReference(Span<float> values)
    {
        foreach (ref float value in values)
        {
            value = (float)(Half)value;
        }
    }

    /// <summary>destination[i] = (Half)source[i]: the stored form.</summary>
    public static void ToHalf(IsaPath isa, ReadOnlySpan<float> source, Span<Half> destination)
    {
        ShapeCheck.AtLeast(destination, source.Length, nameof(destination));
        if (Isa.Effective(isa) == IsaPath.Scalar)
        {
            for (int i = 0; i < source.Length; i++)
            {
                destination[i] = (Half)source[i];
            }

            return;
        }

        TensorPrimitives.ConvertToHalf(source, destination[..source.Length]);
    }

    /// <summary>destination[i] = (float)source[i]: exact.</summary>
    public static void ToSingle(IsaPath isa, ReadOnlySpan<Half> source, Span<float> destination)
    {
        ShapeCheck.AtLeast(destination, source.Length, nameof(destination));
        if (Isa.Effective(isa) == IsaPath.Scalar)
        {
            for (int i = 0; i < source.Length; i++)
            {
                destination[i] = (float)source[i];
            }

            return;
        }

        TensorPrimitives.ConvertToSingle(source, destination[..source.Length]);
    }
}
