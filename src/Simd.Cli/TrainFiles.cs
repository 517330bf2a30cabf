using System.CommandLine;
using Simd.Training.Models;

namespace Simd.Cli;

/// <summary>
/// The files a training run reads and writes besides MNIST: --save, --checkpoint, --resume, --metrics.
/// Every path is checked before the data is loaded, so a run never trains for minutes and then fails to
/// write its result.
/// </summary>
internal sealed class TrainFiles
{
    public Option<string?> Save { get; } = new("--save")
    {
        Description = "Write the trained network to FILE: numpy's .npz (W1, b1, W2, b2, ... as the book's params), read by 'simd eval' and 'simd predict'.",
        HelpName = "FILE",
    };

    public Option<string?> Checkpoint { get; } = new("--checkpoint")
    {
        Description = $"Write DIR/{CheckpointFile.FileName} after every evaluation and on Ctrl+C: parameters, optimizer state, iteration and random state, for --resume.",
        HelpName = "DIR",
    };

    public Option<string?> Resume { get; } = new("--resume")
    {
        Description = "Continue the run a checkpoint file holds, bitwise as if never stopped; its options are kept (give --iters to train further).",
        HelpName = "FILE",
    };

    public Option<string?> Metrics { get; } = new("--metrics")
    {
        Description = "Write every step's loss and every evaluation row to FILE (.csv or .jsonl) for 'simd plot'; a resumed run appends.",
        HelpName = "FILE",
    };

    public void AddTo(Command command)
    {
        foreach (Option option in (Option[])[Save, Checkpoint, Resume, Metrics])
        {
            command.Options.Add(option);
        }
    }

    /// <summary>The checkpoint to resume from, read and checked (exit 2 when it is bad), or null.</summary>
    public Checkpoint? ReadResume(ParseResult parseResult) =>
        parseResult.GetValue(Resume) is { } path ? CheckpointFile.Read(path) : null;

    /// <summary>Checks (and for --checkpoint, creates) every output location; returns the full paths.</summary>
    /// <exception cref="UsageException">A path that cannot be written, named in one line.</exception>
    public TrainOutputs Prepare(ParseResult parseResult, Checkpoint? resumeFrom)
    {
        string? save = parseResult.GetValue(Save) is { } s ? WritableFile("--save", s) : null;
        string? metrics = parseResult.GetValue(Metrics) is { } m ? WritableFile("--metrics", m) : null;
        if (metrics is not null)
        {
            MetricsFile.IsJson(metrics);
        }

        string? checkpoint = null;
        if (parseResult.GetValue(Checkpoint) is { } directory)
        {
            string full = Path.GetFullPath(directory);
            if (File.Exists(full))
            {
                throw new UsageException($"--checkpoint {full}: is a file; give a directory (it holds {CheckpointFile.FileName})");
            }

            try
            {
                Directory.CreateDirectory(full);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new UsageException($"--checkpoint {full}: cannot create the directory: {e.Message}");
            }

            Probe("--checkpoint", full);
            checkpoint = Path.Combine(full, CheckpointFile.FileName);
        }

        return new TrainOutputs(save, checkpoint, metrics, resumeFrom);
    }

    /// <summary>A file to be written: not a directory, in a directory that exists and takes new files.</summary>
    private static string WritableFile(string option, string path)
    {
        if (string.IsNullOrWhiteSpace(path))
        {
            throw new UsageException($"{option} must name a file (got an empty value)");
        }

        string full = Path.GetFullPath(path);
        if (Directory.Exists(full))
        {
            throw new UsageException($"{option} {full}: is a directory; give a file name");
        }

        string directory = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(directory))
        {
            throw new UsageException($"{option} {full}: the directory {directory} does not exist");
        }

        Probe(option, directory);
        return full;
    }

    /// <summary>Creates and deletes a file in <paramref name="directory"/>: a read-only place fails now, not after training.</summary>
    private static void Probe(string option, string directory)
    {
        string probe = Path.Combine(directory, $".simd-probe-{Environment.ProcessId}");
        try
        {
            using (File.Create(probe))
            {
            }

            File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"{option}: cannot write in {directory}: {e.Message}");
        }
    }
}

/// <summary>Where a run writes, as full paths (null: not requested), and the checkpoint it continues, if any.</summary>
/// <param name="CheckpointFile">DIR/checkpoint.npz of --checkpoint.</param>
internal sealed record TrainOutputs(string? Save, string? CheckpointFile, string? Metrics, Checkpoint? ResumeFrom)
{
    /// <summary>Where Ctrl+C writes the run: the checkpoint file, else beside --save (MODEL.checkpoint.npz), else nowhere.</summary>
    public string? InterruptCheckpoint =>
        CheckpointFile ?? (Save is { } save ? Path.ChangeExtension(save, null) + ".checkpoint.npz" : null);
}
