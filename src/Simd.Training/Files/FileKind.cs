using System.Runtime.InteropServices;

namespace Simd.Training.Files;

/// <summary>What a path names, as the file system says (symlinks followed).</summary>
public enum FileKind
{
    Missing,
    Regular,
    Directory,

    /// <summary>A device, FIFO or socket: reading may never end (/dev/zero), block (a FIFO), or writing go nowhere (/dev/null).</summary>
    Special,
}

/// <summary>
/// The kind of file at a path. .NET reports a device node or a FIFO as an ordinary file (FileInfo.Exists,
/// FileAttributes.Normal, length 0), so the type bits come from statx(2), whose buffer has the same layout
/// on every Linux architecture; elsewhere, or where statx fails for another reason, .NET's answer is used.
/// </summary>
public static partial class FileKinds
{
    private const int AtCurrentDirectory = -100;
    private const uint StatxType = 0x1;
    private const uint StatxInode = 0x100;
    private const int StatxModeOffset = 28;
    private const int StatxInodeOffset = 32;
    private const int StatxBufferBytes = 256;
    private const int TypeMask = 0xF000, RegularType = 0x8000, DirectoryType = 0x4000;
    private const int NoSuchEntry = 2, NotADirectory = 20;

    public static FileKind Of(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (OperatingSystem.IsLinux())
        {
            if (TryStatxMode(path, out int mode, out int error))
            {
                return (mode & TypeMask) switch
                {
                    RegularType => FileKind.Regular,
                    DirectoryType => FileKind.Directory,
                    _ => FileKind.Special,
                };
            }

            if (error is NoSuchEntry or NotADirectory)
            {
                return FileKind.Missing;
            }
        }

        return Directory.Exists(path) ? FileKind.Directory : File.Exists(path) ? FileKind.Regular : FileKind.Missing;
    }

    /// <summary>"is a directory", "is a device, FIFO or socket, not a regular file", "no such file".</summary>
    public static string Describe(FileKind kind) => kind switch
    {
        FileKind.Directory => "is a directory",
        FileKind.Special => "is a device, FIFO or socket, not a regular file",
        FileKind.Missing => "no such file",
        _ => "is a regular file",
    };

    /// <summary>The file's inode number (Linux), or null when it cannot be had.</summary>
    public static unsafe ulong? Inode(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        byte* buffer = stackalloc byte[StatxBufferBytes];
        try
        {
            return Statx(AtCurrentDirectory, path, 0, StatxInode, buffer) == 0 ? *(ulong*)(buffer + StatxInodeOffset) : null;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return null;
        }
    }

    private static unsafe bool TryStatxMode(string path, out int mode, out int error)
    {
        byte* buffer = stackalloc byte[StatxBufferBytes];
        try
        {
            if (Statx(AtCurrentDirectory, path, 0, StatxType, buffer) == 0)
            {
                mode = *(ushort*)(buffer + StatxModeOffset);
                error = 0;
                return true;
            }

            error = Marshal.GetLastPInvokeError();
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            error = -1; // no statx in this C library: fall back to .NET's view
        }

        mode = 0;
        return false;
    }

    [LibraryImport("libc", EntryPoint = "statx", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static unsafe partial int Statx(int directory, string path, int flags, uint mask, byte* buffer);
}
