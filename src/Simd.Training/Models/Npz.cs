using System.IO.Compression;
using System.IO.Hashing;
using Simd.Training.Files;

namespace Simd.Training.Models;

/// <summary>
/// numpy's .npz: a zip of .npy arrays, one entry "name.npy" each (<c>np.savez</c> stores them,
/// <c>np.savez_compressed</c> deflates them; both read here). Written stored, with fixed timestamps, so
/// the same arrays always give the same bytes; through <see cref="OutputFile"/>, so a file is never seen
/// half written and a symlink's target is what gets replaced.
/// </summary>
public static class Npz
{
    /// <summary>The most bytes one array of a model file may hold: the largest .NET array (about 2 GiB, more than any network that can be trained).</summary>
    public static long MaxArrayBytes => Array.MaxLength;

    /// <summary>The most bytes all of a file's arrays may hold together, as the archive declares them before anything is inflated.</summary>
    public static long MaxTotalBytes => 2L * Array.MaxLength;

    /// <summary>Entries beyond this are not a model file.</summary>
    public const int MaxEntries = 4096;

    /// <summary>The zip's general-purpose flag bit 0: the entry is encrypted (numpy refuses it too).</summary>
    private const int EncryptedFlag = 1;

    private static readonly DateTimeOffset FixedTime = new(1980, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>Writes the arrays to <paramref name="path"/> (replacing it; see <see cref="OutputFile.Write"/>).</summary>
    /// <returns>The file written, in full.</returns>
    /// <exception cref="OutputFileException">The file cannot be written (one line naming it); the old one is untouched.</exception>
    public static string Write(string path, IEnumerable<NpyArray> arrays)
    {
        ArgumentNullException.ThrowIfNull(arrays);
        NpyArray[] all = [.. arrays];
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (NpyArray array in all)
        {
            if (!names.Add(array.Name))
            {
                throw new ArgumentException($"two arrays named {array.Name}", nameof(arrays));
            }
        }

        return OutputFile.Write(path, file => WriteTo(file, all));
    }

    private static void WriteTo(Stream stream, IReadOnlyList<NpyArray> arrays)
    {
        ArgumentNullException.ThrowIfNull(arrays);
        using var zip = new ZipArchive(stream, ZipArchiveMode.Create, leaveOpen: true);
        foreach (NpyArray array in arrays)
        {
            ZipArchiveEntry entry = zip.CreateEntry(array.Name + ".npy", CompressionLevel.NoCompression);
            entry.LastWriteTime = FixedTime;
            using Stream entryStream = entry.Open();
            Npy.Write(entryStream, array);
        }
    }

    /// <summary>
    /// Every array of the .npz at <paramref name="path"/>, in the archive's order, each checked by <see cref="Npy.Read"/>.
    /// What the archive's directory says is checked before anything is inflated: the names (refused by
    /// <paramref name="refusal"/>), the encryption flag and the declared sizes; each entry is then inflated only as
    /// far as its .npy header says, and its CRC-32 compared.
    /// </summary>
    /// <param name="refusal">Why an array name is not wanted (null: it is); null accepts every name.</param>
    /// <param name="cancellationToken">Checked as the data is read: a long load stops on Ctrl+C.</param>
    /// <exception cref="ModelFileException">Missing, not a regular file, not a zip, damaged, or an entry that is not a well-formed .npy.</exception>
    public static IReadOnlyList<NpyArray> Read(string path, Func<string, string?>? refusal = null, CancellationToken cancellationToken = default)
    {
        string full = Path.GetFullPath(path);
        FileKind kind = FileKinds.Of(full);
        if (kind != FileKind.Regular)
        {
            throw new ModelFileException($"{full}: {(kind == FileKind.Directory ? "is a directory, not a model file" : FileKinds.Describe(kind))}");
        }

        try
        {
            using var file = new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.Read);
            using var zip = new ZipArchive(file, ZipArchiveMode.Read);
            if (zip.Entries.Count > MaxEntries)
            {
                throw new ModelFileException($"{full}: {zip.Entries.Count} entries (a model file has at most {MaxEntries})");
            }

            var names = new HashSet<string>(StringComparer.Ordinal);
            long declared = 0;
            foreach (ZipArchiveEntry entry in zip.Entries)
            {
                if (!entry.FullName.EndsWith(".npy", StringComparison.Ordinal) || entry.FullName.Length == 4)
                {
                    throw new ModelFileException($"{full}: entry '{Printable.Value(entry.FullName)}' is not a .npy array");
                }

                string name = entry.FullName[..^4];
                if (!names.Add(name))
                {
                    throw new ModelFileException($"{full}: two arrays named {Printable.Value(name)}");
                }

                if (refusal?.Invoke(name) is { } why)
                {
                    throw new ModelFileException($"{full}: {why}");
                }

                if (entry.IsEncrypted)
                {
                    throw new ModelFileException($"{full}: {name}.npy is encrypted (neither simd nor numpy reads encrypted entries)");
                }

                declared += entry.Length;
                if (declared > MaxTotalBytes)
                {
                    throw new ModelFileException($"{full}: its arrays declare more than {MaxTotalBytes} bytes together (more than any model simd can hold)");
                }
            }

            var arrays = new List<NpyArray>(zip.Entries.Count);
            foreach (ZipArchiveEntry entry in zip.Entries)
            {
                cancellationToken.ThrowIfCancellationRequested();
                string name = entry.FullName[..^4];
                using var stream = new Crc32Stream(entry.Open(), cancellationToken);
                NpyArray array = Npy.Read(stream, name, MaxArrayBytes, entry.Length);
                if (stream.Crc != entry.Crc32)
                {
                    throw new ModelFileException($"{full}: {name}.npy: CRC mismatch (the file is damaged)");
                }

                arrays.Add(array);
            }

            return arrays;
        }
        catch (ModelFileException e)
        {
            throw e.Message.StartsWith(full, StringComparison.Ordinal) ? e : new ModelFileException($"{full}: {e.Message}", e);
        }
        catch (Exception e) when (e is InvalidDataException or NotSupportedException)
        {
            throw new ModelFileException($"{full}: not a valid .npz (zip) file: {Printable.Value(e.Message)}", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ModelFileException($"{full}: cannot read: {e.Message}", e);
        }
    }

    /// <summary>A read-only view of an entry's inflated bytes that keeps their CRC-32 and stops on cancellation.</summary>
    private sealed class Crc32Stream(Stream inner, CancellationToken cancellationToken) : Stream
    {
        private readonly Crc32 _crc = new();

        public uint Crc => _crc.GetCurrentHashAsUInt32();

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int read = inner.Read(buffer);
            _crc.Append(buffer[..read]);
            return read;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
