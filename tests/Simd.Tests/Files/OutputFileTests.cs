using System.Diagnostics;
using Simd.Tests.Support;
using Simd.Training.Files;

namespace Simd.Tests.Files;

/// <summary>Where and how simd replaces a file: links followed, special files refused, leftovers of dead processes removed.</summary>
public class OutputFileTests
{
    [Fact]
    public void A_symlink_is_followed_and_stays_a_link()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("real.txt"), "old");
        File.CreateSymbolicLink(dir.File("link.txt"), dir.File("real.txt"));
        string written = OutputFile.WriteText(dir.File("link.txt"), "new");
        Assert.Equal(dir.File("real.txt"), written);
        Assert.Equal("new", File.ReadAllText(dir.File("real.txt")));
        Assert.NotNull(new FileInfo(dir.File("link.txt")).LinkTarget);
    }

    [Fact]
    public void A_link_to_a_file_that_does_not_exist_yet_creates_it()
    {
        using var dir = new TempDirectory();
        File.CreateSymbolicLink(dir.File("link.txt"), dir.File("later.txt"));
        OutputFile.WriteText(dir.File("link.txt"), "made");
        Assert.Equal("made", File.ReadAllText(dir.File("later.txt")));
        Assert.NotNull(new FileInfo(dir.File("link.txt")).LinkTarget);
    }

    [Theory]
    [InlineData("/dev/null", "is a device, FIFO or socket")]
    [InlineData("/dev/full", "is a device, FIFO or socket")]
    [InlineData("/tmp", "is a directory")]
    [InlineData("/no-such-directory-here/x.npz", "the directory /no-such-directory-here does not exist")]
    public void Nothing_but_a_regular_file_is_replaced(string path, string expected)
    {
        var e = Assert.Throws<OutputFileException>(() => OutputFile.WriteText(path, "x"));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        if (path.StartsWith("/dev/", StringComparison.Ordinal))
        {
            Assert.Equal(FileKind.Special, FileKinds.Of(path)); // still the device, not a file renamed over it
        }
    }

    [Fact]
    public void A_fifo_is_refused_without_blocking()
    {
        using var dir = new TempDirectory();
        using (Process mkfifo = Process.Start("mkfifo", [dir.File("pipe")]))
        {
            mkfifo.WaitForExit();
        }

        Assert.Equal(FileKind.Special, FileKinds.Of(dir.File("pipe")));
        Assert.Contains("FIFO", Assert.Throws<OutputFileException>(() => OutputFile.Target(dir.File("pipe"))).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Temporary_files_of_dead_processes_are_removed_and_a_live_ones_kept()
    {
        using var dir = new TempDirectory();
        string target = dir.File("model.npz");
        int dead = DeadProcessId();
        File.WriteAllText(OutputFile.TemporaryName(target, dead), "left by kill -9");
        File.WriteAllText(OutputFile.TemporaryName(target, 1), "pid 1 always runs"); // init
        File.WriteAllText(dir.File("other.npz.tmp-" + dead), "another target's");
        OutputFile.WriteText(target, "new");
        Assert.False(File.Exists(OutputFile.TemporaryName(target, dead)));
        Assert.True(File.Exists(OutputFile.TemporaryName(target, 1)));
        Assert.True(File.Exists(dir.File("other.npz.tmp-" + dead)));
        Assert.False(File.Exists(OutputFile.TemporaryName(target, Environment.ProcessId)));
    }

    [Fact]
    public void A_failed_write_leaves_the_old_file_and_no_temporary_file()
    {
        using var dir = new TempDirectory();
        string target = dir.File("model.npz");
        File.WriteAllText(target, "old");
        Assert.Throws<InvalidOperationException>(() => OutputFile.Write(target, _ => throw new InvalidOperationException("boom")));
        Assert.Equal("old", File.ReadAllText(target));
        Assert.Single(Directory.GetFiles(dir.Path));
    }

    [Fact]
    public void Rescue_writes_beside_the_target_else_in_the_temporary_directory()
    {
        using var dir = new TempDirectory();
        string target = dir.File("model.npz");
        string? rescued = OutputFile.Rescue(target, path => OutputFile.WriteText(path, "kept"), out string? reason);
        Assert.Equal(dir.File($"model.rescue-{Environment.ProcessId}.npz"), rescued);
        Assert.Null(reason);

        int calls = 0;
        rescued = OutputFile.Rescue(target, path => ++calls == 1 ? throw new OutputFileException($"{path}: full") : OutputFile.WriteText(path, "kept"), out reason);
        try
        {
            Assert.Equal(Path.Combine(Path.GetTempPath(), $"simd-rescue-{Environment.ProcessId}-model.npz"), rescued);
            Assert.Equal("kept", File.ReadAllText(rescued!));
        }
        finally
        {
            File.Delete(rescued!);
        }

        Assert.Null(OutputFile.Rescue(target, path => throw new OutputFileException($"{path}: full"), out reason));
        Assert.EndsWith(": full", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Printable_keeps_messages_on_one_line_and_short()
    {
        Assert.Equal("a\\nb\\0\\x1b", Printable.Line("a\nb\0\u001b"));
        string value = Printable.Value(new string('x', 65_536));
        Assert.True(value.Length < 120, value);
        Assert.EndsWith("(65536 characters)", value, StringComparison.Ordinal);
    }

    /// <summary>The id of a process that has just ended (so no process holds it for a while).</summary>
    internal static int DeadProcessId()
    {
        using Process process = Process.Start("true")!;
        process.WaitForExit();
        return process.Id;
    }
}
