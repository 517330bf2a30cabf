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
/// the file name. Every problem becomes an <see cref="MnistDataException"/> naming the file. Reading
/// is bounded by the header: the reader takes the magic and dimensions first and never reads (or
/// decompresses) more than the size they imply plus one byte (to notice trailing data), and the buffer
/// grows only as data really arrives, so a gzip bomb or a lying header costs no more than the real data.
/// </summary>
public static class IdxReader
{
    /// <summary>The IDX type code for unsigned bytes, the only one MNIST uses.</summary>
    public const byte UnsignedByteType = 0x08;

    /// <summary>The largest content read: one .NET array (the MNIST training images are 47 MB).</summary>
    public static readonly long MaxContentLength = Array.MaxLength;

    /// <summary>Deflate's largest expansion: 258 bytes from about 2 bits.</summary>
    private const long MaxDeflateRatio = 1032;

    /// <summary>The first buffer for content of unknown size; it doubles as data arrives.</summary>
    private const int InitialCapacity = 64 * 1024;

    /// <summary>Bytes before the data: 4 of magic and 4 per dimension.</summary>
    public static int HeaderLength(int dimensionCount) => 4 + (4 * dimensionCount);

    /// <summary>True when <paramref name="start"/> begins with the gzip signature.</summary>
    public static bool IsGzip(ReadOnlySpan<byte> start) => start.Length >= 2 && start[0] == 0x1f && start[1] == 0x8b;

    /// <summary>
    /// The file's content, decompressed when it is gzipped, read no further than its IDX header implies
    /// (see the class remarks). Problems name <paramref name="path"/> as given.
    /// </summary>
    public static byte[] ReadContent(string path)
    {
        if (Directory.Exists(path))
        {
            throw new MnistDataException(path, "is a directory, not a file");
        }

        try
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
            Span<byte> signature = stackalloc byte[2];
            int signatureLength = file.ReadAtLeast(signature, 2, throwOnEndOfStream: false);
            file.Position = 0;
            if (!IsGzip(signature[..signatureLength]))
            {
                return ReadBounded(file, path, file.Length);
            }

            long sizeHint = GzipSizeHint(file);
            using var unzip = new GZipStream(new BufferedStream(file, 64 * 1024), CompressionMode.Decompress);
            return ReadBounded(unzip, path, sizeHint);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new MnistDataException(path, "not found");
        }
        catch (InvalidDataException e)
        {
            throw new MnistDataException(path, "corrupt gzip data (the compressed stream is damaged)", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new MnistDataException(path, $"cannot be read ({e.Message})", e);
        }
    }

    /// <summary>Decompresses a gzip image held in memory, bounded by its IDX header as <see cref="ReadContent"/> is.</summary>
    public static byte[] Gunzip(byte[] gzip, string name)
    {
        try
        {
            using var input = new MemoryStream(gzip, writable: false);
            long sizeHint = GzipSizeHint(input);
            using var unzip = new GZipStream(input, CompressionMode.Decompress);
            return ReadBounded(unzip, name, sizeHint);
        }
        catch (InvalidDataException e)
        {
            throw new MnistDataException(name, "corrupt gzip data (the compressed stream is damaged)", e);
        }
    }

    /// <summary>
    /// Reads an IDX stream: the magic and dimensions, then at most the data they imply and one byte more.
    /// A header that is not IDX (or is cut short) ends the reading there; <see cref="Parse"/> then says
    /// what is wrong with what was read.
    /// </summary>
    /// <param name="sizeHint">The size the content is likely to have (a raw file's length, gzip's ISIZE):
    /// the first buffer's size when the header agrees, never more than the header implies.</param>
    private static byte[] ReadBounded(Stream stream, string name, long sizeHint)
    {
        var magic = new byte[4];
        int read = stream.ReadAtLeast(magic, magic.Length, throwOnEndOfStream: false);
        if (read < magic.Length || magic[0] != 0 || magic[1] != 0 || magic[2] != UnsignedByteType)
        {
            return CheckedHeaderProblem(stream, magic[..read]);
        }

        int dimensionCount = magic[3];
        byte[] header = new byte[HeaderLength(dimensionCount)];
        magic.CopyTo(header, 0);
        read = stream.ReadAtLeast(header.AsSpan(4), header.Length - 4, throwOnEndOfStream: false);
        if (read < header.Length - 4)
        {
            return CheckedHeaderProblem(stream, header[..(4 + read)]);
        }

        long dataLength = 1;
        for (int d = 0; d < dimensionCount; d++)
        {
            int size = BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(4 + (4 * d)));
            if (size <= 0)
            {
                return CheckedHeaderProblem(stream, header); // Parse names the dimension
            }

            if (dataLength > (MaxContentLength - header.Length) / size)
            {
                throw new MnistDataException(name,
                    $"the header's dimensions ({DimensionsText(header, dimensionCount)}) need more than {MaxContentLength:N0} bytes of data, more than any IDX file this reader takes");
            }

            dataLength *= size;
        }

