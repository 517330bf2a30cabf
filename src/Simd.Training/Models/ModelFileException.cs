namespace Simd.Training.Models;

/// <summary>
/// A model or checkpoint file that cannot be read or does not fit: one line naming the file and the
/// problem, written for the user (the CLI prints it as is and exits with code 2). Control characters
/// that a damaged file puts into a quoted name or a library's message are shown escaped, so the
/// message stays one line.
/// </summary>
public sealed class ModelFileException : Exception
{
    public ModelFileException(string message)
        : base(OneLine(message))
    {
    }

    public ModelFileException(string message, Exception inner)
        : base(OneLine(message), inner)
    {
    }

    private static string OneLine(string message) =>
        message.Any(char.IsControl)
            ? string.Concat(message.Select(c => char.IsControl(c) ? $"\\x{(int)c:x2}" : c.ToString()))
            : message;
}
