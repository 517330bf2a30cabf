using System.Numerics;
using System.Runtime.InteropServices;

namespace Simd.Kernels;

/// <summary>Column sums of a row-major matrix: the bias gradients db = Σ_rows dZ.</summary>
public static class ColumnSums
{
    /// <summary>
    /// sums[j] = Σ_i x[i, j], rows added in order on every path (vectors run along the columns), so
    /// the result is bitwise the reference's and never depends on threading.
    /// </summary>
    public static void Compute<T>(
        IsaPath isa,
        ReadOnlySpan<T> x, // [rows, cols]
        int rows, int cols,
        Span<T> sums)      // [cols]
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Validate(x, rows, cols, sums);
        int done = Isa.Effective(isa) switch
        {
            IsaPath.Vector512 => Vectors<T, V512<T>>(x, rows, cols, sums),
            IsaPath.Vector256 => Vectors<T, V256<T>>(x, rows, cols, sums),
            IsaPath.Vector128 => Vectors<T, V128<T>>(x, rows, cols, sums),
            _ => 0,
        };

        // Columns the vectors did not cover (or all of them on the scalar path).
        for (int j = done; j < cols; j++)
        {
            T sum = T.Zero;
            for (int i = 0; i < rows; i++)
            {
                sum += x[(i * cols) + j];
            }

            sums[j] = sum;
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
                sum += x[(i * cols) + j];
            }

            sums[j] = sum;
        }
    }

    /// <summary>Sums whole vectors of columns; returns how many columns it covered.</summary>
    private static int Vectors<T, TV>(ReadOnlySpan<T> x, int rows, int cols, Span<T> sums)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TV : struct, IVector<TV, T>
    {
        int lanes = TV.Lanes;
        ref T xs = ref MemoryMarshal.GetReference(x);
        ref T s = ref MemoryMarshal.GetReference(sums);
        int j = 0;
        for (; j <= cols - lanes; j += lanes)
        {
            TV sum = TV.Zero;
            for (nint i = 0, offset = j; i < rows; i++, offset += cols)
            {
                sum += TV.Load(ref xs, offset);
            }

            TV.Store(sum, ref s, j);
        }

        return j;
    }

    private static void Validate<T>(ReadOnlySpan<T> x, int rows, int cols, Span<T> sums)
    {
        ShapeCheck.NonNegative(rows, nameof(rows));
        ShapeCheck.NonNegative(cols, nameof(cols));
        ShapeCheck.AtLeast(x, (long)rows * cols, nameof(x));
        ShapeCheck.AtLeast(sums, cols, nameof(sums));
    }
}
