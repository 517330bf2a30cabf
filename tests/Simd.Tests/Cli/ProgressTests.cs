using System.Text;
using Simd.Cli;

namespace Simd.Tests.Cli;

/// <summary>The progress lines: their text, silence when redirected, and no allocation while training draws them.</summary>
public class ProgressTests
{
    [Fact]
    public void The_line_says_amount_share_rate_and_time_left()
    {
        Assert.Equal("numerical gradient: 12,345/39,760 parameters (31%), 1,543 parameters/s, 0:17 left",
            ProgressLine.Format("numerical gradient", 12_345, 39_760, "parameters", 8));
        Assert.Equal("  f: 512 bytes, 51.2 bytes/s", ProgressLine.Format("  f", 512, 0, "bytes", 10)); // no total: no share, no time left
        Assert.Equal("1:02:03", ProgressLine.Duration(3723));
        Assert.Equal("0:07", ProgressLine.Duration(7.4));
    }

    [Fact]
    public void Redirected_output_gets_no_progress_and_a_terminal_gets_a_redrawn_line()
    {
        var redirected = new StringWriter();
        var quiet = new ProgressLine(redirected);
        Assert.False(quiet.Enabled);
        Thread.Sleep(250);
        quiet.Report("work", 1, 2, "items");
        quiet.Done();
        Assert.Equal("", redirected.ToString());

        var terminal = new StringWriter();
        var line = new ProgressLine(terminal, interactive: true);
        Thread.Sleep(250); // the first redraw waits a fifth of a second
        line.Report("work", 1, 2, "items");
        line.Done();
        string drawn = terminal.ToString();
        Assert.StartsWith("\rwork: 1/2 items (50%), ", drawn, StringComparison.Ordinal);
        Assert.EndsWith("\r" + new string(' ', 78) + "\r", drawn, StringComparison.Ordinal);
    }

    /// <summary>The training line is drawn from a timer while steps run: composing and writing it must allocate nothing.</summary>
    [Fact]
    public void The_training_line_allocates_nothing_when_drawn()
    {
        var writer = new CharSink();
        int iteration = 5;
        using var progress = new TrainingProgress(writer, enabled: false, () => iteration, total: 100, perEpoch: 20);
        progress.Tick(); // warm-up
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++)
        {
            iteration = 5 + (i % 90);
            progress.Tick();
            progress.Clear();
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, allocated);
        iteration = 45;
        progress.Tick();
        Assert.StartsWith("\riteration 45/100 (45%), epoch 3/5, ", writer.Last, StringComparison.Ordinal);
        iteration = 100;
        progress.Tick();
        Assert.StartsWith("\riteration 100/100 (100%), epoch 5/5, ", writer.Last, StringComparison.Ordinal); // the last step is still the last epoch's
    }

    /// <summary>A writer that keeps the last write in a fixed buffer: allocates nothing itself.</summary>
    private sealed class CharSink : TextWriter
    {
        private readonly char[] _buffer = new char[256];
        private int _length;

        public override Encoding Encoding => Encoding.UTF8;

        public string Last => new(_buffer, 0, _length);

        public override void Write(char[] buffer, int index, int count)
        {
            buffer.AsSpan(index, count).CopyTo(_buffer);
            _length = count;
        }
    }
}
