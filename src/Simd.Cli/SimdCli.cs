using System.CommandLine;
using Simd.Cli.Commands;
using Simd.Mnist;

namespace Simd.Cli;

/// <summary>The <c>simd</c> command line: builds the command tree, runs it, turns user errors into one line and an exit code.</summary>
public static class SimdCli
{
    public static RootCommand BuildRoot()
    {
        var root = new RootCommand(
            "simd: the two-layer network of \"Deep Learning from Scratch\" (ch. 4-5) on MNIST, " +
            "with the book's numerical gradient and backpropagation, on hand-written SIMD kernels.")
        {
            TrainCommand.Create(),
            GradcheckCommand.Create(),
            CompareCommand.Create(),
            InfoCommand.Create(),
            DataCommand.Create(),
        };
        // `simd` alone shows the help rather than an error.
        root.SetAction(parseResult => new System.CommandLine.Help.HelpAction().Invoke(parseResult));
        return root;
    }

    /// <summary>Parses and runs <paramref name="args"/>, writing to the given writers (tests pass StringWriters).</summary>
    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        ParseResult parsed = BuildRoot().Parse(args);
        if (parsed.Errors.Count > 0)
        {
            // One clear line, not the parser's full help dump.
            error.WriteLine($"simd: {parsed.Errors[0].Message} (see 'simd {CommandPath(parsed)}--help')");
            return ExitCodes.UsageError;
        }

        var configuration = new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false };
        try
        {
            return parsed.Invoke(configuration);
        }
        catch (MnistDataException e)
        {
            error.WriteLine($"simd: {e.Message}");
            return ExitCodes.DataError;
        }
        catch (UsageException e)
        {
            error.WriteLine($"simd: {e.Message}");
            return ExitCodes.UsageError;
        }
        catch (OperationCanceledException)
        {
            error.WriteLine("simd: interrupted");
            return ExitCodes.Interrupted;
        }
    }

    private static string CommandPath(ParseResult parsed)
    {
        var names = new List<string>();
        for (var result = parsed.CommandResult; result.Parent is System.CommandLine.Parsing.CommandResult parent; result = parent)
        {
            names.Add(result.Command.Name);
        }

        names.Reverse();
        return names.Count == 0 ? "" : string.Join(' ', names) + " ";
    }
}
