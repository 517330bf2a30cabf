namespace Simd.Tests.Support;

/// <summary>The repository's root: the nearest directory above the test binaries that holds Simd.sln.</summary>
public static class RepositoryRoot
{
    private static readonly Lazy<string> LazyPath = new(Find);

    public static string Path => LazyPath.Value;

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "Simd.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Simd.sln not found above the test directory");
    }
}
