using System.Globalization;

namespace Simd.Cli;

/// <summary>
/// Netpbm graymaps: "P5" (binary) and "P2" (text), 8- or 16-bit (big-endian), scaled to 0-255. Read here
/// because StbImageSharp, the decoder of every other format, is a port of stb_image without its PNM
/// reader; the format is a header of four numbers and the samples.
/// </summary>
internal static class Pgm
{
    public static bool IsPgm(ReadOnlySpan<byte> bytes) => bytes.Length >= 2 && bytes[0] == 'P' && (bytes[1] == '5' || bytes[1] == '2');

    /// <exception cref="FormatException">A header or samples that do not make a graymap of at most <paramref name="maxPixels"/> pixels.</exception>
    public static (byte[] Gray, int Width, int Height) Read(ReadOnlySpan<byte> bytes, long maxPixels)
    {
        bool binary = bytes[1] == '5';
        int at = 2;
        int width = Number(bytes, ref at), height = Number(bytes, ref at), maxValue = Number(bytes, ref at);
        if (width < 1 || height < 1 || (long)width * height > maxPixels)
        {
            throw new FormatException($"{width}x{height} pixels (at most {maxPixels:N0})");
        }

        if (maxValue is < 1 or > 65535)
        {
            throw new FormatException($"maximum value {maxValue} (1 to 65535)");
        }

        // The file must hold every sample before the pixels are allocated: a header may claim millions of pixels for a
        // file of a few bytes (the fuzz test found one whose buffer alone passed its allocation bound).
        long pixels = (long)width * height;
        int sampleBytes = maxValue > 255 ? 2 : 1;
        long needed = binary ? pixels * sampleBytes : (2 * pixels) - 1; // text: a digit and a separator a sample, at least
        long available = bytes.Length - (binary ? at + 1 : at);
        if (available < needed)
        {
            throw new FormatException($"the samples are cut short: {Math.Max(0, available)} of {(binary ? "" : "at least ")}{needed} bytes");
        }

        var gray = new byte[pixels];
        if (binary)
        {
            at++; // the one whitespace byte after the maximum value
            for (int i = 0; i < gray.Length; i++)
            {
                int sample = sampleBytes == 1 ? bytes[at + i] : (bytes[at + (2 * i)] << 8) | bytes[at + (2 * i) + 1];
                gray[i] = Scale(sample, maxValue);
            }
        }
        else
        {
            for (int i = 0; i < gray.Length; i++)
            {
                gray[i] = Scale(Number(bytes, ref at), maxValue);
            }
        }

        return (gray, width, height);
    }

    private static byte Scale(int sample, int maxValue) =>
        sample > maxValue ? throw new FormatException($"a sample of {sample} above the maximum {maxValue}") : (byte)(((sample * 255) + (maxValue / 2)) / maxValue);

    /// <summary>The next decimal number, skipping whitespace and # comments.</summary>
    private static int Number(ReadOnlySpan<byte> bytes, ref int at)
    {
        while (at < bytes.Length && (char.IsWhiteSpace((char)bytes[at]) || bytes[at] == '#'))
        {
            if (bytes[at] == '#')
            {
                while (at < bytes.Length && bytes[at] != '\n')
                {
                    at++;
                }
            }
            else
            {
                at++;
            }
        }

        int start = at;
        while (at < bytes.Length && bytes[at] is >= (byte)'0' and <= (byte)'9')
        {
            at++;
        }

        return at > start && int.TryParse(bytes[start..at], NumberStyles.None, CultureInfo.InvariantCulture, out int value)
            ? value
            : throw new FormatException(at < bytes.Length ? $"expected a number at byte {at}" : "the header is cut short");
    }
}
