using System.Text;

namespace Simd.Cli;

/// <summary>
/// The output a command writes to, made safe to lose: writing to a closed or failing standard output
/// (<c>simd info &gt;&amp;-</c>, a full disk) raises <see cref="OutputUnavailableException"/>, which the CLI
/// turns into one line on stderr and exit code 74, instead of the runtime's stack trace. For stderr
/// itself (<paramref name="quiet"/>), a failure is dropped: there is nowhere left to report it.
/// </summary>
internal sealed class GuardedWriter(TextWriter inner, bool quiet) : TextWriter
{
    /// <summary>The writer underneath (the console's, in the real program).</summary>
    public TextWriter Inner => inner;

    public override Encoding Encoding => inner.Encoding;

    public override IFormatProvider FormatProvider => inner.FormatProvider;

    public override string NewLine
    {
        get => inner.NewLine;
#pragma warning disable CS8765 // the base setter accepts null too
        set => inner.NewLine = value;
#pragma warning restore CS8765
    }

    public override void Write(char value) => Guard(() => inner.Write(value));

    public override void Write(string? value) => Guard(() => inner.Write(value));

    public override void Write(char[] buffer, int index, int count)
    {
        // No closure here: the training progress line writes through this from a timer and must not allocate.
        try
        {
            inner.Write(buffer, index, count);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ObjectDisposedException)
        {
            if (!quiet)
            {
                throw new OutputUnavailableException(e);
            }
        }
    }

    public override void WriteLine() => Guard(inner.WriteLine);

    public override void WriteLine(string? value) => Guard(() => inner.WriteLine(value));

    public override void Flush() => Guard(inner.Flush);

    private void Guard(Action write)
    {
        try
        {
            write();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ObjectDisposedException)
        {
            if (!quiet)
            {
                throw new OutputUnavailableException(e);
            }
        }
    }
}

/// <summary>Standard output cannot be written: the command's result cannot be delivered.</summary>
internal sealed class OutputUnavailableException(Exception inner)
    : Exception($"cannot write to standard output ({(inner.InnerException ?? inner).Message})", inner);
