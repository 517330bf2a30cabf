using System.Numerics;
using Simd.Kernels;

namespace Simd.Training;

/// <summary>
/// Images and their class labels. The pixels stay bytes (a quarter of float32's memory traffic: the
/// evaluation and the batch sampling read them from memory every time) and are normalized as they are
/// copied out, exactly as the book's load_mnist(normalize=True): float32(pixel) / 255 — and, for a
/// double network, that float32 value widened, as numpy widens it against the float64 weights.
/// </summary>
public sealed class Dataset<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>The divisor of the normalization: pixels 0-255 become [0, 1].</summary>
    public const float PixelScale = 255f;

    private readonly byte[] _pixels; // [Count, Features]
    private readonly byte[] _labels; // [Count]

    private Dataset(byte[] pixels, byte[] labels, int count, int features, int classCount)
    {
        _pixels = pixels;
        _labels = labels;
        Count = count;
        Features = features;
        ClassCount = classCount;
    }

    /// <summary>Number of images.</summary>
    public int Count { get; }

    /// <summary>Values per image (784 for MNIST).</summary>
    public int Features { get; }

    /// <summary>Number of classes; every label is below it (10 for MNIST).</summary>
    public int ClassCount { get; }

    /// <summary>All pixels, 0-255, row-major: [Count, Features].</summary>
    public ReadOnlySpan<byte> Pixels => _pixels;

    /// <summary>All labels: [Count].</summary>
    public ReadOnlySpan<byte> Labels => _labels;

    /// <summary>Builds a dataset from raw pixels 0-255 ([count, features]) and labels ([count], each &lt; classCount).</summary>
    public static Dataset<T> FromBytes(ReadOnlySpan<byte> pixels, ReadOnlySpan<byte> labels, int count, int features, int classCount)
    {
        if (count < 0 || features <= 0 || pixels.Length != (long)count * features || labels.Length != count)
        {
            throw new ArgumentException(
                $"pixels ({pixels.Length}) and labels ({labels.Length}) do not match {count} images of {features} values");
        }

        if (classCount is < 1 or > 256 || (count > 0 && labels.IndexOfAnyExceptInRange((byte)0, (byte)(classCount - 1)) >= 0))
        {
            throw new ArgumentException($"every label must be below the class count {classCount}");
        }

        if (typeof(T) != typeof(float) && typeof(T) != typeof(double))
        {
            throw new NotSupportedException($"element type {typeof(T).Name}: the kernels support float and double");
        }

        return new Dataset<T>(pixels.ToArray(), labels.ToArray(), count, features, classCount);
    }

    /// <summary>The book's normalization of one pixel: float32(p) / 255, then widened to T.</summary>
    public static T Normalize(byte pixel) => NormalizeBytes.Reference<T>(pixel, PixelScale);

    /// <summary>Images [start, start + count), normalized, into <paramref name="destination"/> ([count, Features]).</summary>
    public void CopyImages(IsaPath isa, int start, int count, Span<T> destination) =>
        NormalizeBytes.Divide(isa, _pixels.AsSpan(start * Features, count * Features), PixelScale, destination[..(count * Features)]);

    /// <summary>
    /// The images (normalized) and labels at <paramref name="indices"/>, in order, into
    /// <paramref name="images"/> ([indices.Length, Features]) and <paramref name="labels"/> ([indices.Length]).
    /// </summary>
    public void Gather(IsaPath isa, ReadOnlySpan<int> indices, Span<T> images, Span<byte> labels)
    {
        for (int r = 0; r < indices.Length; r++)
        {
            CopyImages(isa, indices[r], 1, images.Slice(r * Features, Features));
            labels[r] = _labels[indices[r]];
        }
    }

    /// <summary>
    /// Asks the CPU to bring image <paramref name="index"/> into the L2 cache (a hint; nothing on CPUs
    /// without prefetch instructions). Training prefetches the next batch while it computes this one:
    /// a batch is 100 images scattered over the whole set, which on demand cost as much as the gradient.
    /// </summary>
    public void Prefetch(int index) => Kernels.Prefetch.ToL2(_pixels.AsSpan(index * Features, Features));

    /// <summary>A copy of the images (normalized) and labels at <paramref name="indices"/> (for small fixed batches: gradcheck, compare).</summary>
    public (T[] Images, byte[] Labels) Take(ReadOnlySpan<int> indices)
    {
        var images = new T[indices.Length * Features];
        var labels = new byte[indices.Length];
        Gather(IsaPath.Scalar, indices, images, labels);

        return (images, labels);
    }

    /// <summary>A dataset of the images at <paramref name="indices"/>, in that order (their bytes copied).</summary>
    public Dataset<T> Select(ReadOnlySpan<int> indices)
    {
        var pixels = new byte[indices.Length * Features];
        var labels = new byte[indices.Length];
        for (int i = 0; i < indices.Length; i++)
        {
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)indices[i], (uint)Count, nameof(indices));
            _pixels.AsSpan(indices[i] * Features, Features).CopyTo(pixels.AsSpan(i * Features));
            labels[i] = _labels[indices[i]];
        }

        return FromBytes(pixels, labels, indices.Length, Features, ClassCount);
    }
}
