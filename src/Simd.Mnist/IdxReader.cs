using System.Buffers.Binary;
using System.IO.Compression;

namespace Simd.Mnist;

/// <summary>The two kinds of IDX file MNIST uses.</summary>
public enum IdxKind
{
    /// <summary>Unsigned bytes, 3 dimensions: count x rows x columns (magic 0x00000803).</summary>
    Images,

    /// <summary>Unsigned bytes, 1 dimension: count (magic 0x00000801).</summary>
    Labels,
}

/// <summary>A parsed IDX file: its dimensions and its data, held without copying.</summary>
public sealed class IdxFile
{
    private readonly byte[] _content;
    private readonly int _dataOffset;

    internal IdxFile(string name, IdxKind kind, int[] dimensions, byte[] content, int dataOffset)
    {
        Name = name;
        Kind = kind;
        Dimensions = dimensions;
        _content = content;
        _dataOffset = dataOffset;
    }

    /// <summary>File name, for messages.</summary>
    public string Name { get; }

    public IdxKind Kind { get; }

    /// <summary>Dimensions from the header, outermost first (e.g. 60000, 28, 28).</summary>
    public IReadOnlyList<int> Dimensions { get; }

    /// <summary>Number of items: the first dimension.</summary>
    public int Count => Dimensions[0];

    /// <summary>The data after the header, one byte per element.</summary>
    public ReadOnlyMemory<byte> Data => _content.AsMemory(_dataOffset);
}

/// <summary>
/// Reads IDX files, raw or gzipped: gzip is recognised by its content (the bytes 1f 8b), never by
/// the file name. Every problem becomes an <see cref="MnistDataException"/> naming the file.
/// </summary>
public static class IdxReader
{
    /// <summary>The IDX type code for unsigned bytes, the only one MNIST uses.</summary>
    public const byte UnsignedByteType = 0x08;

    /// <summary>Bytes before the data: 4 of magic and 4 per dimension.</summary>
    public static int HeaderLength(int dimensionCount) => 4 + (4 * dimensionCount);

    /// <summary>True when <paramref name="start"/> begins with the gzip signature.</summary>
    public static bool IsGzip(ReadOnlySpan<byte> start) => start.Length >= 2 && start[0] == 0x1f && start[1] == 0x8b;

    /// <summary>The file's content, decompressed when it is gzipped.</summary>
    public static byte[] ReadContent(string path)
    {
        string name = Path.GetFileName(path);
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new MnistDataException(path, "not found");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new MnistDataException(path, $"cannot be read ({e.Message})", e);
        }

        return IsGzip(bytes) ? Gunzip(bytes, name) : bytes;
    }

    /// <summary>Decompresses a gzip image held in memory.</summary>
    public static byte[] Gunzip(byte[] gzip, string name)
    {
        try
        {
            using var input = new MemoryStream(gzip, writable: false);
            using var unzip = new GZipStream(input, CompressionMode.Decompress);
            // MNIST compresses about 5:1; the stream grows past that when it must.
            using var output = new MemoryStream(gzip.Length * 5);
            unzip.CopyTo(output);
            return output.ToArray();
        }
        catch (InvalidDataException e)
        {
            throw new MnistDataException(name, $"corrupt gzip data ({e.Message})", e);
        }
    }

    /// <summary>Reads and validates one IDX file of the given kind.</summary>
    public static IdxFile Read(string path, IdxKind kind) => Parse(ReadContent(path), Path.GetFileName(path), kind);

    /// <summary>
    /// Validates the header (magic, type, number of dimensions, positive sizes) and that the data
    /// is exactly as long as the dimensions say: no more, no less.
    /// </summary>
    public static IdxFile Parse(byte[] content, string name, IdxKind kind)
    {
        int expectedDimensions = kind == IdxKind.Images ? 3 : 1;
        uint expectedMagic = (uint)((UnsignedByteType << 8) | expectedDimensions);
        string what = kind == IdxKind.Images ? "unsigned-byte images" : "unsigned-byte labels";
        if (content.Length < 4)
        {
            throw new MnistDataException(name, $"truncated: {content.Length} bytes, too short for an IDX header");
        }

        uint magic = BinaryPrimitives.ReadUInt32BigEndian(content);
        if (magic != expectedMagic)
        {
            throw new MnistDataException(name, $"wrong magic number 0x{magic:x8} (expected 0x{expectedMagic:x8} for IDX {what})");
        }

        int headerLength = HeaderLength(expectedDimensions);
        if (content.Length < headerLength)
        {
            throw new MnistDataException(name, $"truncated: {content.Length} bytes, the IDX header needs {headerLength}");
        }

        int[] dimensions = new int[expectedDimensions];
        long dataLength = 1;
        for (int d = 0; d < expectedDimensions; d++)
        {
            int size = BinaryPrimitives.ReadInt32BigEndian(content.AsSpan(4 + (4 * d)));
            if (size <= 0)
            {
                throw new MnistDataException(name, $"dimension {d} is {size}, must be positive");
            }

            dimensions[d] = size;
            dataLength *= size;
        }

        long actual = content.Length - headerLength;
        string shape = string.Join(" x ", dimensions);
        if (actual < dataLength)
        {
            throw new MnistDataException(name, $"truncated: the header says {shape} = {dataLength} bytes of data, the file has {actual}");
        }

        if (actual > dataLength)
        {
            throw new MnistDataException(name, $"{actual - dataLength} unexpected bytes after the {shape} data");
        }

        return new IdxFile(name, kind, dimensions, content, headerLength);
    }
}
