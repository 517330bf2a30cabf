using System.Buffers.Binary;
using Simd.Mnist;

namespace Simd.Tests.Support;

/// <summary>
/// The first <see cref="TrainImages"/> training and <see cref="TestImages"/> test images of the real MNIST, as the four
/// gzipped IDX files of a data directory (written once per test run, removed when it ends): for CLI tests that train
/// and evaluate to check files, resumes and messages, which need real digits but not 70,000 of them.
/// </summary>
public static class SmallMnist
{
    public const int TrainImages = 2000, TestImages = 500;

    private static readonly Lazy<TempDirectory> LazyDirectory = new(Write);

    public static string Directory => LazyDirectory.Value.Path;

    private static TempDirectory Write()
    {
        var dir = new TempDirectory();
        AppDomain.CurrentDomain.ProcessExit += (_, _) => dir.Dispose();
        MnistData data = MnistFixture.Data;
        WriteSplit(dir.Path, "train", data.Train, TrainImages);
        WriteSplit(dir.Path, "t10k", data.Test, TestImages);
        return dir;
    }

    private static void WriteSplit(string directory, string prefix, MnistSplit split, int count)
    {
        byte[] images = new byte[16 + (count * MnistFiles.PixelsPerImage)];
        BinaryPrimitives.WriteUInt32BigEndian(images, 0x00000803);
        BinaryPrimitives.WriteInt32BigEndian(images.AsSpan(4), count);
        BinaryPrimitives.WriteInt32BigEndian(images.AsSpan(8), 28);
        BinaryPrimitives.WriteInt32BigEndian(images.AsSpan(12), 28);
        split.Images.Span[..(count * MnistFiles.PixelsPerImage)].CopyTo(images.AsSpan(16));
        byte[] labels = new byte[8 + count];
        BinaryPrimitives.WriteUInt32BigEndian(labels, 0x00000801);
        BinaryPrimitives.WriteInt32BigEndian(labels.AsSpan(4), count);
        split.Labels.Span[..count].CopyTo(labels.AsSpan(8));
        IdxBuilder.Write(directory, $"{prefix}-images-idx3-ubyte", images, gzipped: true);
        IdxBuilder.Write(directory, $"{prefix}-labels-idx1-ubyte", labels, gzipped: true);
    }
}
