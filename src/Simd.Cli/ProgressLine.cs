using System.Diagnostics;
using System.Globalization;

namespace Simd.Cli;

/// <summary>
/// Progress of long work on stderr, only when stderr is a terminal: one line redrawn a few times a second
/// with the amount done, the rate and the time left. Redirected (a log, a pipe, a test), it writes nothing,
/// so the output stays plain.
/// </summary>
internal sealed class ProgressLine
{
    private const int Width = 78;

    private readonly TextWriter _writer;
    private readonly long _interval;
    private readonly long _start;
    private readonly Lock _lock = new();
    private long _last;
    private bool _dirty;

    /// <param name="interactive">Null: whether <paramref name="writer"/> is the console's stderr on a terminal. Tests force it.</param>
    public ProgressLine(TextWriter writer, bool? interactive = null)
    {
        _writer = writer;
        Enabled = interactive ?? IsTerminal(writer);
        _interval = Stopwatch.Frequency / 5;
        _start = _last = Stopwatch.GetTimestamp();
    }

    /// <summary>Whether anything is drawn at all.</summary>
    public bool Enabled { get; }

    /// <summary>True for the process's stderr when it is a terminal (not redirected), seen through the CLI's guard.</summary>
    public static bool IsTerminal(TextWriter writer) =>
        ReferenceEquals(writer is GuardedWriter guarded ? guarded.Inner : writer, Console.Error) && !Console.IsErrorRedirected;

    /// <summary>"what: 12,345/39,760 parameters (31%), 1,234/s, 0:22 left" — at most five times a second.</summary>
    public void Report(string what, long done, long total, string unit)
    {
        if (!Enabled || !Due())
        {
            return;
        }

        Draw(Format(what, done, total, unit, Stopwatch.GetElapsedTime(_start).TotalSeconds));
    }

    /// <summary>Clears the line so normal output starts on a fresh one (call before printing a row).</summary>
    public void Done()
    {
        lock (_lock)
        {
            if (_dirty)
            {
                _writer.Write("\r" + new string(' ', Width) + "\r");
                _dirty = false;
            }
        }
    }

    /// <summary>The line's text: amount, share, rate and the time left at that rate.</summary>
    public static string Format(string what, long done, long total, string unit, double seconds)
    {
        CultureInfo inv = CultureInfo.InvariantCulture;
        double rate = seconds > 0 ? done / seconds : 0;
        string share = total > 0 ? string.Create(inv, $" ({100.0 * done / total:F0}%)") : "";
        string amount = total > 0 ? string.Create(inv, $"{done:N0}/{total:N0} {unit}") : string.Create(inv, $"{done:N0} {unit}");
        string left = total > 0 && rate > 0 ? ", " + Duration((total - done) / rate) + " left" : "";
        return string.Create(inv, $"{what}: {amount}{share}, {Rate(rate)} {unit}/s{left}");
    }

    /// <summary>"0:07", "12:34", "3:05:00".</summary>
    public static string Duration(double seconds)
    {
        var span = TimeSpan.FromSeconds(Math.Max(0, Math.Min(seconds, 359_999)));
        return span.TotalHours >= 1
            ? string.Create(CultureInfo.InvariantCulture, $"{(int)span.TotalHours}:{span.Minutes:00}:{span.Seconds:00}")
            : string.Create(CultureInfo.InvariantCulture, $"{span.Minutes}:{span.Seconds:00}");
    }

    private static string Rate(double rate) => rate >= 100
        ? rate.ToString("N0", CultureInfo.InvariantCulture)
        : rate.ToString("G3", CultureInfo.InvariantCulture);

    private bool Due()
    {
        long now = Stopwatch.GetTimestamp();
        if (now - _last < _interval)
        {
            return false;
        }

        _last = now;
        return true;
    }

    private void Draw(string text)
    {
        lock (_lock)
        {
            _writer.Write("\r" + (text.Length > Width ? text[..Width] : text.PadRight(Width)));
            _dirty = true;
        }
    }
}
