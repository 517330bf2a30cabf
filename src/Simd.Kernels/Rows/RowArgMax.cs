using System.Numerics;

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
        _ = isa; // scalar loop on every ISA until the vector bodies land
        int matches = 0;
        for (int i = 0; i < rows; i++)
        {
            matches += Reference(x.Slice(i * cols, cols)) == labels[i] ? 1 : 0;
        }

        return matches;
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
