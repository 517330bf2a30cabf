using System.Diagnostics;
using System.Globalization;

namespace Simd.Training.Files;

/// <summary>A file simd writes (a model, checkpoint, metrics, picture) that cannot be written: one line naming it.</summary>
public sealed class OutputFileException(string message, Exception? inner = null) : IOException(message, inner);

/// <summary>
/// How simd replaces a file without ever leaving it half written or writing somewhere it should not:
/// <list type="bullet">
/// <item>a symlink is followed, and its final target is what gets replaced (the link stays a link);</item>
/// <item>a directory, device, FIFO or socket at the target is refused (a rename would replace /dev/null);</item>
/// <item>the bytes go to <c>TARGET.tmp-PID</c> beside the target, are flushed to disk, and the temporary file is
/// renamed over the target, so a reader sees the old file or the new one, never a part;</item>
/// <item>temporary files whose process no longer runs (kill -9, a second Ctrl+C, a file-size limit) are removed
/// by the next write of the same target.</item>
/// </list>
/// </summary>
public static class OutputFile
{
    private const string TemporaryMarker = ".tmp-";

    /// <summary>The full path a write to <paramref name="path"/> replaces: symlinks followed to their final target.</summary>
    /// <exception cref="OutputFileException">Empty, a directory or special file, a link loop, or a directory that does not exist.</exception>
    public static string Target(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (path.Length == 0)
        {
            throw new OutputFileException("an empty file name");
        }

        string full = Path.GetFullPath(path);
        try
        {
            if (new FileInfo(full).LinkTarget is not null)
            {
                full = Path.GetFullPath(File.ResolveLinkTarget(full, returnFinalTarget: true)!.FullName);
            }
        }
        catch (IOException e)
        {
            throw new OutputFileException($"{full}: cannot follow the link: {e.Message}", e);
        }

        FileKind kind = FileKinds.Of(full);
        if (kind is FileKind.Directory or FileKind.Special)
        {
            throw new OutputFileException($"{full}: {FileKinds.Describe(kind)}; give a file name");
        }

        string directory = Path.GetDirectoryName(full)!;
        if (FileKinds.Of(directory) != FileKind.Directory)
        {
            throw new OutputFileException($"{full}: the directory {directory} does not exist");
        }

        return full;
    }

    /// <summary>Writes <paramref name="path"/> (see <see cref="Target"/>) atomically with what <paramref name="write"/> puts in the stream.</summary>
    /// <returns>The file written, in full (a symlink's final target).</returns>
    /// <exception cref="OutputFileException">It cannot be written (full disk, no permission, a file-size limit); the old file is untouched.</exception>
    public static string Write(string path, Action<Stream> write)
    {
        ArgumentNullException.ThrowIfNull(write);
        string target = Target(path);
        RemoveStaleTemporaries(target);
        string temporary = TemporaryName(target, Environment.ProcessId);
        try
        {
            using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                write(file);
                file.Flush(flushToDisk: true);
            }

            File.Move(temporary, target, overwrite: true);
            return target;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException || IsFileTooLarge(e))
        {
            TryDelete(temporary);
            throw new OutputFileException($"{target}: cannot write: {WriteFailure(e)}", e);
        }
        catch
        {
            TryDelete(temporary);
            throw;
        }
    }

    /// <summary>Writes <paramref name="text"/> as UTF-8 (no byte-order mark) to <paramref name="path"/>, as <see cref="Write"/> does.</summary>
    public static string WriteText(string path, string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return Write(path, stream => stream.Write(new System.Text.UTF8Encoding(false).GetBytes(text)));
    }

    /// <summary>
    /// Keeps a result whose own target could not be written: <paramref name="write"/> is tried beside the target as
    /// <c>NAME.rescue-PID.EXT</c>, then in the temporary directory ($TMPDIR) as <c>simd-rescue-PID-NAME</c>.
    /// </summary>
    /// <param name="write">Writes the result to the path it is given and returns the file written.</param>
    /// <returns>The file written, or null when no place took it (the last reason in <paramref name="reason"/>).</returns>
    public static string? Rescue(string target, Func<string, string> write, out string? reason)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(write);
        string name = Path.GetFileName(target);
        string pid = Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        string beside = Path.Combine(Path.GetDirectoryName(target) ?? ".", $"{Path.GetFileNameWithoutExtension(name)}.rescue-{pid}{Path.GetExtension(name)}");
        reason = null;
        foreach (string place in (string[])[beside, Path.Combine(Path.GetTempPath(), $"simd-rescue-{pid}-{name}")])
        {
            try
            {
                return write(place);
            }
            catch (OutputFileException e)
            {
                reason = e.Message;
            }
        }

        return null;
    }

    /// <summary>
    /// Whether a write failed on the file-size limit (ulimit -f): .NET reports write(2)'s EFBIG as an
    /// ArgumentOutOfRangeException of the file's length, not as an IOException.
    /// </summary>
    public static bool IsFileTooLarge(Exception e) => e is ArgumentOutOfRangeException { ParamName: "value" or "length" or null } && e.StackTrace?.Contains("System.IO.", StringComparison.Ordinal) == true;

    /// <summary>The reason a write failed, in a user's words.</summary>
    public static string WriteFailure(Exception e)
    {
        ArgumentNullException.ThrowIfNull(e);
        return IsFileTooLarge(e) ? "File too large (past the file-size limit, ulimit -f)" : e.Message;
    }

    /// <summary>Removes <c>TARGET.tmp-PID</c> files of processes that no longer run; returns how many.</summary>
    public static int RemoveStaleTemporaries(string target)
    {
        ArgumentNullException.ThrowIfNull(target);
        string directory = Path.GetDirectoryName(target)!, prefix = Path.GetFileName(target) + TemporaryMarker;
        int removed = 0;
        IEnumerable<string> candidates;
        try
        {
            candidates = Directory.EnumerateFiles(directory, prefix + "*").ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return 0;
        }

        foreach (string candidate in candidates)
        {
            if (int.TryParse(Path.GetFileName(candidate).AsSpan(prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out int pid)
                && !IsRunning(pid) && TryDelete(candidate))
            {
                removed++;
            }
        }

        return removed;
    }

    /// <summary>The temporary file process <paramref name="pid"/> writes <paramref name="target"/> through.</summary>
    public static string TemporaryName(string target, int pid) => $"{target}{TemporaryMarker}{pid.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>Whether process <paramref name="pid"/> still runs (this process always does).</summary>
    public static bool IsRunning(int pid)
    {
        if (pid == Environment.ProcessId)
        {
            return true;
        }

        try
        {
            using Process process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            return false;
        }
    }

    private static bool TryDelete(string path)
    {
        try
        {
            File.Delete(path);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false; // nothing more to do: the target was never replaced
        }
    }
}
