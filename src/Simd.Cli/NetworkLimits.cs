using System.Globalization;
using System.Numerics;
using Simd.Mnist;
using Simd.Training;

namespace Simd.Cli;

/// <summary>
/// The MNIST network of a command's options, refused before anything is allocated when its buffers
/// cannot be held: more weights than a layer may have, more values than one buffer holds, or more bytes
/// than this process may use. One line naming the options to lower, exit code 64.
/// </summary>
internal static class NetworkLimits
{
    /// <summary>Checks the network in the chosen precision, before any data is loaded.</summary>
    /// <param name="batchOption">The option that sets the batch ("--batch", "--images"), for the message.</param>
    public static NetworkShape Check(Precision precision, NetworkSpec network, int batch, int threads, string batchOption) =>
        PrecisionDispatch.Run(precision, new Work(network, batch, threads, batchOption));

    private static NetworkShape Check<T>(NetworkSpec network, int batch, int threads, string batchOption)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (network.Layers is null && NetworkShape.SizeProblem([MnistFiles.PixelsPerImage, .. network.Hidden, MnistFiles.ClassCount]) is { } problem)
        {
            throw new UsageException($"--hidden {string.Join(",", network.Hidden)} is too large: {problem}");
        }

        NetworkShape shape = network.Shape;
        WorkspaceNeeds needs = WorkspaceNeeds.Of(network.Stack);
        long elements = Workspace<T>.RequiredElements(needs, batch, threads, Tuning.EvaluationChunkRows);
        long bytes = Workspace<T>.RequiredBytes(needs, batch, threads, Tuning.EvaluationChunkRows);
        string what = $"a {shape} network with {batchOption} {batch} and --threads {threads}";
        string lower = $"lower {batchOption}, --threads or {(network.Layers is null ? "--hidden" : "the layers' sizes")}";
        if (elements > Workspace<T>.MaxElements)
        {
            throw new UsageException(string.Create(CultureInfo.InvariantCulture,
                $"{what} needs {Bytes(bytes)} of buffers ({elements:N0} values), more than one buffer holds ({Workspace<T>.MaxElements:N0} values); {lower}"));
        }

        long available = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        if (bytes > available)
        {
            throw new UsageException($"{what} needs {Bytes(bytes)} of buffers, more than the {Bytes(available)} of memory available; {lower}");
        }

        return shape;
    }

    private static string Bytes(long bytes) => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1e9:F1} GB");

    private sealed class Work(NetworkSpec network, int batch, int threads, string batchOption) : IPrecisionWork<NetworkShape>
    {
        public NetworkShape Run<T>()
            where T : unmanaged, IFloatingPointIeee754<T>
            => Check<T>(network, batch, threads, batchOption);
    }
}
