using System.Numerics;
using System.Runtime.InteropServices;

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

    /// <summary>Rows wider than this take the scalar path (the vector path keeps one row on the stack).</summary>
    private const int MaxVectorColumns = 1024;

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
        Run(isa, logits, labels, rows, cols, 0, rowLosses, default);
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

        Run(isa, logits, labels, rows, cols, batchSize, rowLosses, dLogits);
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
        (T max, T sum) = ShiftedExpSum(z);
        T yt = T.Exp(z[label] - max) / sum;
        return -T.Log(yt + T.CreateTruncating(Delta));
    }

    /// <summary>
    /// One row's −log y[t] without the book's δ, as logsumexp(z) − z[t]: the function whose gradient (y − onehot(t))
    /// backprop computes, for a gradient check with no δ / y[t] floor (scalar: a check, not a training path).
    /// </summary>
    public static T RowLossWithoutDelta<T>(ReadOnlySpan<T> z, int label)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        (T max, T sum) = ShiftedExpSum(z);
        return T.Log(sum) + max - z[label];
    }

    /// <summary>The row's max and Σ exp(z_j − max), in order: softmax's denominator, safe from overflow.</summary>
    private static (T Max, T Sum) ShiftedExpSum<T>(ReadOnlySpan<T> z)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T max = RowMax(z);
        T sum = T.Zero;
        foreach (T zj in z)
        {
            sum += T.Exp(zj - max);
        }

        return (max, sum);
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

    /// <summary>batchSize 0 means "losses only" (dLogits unused).</summary>
    private static void Run<T>(IsaPath isa, ReadOnlySpan<T> logits, ReadOnlySpan<byte> labels, int rows, int cols, int batchSize, Span<T> rowLosses, Span<T> dLogits)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        IsaPath path = cols > MaxVectorColumns ? IsaPath.Scalar : Isa.Effective(isa);
        switch (path)
        {
            case IsaPath.Vector512:
                Width<T, V512<T>>(logits, labels, rows, cols, batchSize, rowLosses, dLogits);
                break;
            case IsaPath.Vector256:
                Width<T, V256<T>>(logits, labels, rows, cols, batchSize, rowLosses, dLogits);
                break;
            case IsaPath.Vector128:
                Width<T, V128<T>>(logits, labels, rows, cols, batchSize, rowLosses, dLogits);
                break;
            default:
                for (int i = 0; i < rows; i++)
                {
                    rowLosses[i] = batchSize == 0
                        ? RowLossReference(logits.Slice(i * cols, cols), labels[i])
                        : RowReference(logits.Slice(i * cols, cols), labels[i], batchSize, dLogits.Slice(i * cols, cols));
                }

                break;
        }
    }

    /// <summary>Rows of at most two vectors keep the whole row in registers; longer rows stream.</summary>
    private static void Width<T, TV>(ReadOnlySpan<T> logits, ReadOnlySpan<byte> labels, int rows, int cols, int batchSize, Span<T> rowLosses, Span<T> dLogits)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TV : struct, IVector<TV, T>
    {
        if (cols <= 2 * TV.Lanes)
        {
            SmallRows<T, TV>(logits, labels, rows, cols, batchSize, rowLosses, dLogits);
        }
        else
        {
            Vectors<T, TV>(logits, labels, rows, cols, batchSize, rowLosses, dLogits);
        }
    }

    /// <summary>
    /// Rows of at most two vectors (the network's 10 classes: one vector of 16 floats, or 8 + 2 doubles):
    /// masked loads with -∞ in the lanes past the row, the whole row in registers, masked stores of its
    /// columns. Nothing outside the row is read or written, so dLogits may alias logits.
    /// </summary>
    private static void SmallRows<T, TV>(ReadOnlySpan<T> logits, ReadOnlySpan<byte> labels, int rows, int cols, int batchSize, Span<T> rowLosses, Span<T> dLogits)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TV : struct, IVector<TV, T>
    {
        int lanes = TV.Lanes;
        bool two = cols > lanes;
        int firstCount = two ? lanes : cols, secondCount = cols - firstCount;
        ref T z = ref MemoryMarshal.GetReference(logits);
        ref T dz = ref MemoryMarshal.GetReference(dLogits);
        T delta = T.CreateTruncating(Delta);
        TV negativeInfinity = TV.Create(T.NegativeInfinity);
        TV divisor = TV.Create(T.CreateTruncating(batchSize));
        TV one = ExpConstants<TV, T>.One;
        for (int i = 0; i < rows; i++)
        {
            nint offset = (nint)i * cols;
            TV z0 = TV.LoadFirst(ref z, offset, firstCount, negativeInfinity);
            TV z1 = two ? TV.LoadFirst(ref z, offset + lanes, secondCount, negativeInfinity) : negativeInfinity;
            TV max = TV.Create(TV.MaxAcross(TV.Max(z0, z1)));
            TV e0 = Exp.Vector<TV, T>(z0 - max);
            TV e1 = two ? Exp.Vector<TV, T>(z1 - max) : TV.Zero;
            TV sum = TV.Create(TV.Sum(e0 + e1));
            TV y0 = e0 / sum;
            TV y1 = e1 / sum;
            int label = labels[i];
            rowLosses[i] = -T.Log((label < lanes ? TV.GetElement(y0, label) : TV.GetElement(y1, label - lanes)) + delta);
            if (batchSize != 0)
            {
                TV.StoreFirst((y0 - TV.Select(TV.LaneEquals(label), one, TV.Zero)) / divisor, ref dz, offset, firstCount);
                if (two)
                {
                    TV.StoreFirst((y1 - TV.Select(TV.LaneEquals(label - lanes), one, TV.Zero)) / divisor, ref dz, offset + lanes, secondCount);
                }
            }
        }
    }

    /// <summary>
    /// Each row is copied into a stack buffer padded to whole vectors with -∞ (exp(-∞ - max) = 0 adds
    /// nothing to the sum), worked on in vectors there, and only its real columns are written back:
    /// no read or write ever leaves the row, and dLogits may alias logits.
    /// </summary>
    private static void Vectors<T, TV>(ReadOnlySpan<T> logits, ReadOnlySpan<byte> labels, int rows, int cols, int batchSize, Span<T> rowLosses, Span<T> dLogits)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TV : struct, IVector<TV, T>
    {
        int lanes = TV.Lanes;
        int padded = (cols + lanes - 1) / lanes * lanes;
        Span<T> row = stackalloc T[padded];
        ref T r = ref MemoryMarshal.GetReference(row);
        T delta = T.CreateTruncating(Delta);
        TV divisor = TV.Create(T.CreateTruncating(batchSize));

        for (int i = 0; i < rows; i++)
        {
            logits.Slice(i * cols, cols).CopyTo(row);
            row[cols..].Fill(T.NegativeInfinity);
            TV maxVector = TV.Load(ref r, 0);
            for (int j = lanes; j < padded; j += lanes)
            {
                maxVector = TV.Max(maxVector, TV.Load(ref r, j));
            }

            TV max = TV.Create(TV.MaxAcross(maxVector));
            TV sumVector = TV.Zero;
            for (int j = 0; j < padded; j += lanes)
            {
                TV e = Exp.Vector<TV, T>(TV.Load(ref r, j) - max);
                TV.Store(e, ref r, j);
                sumVector += e;
            }

            T sum = TV.Sum(sumVector);
            int label = labels[i];
            T yt = row[label] / sum;
            rowLosses[i] = -T.Log(yt + delta);
            if (batchSize == 0)
            {
                continue;
            }

            TV sums = TV.Create(sum);
            for (int j = 0; j < padded; j += lanes)
            {
                TV.Store(TV.Load(ref r, j) / sums, ref r, j);
            }

            row[label] -= T.One;
            for (int j = 0; j < padded; j += lanes)
            {
                TV.Store(TV.Load(ref r, j) / divisor, ref r, j);
            }

            row[..cols].CopyTo(dLogits.Slice(i * cols, cols));
        }
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
