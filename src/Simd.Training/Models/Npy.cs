using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace Simd.Training.Models;

/// <summary>
/// numpy's .npy format (numpy/lib/format.py): the magic "\x93NUMPY", a version, the header's length, a
/// header that is a Python dict literal {'descr': ..., 'fortran_order': ..., 'shape': (...), } padded
/// with spaces and a newline to a multiple of 64 bytes, then the elements. Written in version 1.0; read
/// in 1.0, 2.0 and 3.0, with every field checked.
/// </summary>
public static class Npy
{
    private const int Alignment = 64; // numpy's ARRAY_ALIGN: the data starts on a 64-byte boundary

    /// <summary>A header longer than this is not a header (numpy itself refuses over 10,000 bytes without allow_pickle tricks).</summary>
    private const int MaxHeaderBytes = 10_000;

    private static ReadOnlySpan<byte> Magic => [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    /// <summary>Writes <paramref name="array"/> as a version 1.0 .npy.</summary>
    public static void Write(Stream stream, NpyArray array)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(array);
        string dict = $"{{'descr': '{array.Descr}', 'fortran_order': False, 'shape': {array.ShapeText}, }}";
        int unpadded = Magic.Length + 2 + 2 + dict.Length + 1; // + the newline
        int padding = (Alignment - (unpadded % Alignment)) % Alignment;
        string header = dict + new string(' ', padding) + "\n";
        Span<byte> prefix = stackalloc byte[Magic.Length + 4];
        Magic.CopyTo(prefix);
        prefix[Magic.Length] = 1;
        prefix[Magic.Length + 1] = 0;
        BinaryPrimitives.WriteUInt16LittleEndian(prefix[(Magic.Length + 2)..], (ushort)header.Length);
        stream.Write(prefix);
        stream.Write(Encoding.ASCII.GetBytes(header));
        stream.Write(array.Data);
    }

    /// <summary>
    /// Reads one .npy from <paramref name="stream"/>, never more than its header says plus one byte.
    /// </summary>
    /// <param name="name">The array's name, for the result and the messages.</param>
    /// <param name="maxBytes">The most data this array may hold (a bound against files that claim huge shapes).</param>
    /// <param name="expectedBytes">The whole .npy's size as its container declares it (a zip entry's), checked against
    /// the header before any data is read; null when unknown.</param>
    /// <exception cref="ModelFileException">Anything but a well-formed .npy of a supported type, whose data fills its shape exactly.</exception>
    public static NpyArray Read(Stream stream, string name, long maxBytes, long? expectedBytes = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        Span<byte> prefix = stackalloc byte[Magic.Length + 2];
        if (ReadFully(stream, prefix) < prefix.Length || !prefix[..Magic.Length].SequenceEqual(Magic))
        {
            throw Bad(name, "not a .npy array (no \\x93NUMPY magic)");
        }

        int major = prefix[Magic.Length], minor = prefix[Magic.Length + 1];
        int lengthBytes = (major, minor) switch
        {
            (1, 0) => 2,
            (2, 0) or (3, 0) => 4,
            _ => throw Bad(name, $".npy format version {major}.{minor} is not supported (1.0, 2.0 and 3.0 are)"),
        };
        Span<byte> lengthField = stackalloc byte[4];
        if (ReadFully(stream, lengthField[..lengthBytes]) < lengthBytes)
        {
            throw Bad(name, "the .npy header is cut short");
        }

        long headerLength = lengthBytes == 2 ? BinaryPrimitives.ReadUInt16LittleEndian(lengthField) : BinaryPrimitives.ReadUInt32LittleEndian(lengthField);
        if (headerLength > MaxHeaderBytes)
        {
            throw Bad(name, $"the .npy header claims {headerLength} bytes (at most {MaxHeaderBytes})");
        }

        var headerBytes = new byte[headerLength];
        if (ReadFully(stream, headerBytes) < headerBytes.Length)
        {
            throw Bad(name, "the .npy header is cut short");
        }

        string header;
        try
        {
            header = major == 3 ? new UTF8Encoding(false, true).GetString(headerBytes) : Encoding.Latin1.GetString(headerBytes);
        }
        catch (DecoderFallbackException)
        {
            throw Bad(name, "the .npy header is not valid UTF-8");
        }

        (string descr, bool fortranOrder, int[] shape) = ParseHeader(name, header);
        (NpyType type, int itemSize) = ParseDescr(name, descr);
        long count = 1;
        foreach (int dimension in shape)
        {
            count *= dimension;
            if (count * itemSize > maxBytes)
            {
                throw Bad(name, $"shape {Format(shape)} of {descr} is larger than a model file may hold ({maxBytes} bytes)");
            }
        }

        long byteCount = count * itemSize;
        long wholeBytes = prefix.Length + lengthBytes + headerLength + byteCount;
        if (expectedBytes is { } expected && expected != wholeBytes)
        {
            throw Bad(name, $"the archive declares {expected} bytes but the .npy header implies {wholeBytes} (shape {Format(shape)} of {descr}): the file is damaged");
        }

        byte[] data = ReadGrowing(stream, (int)byteCount, out int read);
        if (read < byteCount)
        {
            throw Bad(name, $"the data is cut short: {read} of {byteCount} bytes for shape {Format(shape)} of {descr}");
        }

        if (stream.ReadByte() >= 0)
        {
            throw Bad(name, $"more bytes than shape {Format(shape)} of {descr} holds");
        }

        if (fortranOrder && shape.Length > 1)
        {
            data = ToRowMajor(name, data, shape, itemSize);
        }

        return NpyArray.Checked(name, type, itemSize, shape, data);
    }

