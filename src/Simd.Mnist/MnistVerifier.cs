using System.Security.Cryptography;

namespace Simd.Mnist;

/// <summary>The outcome of checking one MNIST file.</summary>
/// <param name="File">Which file.</param>
/// <param name="Path">Where it was found, or null when it is missing.</param>
/// <param name="Problem">What is wrong, or null when the file is good.</param>
/// <param name="Shape">The IDX dimensions, e.g. "60000 x 28 x 28", when it parsed.</param>
/// <param name="IsRead">False for a <c>.gz</c> that a raw file of the same name shadows: present, checked, not read.</param>
public sealed record MnistFileCheck(MnistFile File, string? Path, string? Problem, string? Shape, bool IsRead = true)
{
    public bool Ok => Problem is null;
}

/// <summary>Checks MNIST files against the SHA-256 of their decompressed content and the IDX rules.</summary>
public static class MnistVerifier
{
    /// <summary>Lower-case hex SHA-256.</summary>
    public static string Sha256Hex(ReadOnlySpan<byte> content) => Convert.ToHexStringLower(SHA256.HashData(content));

    /// <summary>Checks the variant of <paramref name="file"/> that is read from <paramref name="directory"/>: present, decompresses, right checksum, valid IDX.</summary>
    public static MnistFileCheck Check(string directory, MnistFile file)
    {
        string? path = MnistLocator.FindFile(directory, file);
        return path is null
            ? new MnistFileCheck(file, null, $"missing (neither {file.Name} nor {file.Name}.gz)", null)
            : CheckPath(file, path, isRead: true);
    }

    /// <summary>Checks <paramref name="path"/> as <paramref name="file"/>.</summary>
    public static MnistFileCheck CheckPath(MnistFile file, string path, bool isRead)
    {
        try
        {
            byte[] content = IdxReader.ReadContent(path);
            string? problem = ChecksumProblem(file, content);
            IdxFile idx = IdxReader.Parse(content, path, file.Kind);
            if (idx.Kind == IdxKind.Labels)
            {
                MnistData.CheckLabelRange(idx);
            }

            return new MnistFileCheck(file, path, problem, string.Join(" x ", idx.Dimensions), isRead);
        }
        catch (MnistDataException e)
        {
            return new MnistFileCheck(file, path, e.Problem, null, isRead);
        }
    }

    /// <summary>
    /// Checks all four files, and both variants of a file when both are present (the raw one is read; a
    /// bad <c>.gz</c> behind it would be read the day the raw file goes).
    /// </summary>
    /// <exception cref="MnistDataException"><paramref name="directory"/> is not a directory.</exception>
    public static IReadOnlyList<MnistFileCheck> CheckAll(string directory)
    {
        if (MnistLocator.DirectoryProblem(directory) is { } problem)
        {
            throw new MnistDataException(directory, problem);
        }

        var checks = new List<MnistFileCheck>();
        foreach (MnistFile file in MnistFiles.All)
        {
            IReadOnlyList<string> candidates = MnistLocator.Candidates(directory, file);
            if (candidates.Count == 0)
            {
                checks.Add(Check(directory, file));
            }

            for (int i = 0; i < candidates.Count; i++)
            {
                checks.Add(CheckPath(file, candidates[i], isRead: i == 0));
            }
        }

        return checks;
    }

    /// <summary>Null when <paramref name="content"/> (decompressed) has the expected SHA-256, else what differs.</summary>
    public static string? ChecksumProblem(MnistFile file, ReadOnlySpan<byte> content)
    {
        string actual = Sha256Hex(content);
        return actual == file.RawSha256
            ? null
            : $"SHA-256 mismatch: expected {file.RawSha256}, found {actual} ({content.Length} bytes, expected {file.RawLength})";
    }
}