        long total = header.Length + dataLength;
        long hint = sizeHint >= header.Length && sizeHint <= total ? sizeHint : InitialCapacity;
        byte[] content = new byte[Math.Min(total, Math.Max(hint, header.Length))];
        header.CopyTo(content, 0);
        int length = header.Length;
        while (length < total)
        {
            if (length == content.Length)
            {
                Array.Resize(ref content, (int)Math.Min(total, 2L * content.Length));
            }

            int n = stream.Read(content, length, content.Length - length);
            if (n == 0)
            {
                return content[..length]; // truncated: Parse reports it
            }

            length += n;
        }

        Span<byte> extra = stackalloc byte[1];
        if (stream.Read(extra) > 0)
        {
            // A raw file knows how much follows; a gzip stream is not decompressed further to count it.
            long extraBytes = stream.CanSeek ? stream.Length - total : 0;
            string count = extraBytes == 1 ? "1 unexpected byte" : extraBytes > 1 ? $"{extraBytes:N0} unexpected bytes" : "unexpected bytes";
            throw new MnistDataException(name,
                $"{count} after the {DimensionsText(header, dimensionCount)} data (the header says {dataLength:N0} bytes of data)");
        }

        return content;
    }

    /// <summary>
    /// <paramref name="read"/>, a header that is not a valid IDX header, for Parse to describe, unless the
    /// stream is gzip whose damage is the real cause: then a bounded stretch more is decompressed, so that
    /// a corrupt stream is called corrupt (InvalidDataException) rather than an IDX file with a wrong magic.
    /// </summary>
    private static byte[] CheckedHeaderProblem(Stream stream, byte[] read)
    {
        if (stream is GZipStream)
        {
            byte[] scratch = new byte[16 * 1024];
            for (int total = 0; total < CorruptionProbeLength;)
            {
                int n = stream.Read(scratch);
                if (n == 0)
                {
                    break;
                }

                total += n;
            }
        }

        return read;
    }

    /// <summary>How much more of a gzip stream with a bad IDX header is decompressed to tell damage from a wrong file.</summary>
    private const int CorruptionProbeLength = 1 << 20;

    /// <summary>
    /// Gzip's trailer holds the uncompressed size mod 2^32 (ISIZE): a hint, never a limit, and ignored when
    /// it claims more than deflate's best ratio (1032:1) could give, so a forged trailer cannot make a small
    /// file allocate a large buffer.
    /// </summary>
    private static long GzipSizeHint(Stream compressed)
    {
        if (!compressed.CanSeek || compressed.Length < 18)
        {
            return 0;
        }

        long position = compressed.Position;
        Span<byte> trailer = stackalloc byte[4];
        compressed.Position = compressed.Length - 4;
        int read = compressed.ReadAtLeast(trailer, 4, throwOnEndOfStream: false);
        compressed.Position = position;
        long size = read == 4 ? BinaryPrimitives.ReadUInt32LittleEndian(trailer) : 0;
        return size <= MaxDeflateRatio * compressed.Length ? size : 0;
    }

    private static string DimensionsText(byte[] header, int dimensionCount) =>
        string.Join(" x ", Enumerable.Range(0, dimensionCount).Select(d => BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(4 + (4 * d)))));

    /// <summary>Reads and validates one IDX file of the given kind.</summary>
    public static IdxFile Read(string path, IdxKind kind) => Parse(ReadContent(path), path, kind);

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
