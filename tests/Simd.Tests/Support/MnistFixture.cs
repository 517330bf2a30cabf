using Simd.Mnist;
using Simd.Training;

namespace Simd.Tests.Support;

/// <summary>
/// The real MNIST for the tests that need it: $MNIST_DIR when set (CI points it at ../shared/data/mnist),
/// else the user cache, fetched on first use exactly as `simd train` would. Loaded once per test run.
/// </summary>
public static class MnistFixture
{
    private static readonly Lazy<string> LazyDirectory = new(Resolve);
    private static readonly Lazy<MnistData> LazyData = new(() => MnistData.Load(Directory));
    private static readonly Lazy<(Dataset<float> Train, Dataset<float> Test)> LazySingle = new(() => (ToDataset<float>(Data.Train), ToDataset<float>(Data.Test)));
    private static readonly Lazy<(Dataset<double> Train, Dataset<double> Test)> LazyDouble = new(() => (ToDataset<double>(Data.Train), ToDataset<double>(Data.Test)));

    public static string Directory => LazyDirectory.Value;

    public static MnistData Data => LazyData.Value;

    public static Dataset<float> TrainSingle => LazySingle.Value.Train;

    public static Dataset<float> TestSingle => LazySingle.Value.Test;

    public static Dataset<double> TrainDouble => LazyDouble.Value.Train;

    public static Dataset<double> TestDouble => LazyDouble.Value.Test;

    /// <summary>The first <paramref name="count"/> images of <paramref name="split"/> (the training split by default) as a dataset.</summary>
    public static Dataset<T> Subset<T>(int count, MnistSplit? split = null)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        MnistSplit from = split ?? Data.Train;
        return Dataset<T>.FromBytes(from.Images.Span[..(count * MnistFiles.PixelsPerImage)], from.Labels.Span[..count], count, MnistFiles.PixelsPerImage, MnistFiles.ClassCount);
    }

    private static Dataset<T> ToDataset<T>(MnistSplit split)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
        => Dataset<T>.FromBytes(split.Images.Span, split.Labels.Span, split.Count, MnistFiles.PixelsPerImage, MnistFiles.ClassCount);

    private static string Resolve()
    {
        // The test host runs in bin/, so a relative MNIST_DIR (CI's ../shared/data/mnist) is taken relative
        // to the repository root, where `dotnet test` is run; child processes then inherit the absolute path.
        string? variable = Environment.GetEnvironmentVariable(MnistLocator.EnvironmentVariable);
        if (!string.IsNullOrEmpty(variable) && !Path.IsPathRooted(variable))
        {
            Environment.SetEnvironmentVariable(MnistLocator.EnvironmentVariable, Path.GetFullPath(variable, RepositoryRoot.Path));
        }

        MnistLocation location = MnistLocator.Choose(null);
        if (MnistLocator.Missing(location.Directory).Count > 0)
        {
            if (location.Source != MnistSource.Cache)
            {
                throw new InvalidOperationException($"MNIST files missing in {location.Describe()}");
            }

            Console.WriteLine($"MNIST_DIR not set and the cache is empty: fetching MNIST into {location.Directory}");
            new MnistFetcher(Console.WriteLine).FetchAsync(location.Directory).GetAwaiter().GetResult();
        }

        return location.Directory;
    }
}
