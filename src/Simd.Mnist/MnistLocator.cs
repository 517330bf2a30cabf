namespace Simd.Mnist;

/// <summary>Where a directory of MNIST files came from, in order of precedence.</summary>
public enum MnistSource
{
    /// <summary>The <c>--data DIR</c> option.</summary>
    Option,

    /// <summary>The <c>MNIST_DIR</c> environment variable.</summary>
    EnvironmentVariable,

    /// <summary>The user cache, where <c>simd data fetch</c> puts the files.</summary>
    Cache,
}

/// <summary>A directory to read MNIST from and why it was chosen.</summary>
public sealed record MnistLocation(string Directory, MnistSource Source)
{
    /// <summary>E.g. "MNIST_DIR=/data/mnist".</summary>
    public string Describe() => Source switch
    {
        MnistSource.Option => $"--data {Directory}",
        MnistSource.EnvironmentVariable => $"{MnistLocator.EnvironmentVariable}={Directory}",
        _ => $"cache {Directory}",
    };
}

/// <summary>
/// Finds the MNIST files: <c>--data DIR</c>, else <c>$MNIST_DIR</c>, else the user cache
/// (<c>$XDG_CACHE_HOME/simd/mnist</c> or <c>~/.cache/simd/mnist</c>). The first one given is the one
/// used: a directory the user named explicitly is never silently replaced by another.
/// </summary>
public static class MnistLocator
{
    public const string EnvironmentVariable = "MNIST_DIR";

    /// <summary>The user cache directory for MNIST (not created here).</summary>
    public static string CacheDirectory
    {
        get
        {
            string? xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
            string root = !string.IsNullOrWhiteSpace(xdg) && Path.IsPathRooted(xdg)
                ? xdg
                : OperatingSystem.IsWindows()
                    ? Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData)
                    : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
            return Path.Combine(root, "simd", "mnist");
        }
    }

    /// <summary>The directory to use, by precedence; it is not checked here.</summary>
    public static MnistLocation Choose(string? dataOption)
    {
        if (!string.IsNullOrWhiteSpace(dataOption))
        {
            return new MnistLocation(Path.GetFullPath(dataOption), MnistSource.Option);
        }

        string? env = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(env))
        {
            return new MnistLocation(Path.GetFullPath(env), MnistSource.EnvironmentVariable);
        }

        return new MnistLocation(CacheDirectory, MnistSource.Cache);
    }

    /// <summary>
    /// The path of <paramref name="file"/> in <paramref name="directory"/> that is read: raw first (it loads
    /// without decompressing), else <c>.gz</c>; null when neither exists. Anything of that name counts,
    /// so a directory in its place is reported as such rather than as missing.
    /// </summary>
    public static string? FindFile(string directory, MnistFile file)
    {
        IReadOnlyList<string> candidates = Candidates(directory, file);
        return candidates.Count > 0 ? candidates[0] : null;
    }

    /// <summary>Every variant of <paramref name="file"/> present in <paramref name="directory"/>: raw, then <c>.gz</c>. The first is the one read.</summary>
    public static IReadOnlyList<string> Candidates(string directory, MnistFile file)
    {
        string raw = Path.Combine(directory, file.Name);
        return [.. ((string[])[raw, raw + ".gz"]).Where(Path.Exists)];
    }

    /// <summary>The files of which both variants are present: (the one read, the one not read).</summary>
    public static IReadOnlyList<(string Read, string NotRead)> Shadowed(string directory) =>
        [.. MnistFiles.All.Select(f => Candidates(directory, f)).Where(c => c.Count > 1).Select(c => (c[0], c[1]))];

    /// <summary>Null when <paramref name="directory"/> is a directory; else what it is instead ("not found", "is a file, not a directory").</summary>
    public static string? DirectoryProblem(string directory) =>
        Directory.Exists(directory) ? null
        : File.Exists(directory) ? "is a file, not a directory"
        : "directory not found";

    /// <summary>The files absent from <paramref name="directory"/>.</summary>
    public static IReadOnlyList<MnistFile> Missing(string directory) =>
        [.. MnistFiles.All.Where(f => FindFile(directory, f) is null)];
}
