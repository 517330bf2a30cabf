using System.Diagnostics;

namespace Simd.Cli;

/// <summary>
/// Progress for long work (the numerical gradient), written to stderr. On a terminal one line is
/// redrawn a few times a second; otherwise (a log, a test) a plain line is written every few seconds.
/// </summary>
internal sealed class ProgressLine
{
    private readonly TextWriter _writer;
    private readonly bool _interactive;
    private readonly long _interval;
    private long _last;
    private bool _dirty;

    public ProgressLine(TextWriter writer)
    {
        _writer = writer;
        _interactive = ReferenceEquals(writer, Console.Error) && !Console.IsErrorRedirected;
        _interval = Stopwatch.Frequency * (_interactive ? 1 : 10) / (_interactive ? 5 : 1);
        _last = Stopwatch.GetTimestamp();
    }

    /// <summary>Shows <paramref name="text"/> if enough time has passed since the last update.</summary>
    public void Report(string text)
    {
        long now = Stopwatch.GetTimestamp();
        if (now - _last < _interval)
        {
            return;
        }

        _last = now;
        if (_interactive)
        {
            _writer.Write("\r" + text.PadRight(78));
            _dirty = true;
        }
        else
        {
            _writer.WriteLine(text);
        }
    }

    /// <summary>Ends a redrawn line so normal output starts on a fresh one.</summary>
    public void Done()
    {
        if (_dirty)
        {
            _writer.Write("\r" + new string(' ', 78) + "\r");
            _dirty = false;
        }
    }
}
