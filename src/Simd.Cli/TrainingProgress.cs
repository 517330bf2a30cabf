using System.Diagnostics;
using System.Globalization;

namespace Simd.Cli;

/// <summary>
/// Training's progress line on a terminal, between the evaluation rows: "iteration 1,234/10,000 (12%),
/// epoch 3/17, 8,123 it/s, 0:05 left" (an evaluation row comes at the end of each epoch). A thread of its own redraws it four times a second
/// from the step counter, so the steps themselves do nothing for it; the line is composed in a buffer
/// made once, so drawing it allocates nothing either, and the thread is started before the steps (a
/// timer would start the thread pool, which allocates, at its first tick inside the run): the run's
/// "allocated in steps" stays 0 on a terminal.
/// </summary>
internal sealed class TrainingProgress : IDisposable
{
    private const int Width = 78;
    private const int PeriodMilliseconds = 250;

    private readonly TextWriter _writer;
    private readonly Func<int> _iteration;
    private readonly int _total;
    private readonly int _perEpoch;
    private readonly int _first;
    private readonly long _start;
    private readonly char[] _line = new char[Width + 1];
    private readonly char[] _blank;
    private readonly Lock _lock = new();
    private readonly Thread? _thread;
    private bool _dirty;
    private bool _stopped;

    /// <param name="iteration">Reads the steps taken so far (from the timer's thread).</param>
    /// <param name="enabled">False: nothing is drawn and no timer runs (redirected output, numerical gradient).</param>
    public TrainingProgress(TextWriter writer, bool enabled, Func<int> iteration, int total, int perEpoch)
    {
        _writer = writer;
        _iteration = iteration;
        _total = total;
        _perEpoch = perEpoch;
        _first = iteration();
        _start = Stopwatch.GetTimestamp();
        _blank = ['\r', .. new string(' ', Width), '\r'];
        if (enabled)
        {
            // Drawn once now: the console's first write to a terminal sets itself up (allocating), and that
            // belongs before the steps, not in them.
            Tick();
            _thread = new Thread(Redraw) { IsBackground = true, Name = "simd progress" };
            _thread.Start();
        }
    }

    /// <summary>Composes and draws the line once (the drawing thread's work; tests call it directly).</summary>
    public void Tick()
    {
        lock (_lock)
        {
            if (_stopped)
            {
                return; // the run is over
            }

            int done = _iteration();
            double seconds = Stopwatch.GetElapsedTime(_start).TotalSeconds;
            double rate = seconds > 0 ? (done - _first) / seconds : 0;
            int epochs = (_total + _perEpoch - 1) / _perEpoch;
            Span<char> line = _line;
            line[0] = '\r';
            int at = 1;
            Append(line, ref at, "iteration ");
            AppendNumber(line, ref at, done);
            Append(line, ref at, "/");
            AppendNumber(line, ref at, _total);
            Append(line, ref at, " (");
            AppendNumber(line, ref at, _total > 0 ? 100L * done / _total : 0);
            Append(line, ref at, "%), epoch ");
            AppendNumber(line, ref at, Math.Min(done / _perEpoch, epochs - 1) + 1);
            Append(line, ref at, "/");
            AppendNumber(line, ref at, epochs);
            Append(line, ref at, ", ");
            AppendNumber(line, ref at, (long)rate);
            Append(line, ref at, " it/s");

            if (rate > 0)
            {
                Append(line, ref at, ", ");
                AppendDuration(line, ref at, (_total - done) / rate);
                Append(line, ref at, " left");
            }

            line[at..].Fill(' ');
            _writer.Write(_line, 0, _line.Length);
            _dirty = true;
        }
    }

    /// <summary>Clears the line so a table row starts on a clean one.</summary>
    public void Clear()
    {
        lock (_lock)
        {
            ClearLocked();
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _stopped = true;
            ClearLocked();
        }

        if (_thread is not null)
        {
            _thread.Interrupt(); // wakes it from its sleep: it sees _stopped and ends
            _thread.Join();
        }
    }

    private void Redraw()
    {
        try
        {
            while (!Volatile.Read(ref _stopped))
            {
                Thread.Sleep(PeriodMilliseconds);
                Tick();
            }
        }
        catch (ThreadInterruptedException)
        {
            // Disposed: nothing more to draw.
        }
    }

    private void ClearLocked()
    {
        if (_dirty)
        {
            _writer.Write(_blank, 0, _blank.Length);
            _dirty = false;
        }
    }

    private static void Append(Span<char> line, ref int at, ReadOnlySpan<char> text)
    {
        int n = Math.Min(text.Length, line.Length - at);
        text[..n].CopyTo(line[at..]);
        at += n;
    }

    private static void AppendNumber(Span<char> line, ref int at, long value)
    {
        if (value.TryFormat(line[at..], out int written, "N0", CultureInfo.InvariantCulture))
        {
            at += written;
        }
    }

    /// <summary>"m:ss" or "h:mm:ss".</summary>
    private static void AppendDuration(Span<char> line, ref int at, double seconds)
    {
        long s = (long)Math.Clamp(seconds, 0, 359_999);
        if (s >= 3600)
        {
            AppendNumber(line, ref at, s / 3600);
            Append(line, ref at, ":");
            AppendTwo(line, ref at, s / 60 % 60);
        }
        else
        {
            AppendNumber(line, ref at, s / 60);
        }

        Append(line, ref at, ":");
        AppendTwo(line, ref at, s % 60);
    }

    private static void AppendTwo(Span<char> line, ref int at, long value)
    {
        if (value.TryFormat(line[at..], out int written, "00", CultureInfo.InvariantCulture))
        {
            at += written;
        }
    }
}
