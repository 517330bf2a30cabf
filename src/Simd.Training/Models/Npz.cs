using System.IO.Compression;

namespace Simd.Training.Models;

/// <summary>
/// numpy's .npz: a zip of .npy arrays, one entry "name.npy" each (<c>np.savez</c> stores them,
/// <c>np.savez_compressed</c> deflates them; both read here). Written stored, with fixed timestamps, so
/// the same arrays always give the same bytes; atomically (a temporary file renamed over the target),
/// so a file is never seen half written.
/// </summary>
public static class Npz
{
    /// <summary>The most bytes one array of a model file may hold: the largest .NET array (about 2 GiB, more than any network that can be trained).</summary>
    public static long MaxArrayBytes => Array.MaxLength;

    /// <summary>Entries beyond this are not a model file.</summary>
    public const int MaxEntries = 4096;

    private static readonly DateTimeOffset FixedTime = new(1980, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>Writes the arrays to <paramref name="path"/> (replacing it) through a temporary file beside it.</summary>
    /// <exception cref="ModelFileException">The file cannot be written (one line naming it).</exception>
    public static void Write(string path, IEnumerable<NpyArray> arrays)
    {
        ArgumentNullException.ThrowIfNull(arrays);
        string full = Path.GetFullPath(path);
        string temporary = $"{full}.tmp-{Environment.ProcessId}";
        try
        {
            using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                using (var zip = new ZipArchive(file, ZipArchiveMode.Create, leaveOpen: true))
                {
                    var names = new HashSet<string>(StringComparer.Ordinal);
                    foreach (NpyArray array in arrays)
                    {
                        if (!names.Add(array.Name))
                        {
                            throw new ArgumentException($"two arrays named {array.Name}");
                        }

                        ZipArchiveEntry entry = zip.CreateEntry(array.Name + ".npy", CompressionLevel.NoCompression);
                        entry.LastWriteTime = FixedTime;
                        using Stream stream = entry.Open();
                        Npy.Write(stream, array);
                    }
                }

                file.Flush(flushToDisk: true);
            }

            File.Move(temporary, full, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            TryDelete(temporary);
            throw new ModelFileException($"{full}: cannot write: {e.Message}", e);
        }
        catch
        {
            TryDelete(temporary);
            throw;
        }
    }

    /// <summary>Every array of the .npz at <paramref name="path"/>, in the archive's order, each checked by <see cref="Npy.Read"/>.</summary>
    /// <exception cref="ModelFileException">Missing, not a zip, an entry that is not a well-formed .npy, or a repeated name.</exception>
    public static IReadOnlyList<NpyArray> Read(string path)
    {
        string full = Path.GetFullPath(path);
        if (Directory.Exists(full))
        {
            throw new ModelFileException($"{full}: is a directory, not a model file");
        }

        if (!File.Exists(full))
        {
            throw new ModelFileException($"{full}: no such file");
        }

        try
        {
            using var file = new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.Read);
            using var zip = new ZipArchive(file, ZipArchiveMode.Read);
            if (zip.Entries.Count > MaxEntries)
            {
                throw new ModelFileException($"{full}: {zip.Entries.Count} entries (a model file has at most {MaxEntries})");
            }

            var arrays = new List<NpyArray>(zip.Entries.Count);
            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (ZipArchiveEntry entry in zip.Entries)
            {
                if (!entry.FullName.EndsWith(".npy", StringComparison.Ordinal) || entry.FullName.Length == 4)
                {
                    throw new ModelFileException($"{full}: entry '{entry.FullName}' is not a .npy array");
                }

                string name = entry.FullName[..^4];
                if (!names.Add(name))
                {
                    throw new ModelFileException($"{full}: two arrays named {name}");
                }

                using Stream stream = entry.Open();
                arrays.Add(Npy.Read(stream, name, MaxArrayBytes));
            }

            return arrays;
        }
        catch (ModelFileException e)
        {
            throw e.Message.StartsWith(full, StringComparison.Ordinal) ? e : new ModelFileException($"{full}: {e.Message}", e);
        }
        catch (Exception e) when (e is InvalidDataException or NotSupportedException)
        {
            throw new ModelFileException($"{full}: not a valid .npz (zip) file: {e.Message}", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ModelFileException($"{full}: cannot read: {e.Message}", e);
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Nothing more to do: the target was never replaced.
        }
    }
}
