using System.Globalization;
using Simd.Training.Files;

namespace Simd.Cli;

/// <summary>
/// One run at a time in a --checkpoint directory: an advisory lock (flock, which .NET takes for FileShare.None)
/// on DIR/checkpoint.lock; a second run names the holder's process from /proc/locks. The kernel releases the
/// lock when the process ends, however it ends, so a lock file left by a crash is never in the way.
/// </summary>
internal sealed class CheckpointLock : IDisposable
{
    public const string FileName = "checkpoint.lock";

    private readonly FileStream _file;

    private CheckpointLock(FileStream file) => _file = file;

    /// <exception cref="UsageException">Another process holds the directory (named with its process id), or the lock cannot be made.</exception>
    public static CheckpointLock Acquire(string directory)
    {
        string path = Path.Combine(directory, FileName);
        FileStream file;
        try
        {
            file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException) when (File.Exists(path))
        {
            throw new UsageException($"--checkpoint {directory}: another run writes its checkpoints there ({Holder(path)}); give each run its own directory");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"--checkpoint {directory}: cannot make the lock file {FileName}: {e.Message}");
        }

        return new CheckpointLock(file);
    }

    public void Dispose() => _file.Dispose();

    /// <summary>
    /// "process 1234": the holder of the lock as the kernel lists it in /proc/locks (the file itself cannot be read
    /// while it is locked: .NET takes a shared flock for every open).
    /// </summary>
    private static string Holder(string path)
    {
        try
        {
            if (FileKinds.Inode(path) is { } inode)
            {
                // "1: FLOCK  ADVISORY  WRITE 1234 00:2f:5678 0 EOF": type, kind, mode, pid, device:inode, range.
                foreach (string line in File.ReadLines("/proc/locks"))
                {
                    string[] fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    if (fields.Length >= 6 && fields[1] == "FLOCK" && fields[5].EndsWith(":" + inode.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal))
                    {
                        return $"process {fields[4]}";
                    }
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // No /proc/locks: the holder goes unnamed.
        }

        return "a process that cannot be named here";
    }
}
