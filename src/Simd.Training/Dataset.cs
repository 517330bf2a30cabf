using System.Numerics;

namespace Simd.Training;

/// <summary>
/// Images normalized as the book's load_mnist(normalize=True) does, and their class labels.
/// The book divides in float32 (<c>x.astype(np.float32) / 255.0</c>) and numpy then widens to
/// float64 when it meets the float64 weights; we do the same, so a double run sees the very
/// values the book's run sees.
/// </summary>
public sealed class Dataset<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly T[] _images;  // [Count, Features]
    private readonly byte[] _labels; // [Count]

    private Dataset(T[] images, byte[] labels, int count, int features, int classCount)
    {
        _images = images;
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

    /// <summary>All images, row-major: [Count, Features], values in [0, 1].</summary>
    public ReadOnlySpan<T> Images => _images;

    /// <summary>All labels: [Count].</summary>
    public ReadOnlySpan<byte> Labels => _labels;

    /// <summary>One image: [Features].</summary>
    public ReadOnlySpan<T> Image(int index) => _images.AsSpan(index * Features, Features);

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

        T[] images = GC.AllocateUninitializedArray<T>(count * features, pinned: true);
        for (int i = 0; i < images.Length; i++)
        {
            images[i] = Normalize(pixels[i]);
        }

        return new Dataset<T>(images, labels.ToArray(), count, features, classCount);
    }

    /// <summary>The book's normalization of one pixel: float32(p) / 255, then widened to T.</summary>
    public static T Normalize(byte pixel) => T.CreateTruncating(pixel / 255f);

    /// <summary>A copy of the images and labels at <paramref name="indices"/> (for small fixed batches: gradcheck, compare).</summary>
    public (T[] Images, byte[] Labels) Take(ReadOnlySpan<int> indices)
    {
        var images = new T[indices.Length * Features];
        var labels = new byte[indices.Length];
        for (int i = 0; i < indices.Length; i++)
        {
            Image(indices[i]).CopyTo(images.AsSpan(i * Features));
            labels[i] = _labels[indices[i]];
        }

        return (images, labels);
    }
}