    /// <summary>The dict literal numpy writes; keys in any order, each exactly once, nothing else.</summary>
    private static (string Descr, bool FortranOrder, int[] Shape) ParseHeader(string name, string header)
    {
        var parser = new LiteralParser(header.TrimEnd(' ', '\n', '\r', '\t', '\0'));
        string? descr = null;
        bool? fortranOrder = null;
        int[]? shape = null;
        try
        {
            parser.Expect('{');
            while (!parser.TryTake('}'))
            {
                string key = parser.String();
                parser.Expect(':');
                switch (key)
                {
                    case "descr" when descr is null:
                        descr = parser.String();
                        break;
                    case "fortran_order" when fortranOrder is null:
                        fortranOrder = parser.Boolean();
                        break;
                    case "shape" when shape is null:
                        shape = parser.IntTuple();
                        break;
                    default:
                        throw new FormatException($"unexpected key '{key}'");
                }

                if (!parser.TryTake(','))
                {
                    parser.Expect('}');
                    break;
                }
            }

            parser.End();
        }
        catch (FormatException e)
        {
            throw Bad(name, $"the .npy header is not numpy's dict: {e.Message}");
        }

        if (descr is null || fortranOrder is null || shape is null)
        {
            throw Bad(name, "the .npy header lacks " + (descr is null ? "'descr'" : fortranOrder is null ? "'fortran_order'" : "'shape'"));
        }

        return (descr, fortranOrder.Value, shape);
    }

    private static (NpyType Type, int ItemSize) ParseDescr(string name, string descr)
    {
        switch (descr)
        {
            case "<f4": return (NpyType.Float32, 4);
            case "<f8": return (NpyType.Float64, 8);
            case "<i4": return (NpyType.Int32, 4);
            case "<i8": return (NpyType.Int64, 8);
            case "<u8": return (NpyType.UInt64, 8);
        }

        if (descr.StartsWith("<U", StringComparison.Ordinal)
            && int.TryParse(descr.AsSpan(2), NumberStyles.None, CultureInfo.InvariantCulture, out int characters)
            && characters is >= 1 and <= 1 << 16)
        {
            return (NpyType.Unicode, characters * 4);
        }

        string hint = descr.StartsWith('>') ? " (big-endian: save it little-endian, as numpy does on x86 and ARM)" : "";
        throw Bad(name, $"dtype '{descr}' is not supported: '<f4' or '<f8' for parameters{hint}");
    }

