using System.Numerics;

namespace Simd.Kernels;

/// <summary>Column sums of a row-major matrix: the bias gradients db = Σ_rows dZ.</summary>
public static class ColumnSums
{
    /// <summary>sums[j] = Σ_i x[i, j], rows added in order (so the result never depends on threading).</summary>
    public static void Compute<T>(
        IsaPath isa,
        ReadOnlySpan<T> x, // [rows, cols]
        int rows, int cols,
        Span<T> sums)      // [cols]
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Validate(x, rows, cols, sums);
        _ = isa; // scalar loop on every ISA until the vector bodies land
        Span<T> s = sums[..cols];
        s.Clear();
        for (int i = 0; i < rows; i++)
        {
            ReadOnlySpan<T> row = x.Slice(i * cols, cols);
            for (int j = 0; j < cols; j++)
            {
                s[j] += row[j];
            }
        }
    }

    /// <summary>The algorithmic reference: one column at a time.</summary>
    public static void Reference<T>(ReadOnlySpan<T> x, int rows, int cols, Span<T> sums)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Validate(x, rows, cols, sums);
        for (int j = 0; j < cols; j++)
        {
            T sum = T.Zero;
            for (int i = 0; i < rows; i++)
            {
                sum += x[i * cols + j];
            }

            sums[j] = sum;
        }
    }

    private static void Validate<T>(ReadOnlySpan<T> x, int rows, int cols, Span<T> sums)
    {
        ShapeCheck.NonNegative(rows, nameof(rows));
        ShapeCheck.NonNegative(cols, nameof(cols));
        ShapeCheck.AtLeast(x, (long)rows * cols, nameof(x));
        ShapeCheck.AtLeast(sums, cols, nameof(sums));
    }
}
