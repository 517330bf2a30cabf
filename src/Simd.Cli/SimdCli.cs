using System.CommandLine;
using Simd.Cli.Commands;
using Simd.Mnist;
using Simd.Training;
using Simd.Training.Files;
using Simd.Training.Models;

namespace Simd.Cli;

/// <summary>The <c>simd</c> command line: builds the command tree, runs it, turns user errors into one line and an exit code.</summary>
public static class SimdCli
{
    public static RootCommand BuildRoot()
    {
        var root = new RootCommand(
            "simd: the fully connected networks of \"Deep Learning from Scratch\" (ch. 4-6) on MNIST, " +
            "with the book's numerical gradient and backpropagation, on hand-written SIMD kernels.")
        {
            TrainCommand.Create(),
            EvalCommand.Create(),
            PredictCommand.Create(),
            PlotCommand.Create(),
            FiltersCommand.Create(),
            MisclassifiedCommand.Create(),
            ExportCommand.Create(),
            ExperimentCommand.Create(),
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
    /// <param name="interrupt">Cancelled on Ctrl+C (see <see cref="Program"/>): every long command stops at its next
    /// check, and the CLI prints "simd: interrupted" and returns 130.</param>
    public static int Run(string[] args, TextWriter output, TextWriter error, CancellationToken interrupt = default)
    {
        output = new GuardedWriter(output, quiet: false);
        error = new GuardedWriter(error, quiet: true);
        try
        {
            return ParseAndInvoke(args, output, error, interrupt);
        }
        catch (OutputUnavailableException e)
        {
            error.WriteLine($"simd: {e.Message}");
            return ExitCodes.OutputError;
        }
    }

    private static int ParseAndInvoke(string[] args, TextWriter output, TextWriter error, CancellationToken interrupt)
    {
        ParseResult parsed = BuildRoot().Parse(args);
        if (parsed.Errors.Count > 0)
        {
            // One clear line, not the parser's full help dump.
            error.WriteLine($"simd: {parsed.Errors[0].Message} (see 'simd {CommandPath(parsed)}--help')");
            return ExitCodes.UsageError;
        }

        // No termination handling of System.CommandLine's own: after a timeout it returns 130 while the
        // command still runs, and prints nothing. The caller's interrupt token is the one way in.
        var configuration = new InvocationConfiguration
        {
            Output = output,
            Error = error,
            EnableDefaultExceptionHandler = false,
            ProcessTerminationTimeout = null,
        };
        try
        {
            interrupt.ThrowIfCancellationRequested();
            return parsed.InvokeAsync(configuration, interrupt).GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is MnistDataException or ModelFileException or InputDataException or OutputFileException)
        {
            // A file the user gave or that simd keeps or writes (MNIST, a model or checkpoint, a picture, metrics, a
            // plot): one line names it.
            error.WriteLine($"simd: {Printable.Line(e.Message)}");
            return ExitCodes.DataError;
        }
        catch (UsageException e)
        {
            error.WriteLine($"simd: {Printable.Line(e.Message)}");
            return ExitCodes.UsageError;
        }
        catch (TrainingDivergedException e)
        {
            error.WriteLine($"simd: {e.Message}; try a lower --lr");
            return ExitCodes.TrainingDiverged;
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
