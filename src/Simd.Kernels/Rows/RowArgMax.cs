using System.Numerics;
using System.Runtime.InteropServices;

namespace Simd.Kernels;

/// <summary>Per-row argmax, as numpy's argmax (first index of the maximum), counted against labels: accuracy.</summary>
public static class RowArgMax
{
    /// <summary>How many rows have their argmax equal to their label.</summary>
    public static int CountMatches<T>(
        IsaPath isa,
        ReadOnlySpan<T> x,         // [rows, cols]
        ReadOnlySpan<byte> labels, // [rows]
        int rows, int cols)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Validate(x, labels, rows, cols);
        return Isa.Effective(isa) switch
        {
            IsaPath.Vector512 => Vectors<T, V512<T>>(x, labels, rows, cols),
            IsaPath.Vector256 => Vectors<T, V256<T>>(x, labels, rows, cols),
            IsaPath.Vector128 => Vectors<T, V128<T>>(x, labels, rows, cols),
            _ => ScalarRows(x, labels, 0, rows, cols),
        };
    }

    /// <summary>Scalar reference: the first index holding the row's maximum.</summary>
    public static int Reference<T>(ReadOnlySpan<T> row)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int best = 0;
        for (int j = 1; j < row.Length; j++)
        {
            if (row[j] > row[best])
            {
                best = j;
            }
        }

        return best;
    }

    private static int ScalarRows<T>(ReadOnlySpan<T> x, ReadOnlySpan<byte> labels, int start, int end, int cols)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int matches = 0;
        for (int i = start; i < end; i++)
        {
            matches += Reference(x.Slice(i * cols, cols)) == labels[i] ? 1 : 0;
        }

        return matches;
    }

    /// <summary>
    /// Rows of up to one vector: a masked load (-∞ past the row), the maximum across lanes, and the
    /// first lane equal to it. Wider rows use the reference, and so does a row whose maximum no lane
    /// equals (a NaN).
    /// </summary>
    private static int Vectors<T, TV>(ReadOnlySpan<T> x, ReadOnlySpan<byte> labels, int rows, int cols)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TV : struct, IVector<TV, T>
    {
        if (cols > TV.Lanes)
        {
            return ScalarRows(x, labels, 0, rows, cols);
        }

        ref T xs = ref MemoryMarshal.GetReference(x);
        TV negativeInfinity = TV.Create(T.NegativeInfinity);
        int matches = 0;
        for (int i = 0; i < rows; i++)
        {
            TV row = TV.LoadFirst(ref xs, (nint)i * cols, cols, negativeInfinity);
            int index = TV.FirstSetLane(TV.Equal(row, TV.Create(TV.MaxAcross(row))));
            if (index >= cols)
            {
                index = Reference(x.Slice(i * cols, cols));
            }

            matches += index == labels[i] ? 1 : 0;
        }

        return matches;
    }

    private static void Validate<T>(ReadOnlySpan<T> x, ReadOnlySpan<byte> labels, int rows, int cols)
    {
        ShapeCheck.NonNegative(rows, nameof(rows));
        if (cols <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(cols), cols, "must be > 0");
        }

        ShapeCheck.AtLeast(x, (long)rows * cols, nameof(x));
        ShapeCheck.AtLeast(labels, rows, nameof(labels));
    }
}
