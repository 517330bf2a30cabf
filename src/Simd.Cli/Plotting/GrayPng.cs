using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace Simd.Cli.Plotting;

/// <summary>
/// An 8-bit grayscale PNG (RFC 2083): the signature, IHDR, one zlib IDAT of filter-0 rows, IEND, each chunk with its
/// CRC-32. Enough for a picture of digits where an SVG does not suit; nothing else of PNG is written.
/// </summary>
internal static class GrayPng
{
    private static readonly byte[] Signature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>The PNG of <paramref name="pixels"/> [height, width], 0 black to 255 white.</summary>
    public static byte[] Encode(ReadOnlySpan<byte> pixels, int width, int height)
    {
        if (width < 1 || height < 1 || pixels.Length != (long)width * height)
        {
            throw new ArgumentException($"{pixels.Length} pixels are not a {width}x{height} picture");
        }

        using var png = new MemoryStream();
        png.Write(Signature);
        Span<byte> header = stackalloc byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header[4..], height);
        header[8] = 8;  // bits per sample
        header[9] = 0;  // grayscale
        header[10] = 0; // deflate
        header[11] = 0; // adaptive filtering (every row filter 0: none)
        header[12] = 0; // no interlace
        Chunk(png, "IHDR", header);

        using var raw = new MemoryStream();
        using (var zlib = new ZLibStream(raw, CompressionLevel.Optimal, leaveOpen: true))
        {
            for (int y = 0; y < height; y++)
            {
                zlib.WriteByte(0);
                zlib.Write(pixels.Slice(y * width, width));
            }
        }

        Chunk(png, "IDAT", raw.ToArray());
        Chunk(png, "IEND", []);
        return png.ToArray();
    }

    private static void Chunk(Stream png, string type, ReadOnlySpan<byte> data)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(word, data.Length);
        png.Write(word);
        byte[] name = Encoding.ASCII.GetBytes(type);
        png.Write(name);
        png.Write(data);
        var crc = new System.IO.Hashing.Crc32(); // PNG's CRC-32 (ISO 3309), over the type and the data
        crc.Append(name);
        crc.Append(data);
        BinaryPrimitives.WriteUInt32BigEndian(word, crc.GetCurrentHashAsUInt32());
        png.Write(word);
    }
}
