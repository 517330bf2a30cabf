using System.Security.Cryptography;

namespace Simd.Mnist;

/// <summary>The outcome of checking one MNIST file.</summary>
/// <param name="File">Which file.</param>
/// <param name="Path">Where it was found, or null when it is missing.</param>
/// <param name="Problem">What is wrong, or null when the file is good.</param>
/// <param name="Shape">The IDX dimensions, e.g. "60000 x 28 x 28", when it parsed.</param>
public sealed record MnistFileCheck(MnistFile File, string? Path, string? Problem, string? Shape)
{
    public bool Ok => Problem is null;
}

/// <summary>Checks MNIST files against the SHA-256 of their decompressed content and the IDX rules.</summary>
public static class MnistVerifier
{
    /// <summary>Lower-case hex SHA-256.</summary>
    public static string Sha256Hex(ReadOnlySpan<byte> content) => Convert.ToHexStringLower(SHA256.HashData(content));

    /// <summary>Checks one file of <paramref name="directory"/>: present, decompresses, right checksum, valid IDX.</summary>
    public static MnistFileCheck Check(string directory, MnistFile file)
    {
        string? path = MnistLocator.FindFile(directory, file);
        if (path is null)
        {
            return new MnistFileCheck(file, null, $"missing (neither {file.Name} nor {file.Name}.gz)", null);
        }

        try
        {
            byte[] content = IdxReader.ReadContent(path);
            string? problem = ChecksumProblem(file, content);
            IdxFile idx = IdxReader.Parse(content, Path.GetFileName(path), file.Kind);
            if (idx.Kind == IdxKind.Labels)
            {
                MnistData.CheckLabelRange(idx);
            }

            return new MnistFileCheck(file, path, problem, string.Join(" x ", idx.Dimensions));
        }
        catch (MnistDataException e)
        {
            return new MnistFileCheck(file, path, e.Problem, null);
        }
    }

    /// <summary>Checks all four files.</summary>
    public static IReadOnlyList<MnistFileCheck> CheckAll(string directory) =>
        [.. MnistFiles.All.Select(f => Check(directory, f))];

    /// <summary>Null when <paramref name="content"/> (decompressed) has the expected SHA-256, else what differs.</summary>
    public static string? ChecksumProblem(MnistFile file, ReadOnlySpan<byte> content)
    {
        string actual = Sha256Hex(content);
        return actual == file.RawSha256
            ? null
            : $"SHA-256 mismatch: expected {file.RawSha256}, found {actual} ({content.Length} bytes, expected {file.RawLength})";
    }
}
