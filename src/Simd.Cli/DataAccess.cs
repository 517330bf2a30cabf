using System.Numerics;
using Simd.Mnist;
using Simd.Training;

namespace Simd.Cli;

/// <summary>How the commands get MNIST: locate it, fetch it into the cache on first use, load it.</summary>
internal static class DataAccess
{
    /// <summary>
    /// Loads MNIST from <c>--data</c>, <c>$MNIST_DIR</c> or the cache. Only the cache is filled
    /// automatically: a directory the user named must already hold the files.
    /// </summary>
    public static MnistData Load(string? dataOption, TextWriter log, CancellationToken cancellationToken)
    {
        MnistLocation location = MnistLocator.Choose(dataOption);
        if (location.Source == MnistSource.Cache && MnistLocator.Missing(location.Directory).Count > 0)
        {
            log.WriteLine($"MNIST not found in the cache; fetching it into {location.Directory}");
            FetchAsync(location.Directory, log, log, cancellationToken).GetAwaiter().GetResult();
        }
        else if (location.Source != MnistSource.Cache && MnistLocator.DirectoryProblem(location.Directory) is { } problem)
        {
            throw new MnistDataException(location.Directory, $"{problem} (from {location.Describe()})");
        }

        MnistData data = MnistData.Load(location.Directory);
        foreach ((string read, string notRead) in MnistLocator.Shadowed(location.Directory))
        {
            log.WriteLine($"simd: note: read {read}; {Path.GetFileName(notRead)} beside it is not read (check both with 'simd data verify')");
        }

        if (data.Train.Count < data.Test.Count)
        {
            log.WriteLine(
                $"simd: warning: the training set ({data.Train.Count} images) is smaller than the test set ({data.Test.Count}): " +
                "are the train and test files swapped?");
        }

        return data;
    }

    /// <summary>
    /// Fetches MNIST into <paramref name="directory"/>: each step's line to <paramref name="log"/>, and while
    /// a file downloads, its bytes and rate on a progress line (<paramref name="progressTo"/>, a terminal only).
    /// </summary>
    public static async Task FetchAsync(string directory, TextWriter log, TextWriter progressTo, CancellationToken cancellationToken)
    {
        var progress = new ProgressLine(progressTo);
        var fetcher = new MnistFetcher(
            line =>
            {
                progress.Done();
                log.WriteLine("  " + line);
            },
            progress: (file, bytes, total) => progress.Report($"  {file}", bytes, total ?? 0, "bytes"));
        try
        {
            await fetcher.FetchAsync(directory, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            progress.Done();
        }
    }

    public static Dataset<T> ToDataset<T>(MnistSplit split)
        where T : unmanaged, IFloatingPointIeee754<T>
        => Dataset<T>.FromBytes(split.Images.Span, split.Labels.Span, split.Count, MnistFiles.PixelsPerImage, MnistFiles.ClassCount);

    /// <summary>"MNIST_DIR=... (60000 train, 10000 test)".</summary>
    public static string Describe(string? dataOption, MnistData data) =>
        $"{MnistLocator.Choose(dataOption).Describe()} ({data.Train.Count} train, {data.Test.Count} test images)";
}
