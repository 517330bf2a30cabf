using System.Numerics;

namespace Simd.Kernels;

/// <summary>
/// Row-wise softmax fused with the cross-entropy loss and its gradient, exactly as the book's
/// SoftmaxWithLoss: y = softmax(z) (max subtracted first), loss = -log(y[t] + 1e-7),
/// dz = (y - onehot(t)) / batch_size.
/// Per-row losses are written out rather than summed here, so the caller sums them in one fixed
/// order however the rows were split among threads.
/// </summary>
public static class SoftmaxCrossEntropy
{
    /// <summary>The book's delta inside the log, which keeps log(0) finite.</summary>
    public const double Delta = 1e-7;

    /// <summary>Per-row losses only (what each numerical-gradient evaluation needs).</summary>
    public static void Forward<T>(
        IsaPath isa,
        ReadOnlySpan<T> logits,     // [rows, cols]
        ReadOnlySpan<byte> labels,  // [rows], each < cols
        int rows, int cols,
        Span<T> rowLosses)          // [rows]
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Validate(logits, labels, rows, cols, rowLosses);
        _ = isa; // scalar loop on every ISA until the vector bodies land
        for (int i = 0; i < rows; i++)
        {
            rowLosses[i] = RowLossReference(logits.Slice(i * cols, cols), labels[i]);
        }
    }

    /// <summary>Per-row losses and the gradient (y - onehot(t)) / <paramref name="batchSize"/>.</summary>
    /// <param name="batchSize">The divisor of the mean loss: the whole batch, even when these rows are a part of it.</param>
    public static void ForwardBackward<T>(
        IsaPath isa,
        ReadOnlySpan<T> logits,     // [rows, cols]
        ReadOnlySpan<byte> labels,  // [rows], each < cols
        int rows, int cols, int batchSize,
        Span<T> rowLosses,          // [rows]
        Span<T> dLogits)            // [rows, cols]; may alias logits
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Validate(logits, labels, rows, cols, rowLosses);
        ShapeCheck.AtLeast(dLogits, (long)rows * cols, nameof(dLogits));
        if (batchSize <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "must be > 0");
        }

        _ = isa; // scalar loop on every ISA until the vector bodies land
        for (int i = 0; i < rows; i++)
        {
            rowLosses[i] = RowReference(logits.Slice(i * cols, cols), labels[i], batchSize, dLogits.Slice(i * cols, cols));
        }
    }

    /// <summary>The book's mean: -Σ log(y[t] + 1e-7) / batch_size, summed in row order.</summary>
    public static T Mean<T>(ReadOnlySpan<T> rowLosses)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T sum = T.Zero;
        foreach (T loss in rowLosses)
        {
            sum += loss;
        }

        return rowLosses.IsEmpty ? T.Zero : sum / T.CreateTruncating(rowLosses.Length);
    }

    /// <summary>Scalar reference for one row: its loss.</summary>
    public static T RowLossReference<T>(ReadOnlySpan<T> z, int label)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T max = RowMax(z);
        T sum = T.Zero;
        foreach (T zj in z)
        {
            sum += T.Exp(zj - max);
        }

        T yt = T.Exp(z[label] - max) / sum;
        return -T.Log(yt + T.CreateTruncating(Delta));
    }

    /// <summary>Scalar reference for one row: writes (y - onehot(t)) / batchSize to dz, returns the row's loss.</summary>
    public static T RowReference<T>(ReadOnlySpan<T> z, int label, int batchSize, Span<T> dz)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T max = RowMax(z);
        T sum = T.Zero;
        for (int j = 0; j < z.Length; j++)
        {
            T e = T.Exp(z[j] - max);
            dz[j] = e; // dz may alias z: z[j] is not read again after this
            sum += e;
        }

        T b = T.CreateTruncating(batchSize);
        T loss = T.Zero;
        for (int j = 0; j < dz.Length; j++)
        {
            T y = dz[j] / sum;
            if (j == label)
            {
                loss = -T.Log(y + T.CreateTruncating(Delta));
                dz[j] = (y - T.One) / b;
            }
            else
            {
                dz[j] = y / b;
            }
        }

        return loss;
    }

    private static T RowMax<T>(ReadOnlySpan<T> z)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T max = z[0];
        for (int j = 1; j < z.Length; j++)
        {
            max = T.Max(max, z[j]);
        }

        return max;
    }

    private static void Validate<T>(ReadOnlySpan<T> logits, ReadOnlySpan<byte> labels, int rows, int cols, Span<T> rowLosses)
    {
        ShapeCheck.NonNegative(rows, nameof(rows));
        if (cols <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(cols), cols, "must be > 0");
        }

        ShapeCheck.AtLeast(logits, (long)rows * cols, nameof(logits));
        ShapeCheck.AtLeast(labels, rows, nameof(labels));
        ShapeCheck.AtLeast(rowLosses, rows, nameof(rowLosses));
        foreach (byte label in labels[..rows])
        {
            if (label >= cols)
            {
                throw new ArgumentOutOfRangeException(nameof(labels), label, $"a label must be < {cols}");
            }
        }
    }
}