    /// <summary>A Fortran-order (column-major) matrix, as numpy saves a transposed view, turned row-major.</summary>
    private static byte[] ToRowMajor(string name, byte[] data, int[] shape, int itemSize)
    {
        if (shape.Length != 2)
        {
            throw Bad(name, $"a Fortran-order array of {shape.Length} dimensions (model files hold matrices and vectors)");
        }

        int rows = shape[0], columns = shape[1];
        var result = new byte[data.Length];
        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < columns; c++)
            {
                data.AsSpan(((c * rows) + r) * itemSize, itemSize).CopyTo(result.AsSpan(((r * columns) + c) * itemSize));
            }
        }

        return result;
    }

    /// <summary>
    /// Up to <paramref name="count"/> bytes into a buffer that grows as they arrive (from 64 KiB, doubling),
    /// so a header that claims a large shape over a short file costs no more memory than the file's data.
    /// </summary>
    private static byte[] ReadGrowing(Stream stream, int count, out int read)
    {
        var buffer = new byte[Math.Min(count, 1 << 16)];
        read = 0;
        while (read < count)
        {
            if (read == buffer.Length)
            {
                Array.Resize(ref buffer, (int)Math.Min(count, 2L * buffer.Length));
            }

            int got = stream.Read(buffer, read, buffer.Length - read);
            if (got == 0)
            {
                break;
            }

            read += got;
        }

        return buffer;
    }

    private static int ReadFully(Stream stream, Span<byte> buffer)
    {
        int total = 0;
        while (total < buffer.Length)
        {
            int read = stream.Read(buffer[total..]);
            if (read == 0)
            {
                break;
            }

            total += read;
        }

        return total;
    }

    private static string Format(int[] shape) => shape.Length == 1 ? $"({shape[0]},)" : "(" + string.Join(", ", shape) + ")";

    private static ModelFileException Bad(string name, string problem) => new($"{name}.npy: {problem}");

    /// <summary>Just enough of Python's literal syntax for numpy's header: 'strings', True/False, (ints,).</summary>
    private ref struct LiteralParser(string text)
    {
        private readonly string _text = text;
        private int _at;

        public void Expect(char c)
        {
            if (!TryTake(c))
            {
                throw new FormatException($"expected '{c}' at {Where}");
            }
        }

        public bool TryTake(char c)
        {
            SkipSpace();
            if (_at < _text.Length && _text[_at] == c)
            {
                _at++;
                return true;
            }

            return false;
        }

        public string String()
        {
            SkipSpace();
            if (_at >= _text.Length || (_text[_at] != '\'' && _text[_at] != '"'))
            {
                throw new FormatException($"expected a string at {Where}");
            }

            char quote = _text[_at++];
            int end = _text.IndexOf(quote, _at);
            if (end < 0 || _text.AsSpan(_at, end - _at).Contains('\\'))
            {
                throw new FormatException($"an unterminated or escaped string at {Where}");
            }

            string value = _text[_at..end];
            _at = end + 1;
            return value;
        }

        public bool Boolean()
        {
            SkipSpace();
            foreach ((string word, bool value) in new[] { ("True", true), ("False", false) })
            {
                if (string.CompareOrdinal(_text, _at, word, 0, word.Length) == 0)
                {
                    _at += word.Length;
                    return value;
                }
            }

            throw new FormatException($"expected True or False at {Where}");
        }

        public int[] IntTuple()
        {
            Expect('(');
            var values = new List<int>();
            while (!TryTake(')'))
            {
                SkipSpace();
                int start = _at;
                while (_at < _text.Length && char.IsAsciiDigit(_text[_at]))
                {
                    _at++;
                }

                if (!int.TryParse(_text.AsSpan(start, _at - start), NumberStyles.None, CultureInfo.InvariantCulture, out int value))
                {
                    throw new FormatException($"expected a dimension (0 to {int.MaxValue}) at {start}");
                }

                values.Add(value);
                if (values.Count > 32)
                {
                    throw new FormatException("more than 32 dimensions");
                }

                if (!TryTake(','))
                {
                    Expect(')');
                    break;
                }
            }

            return [.. values];
        }

        public void End()
        {
            SkipSpace();
            if (_at != _text.Length)
            {
                throw new FormatException($"text after the dict at {Where}");
            }
        }

        private readonly string Where => _at < _text.Length ? $"column {_at + 1}" : "the end";

        private void SkipSpace()
        {
            while (_at < _text.Length && _text[_at] == ' ')
            {
                _at++;
            }
        }
    }
}
