using System.Globalization;
using System.Text;

namespace Simd.Training.Files;

/// <summary>Text from a file or a user, made safe to print in a one-line message.</summary>
public static class Printable
{
    /// <summary>Values quoted in messages are cut to this many characters.</summary>
    public const int MaxValueCharacters = 80;

    /// <summary>
    /// <paramref name="text"/> on one line: control characters (a newline in a file name, NUL bytes in a
    /// decoder's message) written as C escapes (\n, \r, \t, \0, \x1b), everything else as it is.
    /// </summary>
    public static string Line(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (!text.AsSpan().ContainsAnyInRange('\0', '\x1f') && !text.Contains('\x7f', StringComparison.Ordinal))
        {
            return text;
        }

        var line = new StringBuilder(text.Length + 8);
        foreach (char c in text)
        {
            line.Append(c switch
            {
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                '\0' => "\\0",
                < ' ' or '\x7f' => "\\x" + ((int)c).ToString("x2", CultureInfo.InvariantCulture),
                _ => c.ToString(),
            });
        }

        return line.ToString();
    }

    /// <summary>A value quoted in a message: on one line, and cut to <see cref="MaxValueCharacters"/> with its full length said.</summary>
    public static string Value(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string line = Line(text);
        return line.Length <= MaxValueCharacters
            ? line
            : string.Create(CultureInfo.InvariantCulture, $"{line[..(MaxValueCharacters - 3)]}... ({text.Length} characters)");
    }
}
