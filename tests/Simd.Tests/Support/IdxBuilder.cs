using System.Buffers.Binary;
using System.IO.Compression;

namespace Simd.Tests.Support;

/// <summary>Builds small IDX files (and gzip wrappings) for the reader tests.</summary>
public static class IdxBuilder
{
    public static byte[] Images(int count, int rows = 28, int columns = 28, int extraBytes = 0, int missingBytes = 0) =>
        Build(0x00000803, [count, rows, columns], (count * rows * columns) + extraBytes - missingBytes, seed: 7);

    public static byte[] Labels(int count, byte maxLabel = 9) =>
        Build(0x00000801, [count], count, seed: 3, modulo: maxLabel + 1);

    public static byte[] Build(uint magic, int[] dimensions, int dataLength, int seed, int modulo = 256)
    {
        var bytes = new byte[4 + (4 * dimensions.Length) + dataLength];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, magic);
        for (int d = 0; d < dimensions.Length; d++)
        {
            BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4 + (4 * d)), dimensions[d]);
        }

        for (int i = 4 + (4 * dimensions.Length), v = seed; i < bytes.Length; i++, v = (v * 31) + 17)
        {
            bytes[i] = (byte)((v & 0x7fffffff) % modulo);
        }

        return bytes;
    }

    public static byte[] Gzip(byte[] content)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest))
        {
            gzip.Write(content);
        }

        return output.ToArray();
    }

    /// <summary>Writes the four files of a small, consistent MNIST-shaped set (5 train, 3 test) to <paramref name="directory"/>.</summary>
    public static void WriteSmallSet(string directory, bool gzipped)
    {
        Write(directory, "train-images-idx3-ubyte", Images(5), gzipped);
        Write(directory, "train-labels-idx1-ubyte", Labels(5), gzipped);
        Write(directory, "t10k-images-idx3-ubyte", Images(3), gzipped);
        Write(directory, "t10k-labels-idx1-ubyte", Labels(3), gzipped);
    }

    public static void Write(string directory, string name, byte[] content, bool gzipped) =>
        File.WriteAllBytes(Path.Combine(directory, gzipped ? name + ".gz" : name), gzipped ? Gzip(content) : content);
}
