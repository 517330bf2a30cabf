namespace Simd.Mnist;

/// <summary>What each of the four MNIST files is: the one place for their names, shapes and checksums.</summary>
/// <param name="Name">The IDX file name without <c>.gz</c>.</param>
/// <param name="Kind">Images (3-D) or labels (1-D).</param>
/// <param name="Count">Number of items (images or labels).</param>
/// <param name="RawSha256">SHA-256 of the decompressed content, lower-case hex (SHA256SUMS.raw).</param>
public sealed record MnistFile(string Name, IdxKind Kind, int Count, string RawSha256)
{
    /// <summary>Size of the decompressed file: the IDX header plus one byte per pixel or label.</summary>
    public long RawLength => Kind == IdxKind.Images
        ? IdxReader.HeaderLength(3) + ((long)Count * MnistFiles.ImageRows * MnistFiles.ImageColumns)
        : IdxReader.HeaderLength(1) + Count;
}

/// <summary>The four files of the MNIST database (Y. LeCun, C. Cortes, C. J. C. Burges).</summary>
public static class MnistFiles
{
    public const int ImageRows = 28;
    public const int ImageColumns = 28;
    public const int PixelsPerImage = ImageRows * ImageColumns;
    public const int ClassCount = 10;

    /// <summary>Images in the training set (train-images-idx3-ubyte): an epoch is this over the batch size.</summary>
    public const int TrainCount = 60_000;

    public static readonly MnistFile TrainImages = new(
        "train-images-idx3-ubyte", IdxKind.Images, 60_000, "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db");

    public static readonly MnistFile TrainLabels = new(
        "train-labels-idx1-ubyte", IdxKind.Labels, 60_000, "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5");

    public static readonly MnistFile TestImages = new(
        "t10k-images-idx3-ubyte", IdxKind.Images, 10_000, "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7");

    public static readonly MnistFile TestLabels = new(
        "t10k-labels-idx1-ubyte", IdxKind.Labels, 10_000, "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2");

    /// <summary>All four, in the order they are fetched and verified.</summary>
    public static IReadOnlyList<MnistFile> All { get; } = [TrainImages, TrainLabels, TestImages, TestLabels];
}
