using System.CommandLine;
using Simd.Training.Files;
using Simd.Training.Models;

namespace Simd.Cli;

/// <summary>
/// The files a training run reads and writes besides MNIST: --save, --checkpoint, --resume, --metrics.
/// Every path is checked before the data is loaded, so a run never trains for minutes and then fails to
/// write its result.
/// </summary>
internal sealed class TrainFiles
{
    public Option<string?> Save { get; } = CommonOptions.NonEmptyPath(new Option<string?>("--save")
    {
        Description = "Write the trained network to FILE: numpy's .npz (W1, b1, W2, b2, ... as the book's params), read by 'simd eval' and 'simd predict'.",
        HelpName = "FILE",
    }, "a file");

    public Option<string?> Checkpoint { get; } = CommonOptions.NonEmptyPath(new Option<string?>("--checkpoint")
    {
        Description = $"Write DIR/{CheckpointFile.FileName} after every evaluation and on Ctrl+C: parameters, optimizer state, iteration and random state, for --resume.",
        HelpName = "DIR",
    }, "a directory");

    public Option<string?> Resume { get; } = CommonOptions.NonEmptyPath(new Option<string?>("--resume")
    {
        Description = "Continue the run a checkpoint file holds, bitwise as if never stopped; its options are kept (give --iters to train further).",
        HelpName = "FILE",
    }, "a file");

    public Option<string?> Metrics { get; } = CommonOptions.NonEmptyPath(new Option<string?>("--metrics")
    {
        Description = "Write every step's loss and every evaluation row to FILE (.csv or .jsonl) for 'simd plot'; a resumed run appends.",
        HelpName = "FILE",
    }, "a file");

    public void AddTo(Command command)
    {
        foreach (Option option in (Option[])[Save, Checkpoint, Resume, Metrics])
        {
            command.Options.Add(option);
        }
    }

    /// <summary>The checkpoint to resume from, read and checked (exit 2 when it is bad), or null.</summary>
    public Checkpoint? ReadResume(ParseResult parseResult, CancellationToken cancellationToken) =>
        parseResult.GetValue(Resume) is { } path ? CheckpointFile.Read(path, cancellationToken) : null;

    /// <summary>
    /// Checks every output location before training (for --checkpoint, creates the directory and takes its lock):
    /// symlinks followed, nothing but a regular file replaced, no file named by two options.
    /// </summary>
    /// <exception cref="UsageException">A path that cannot be written, or one file for two outputs, named in one line.</exception>
    public TrainOutputs Prepare(ParseResult parseResult, Checkpoint? resumeFrom)
    {
        string? save = parseResult.GetValue(Save) is { } s ? WritableFile("--save", s) : null;
        string? metrics = parseResult.GetValue(Metrics) is { } m ? WritableFile("--metrics", m) : null;
        if (metrics is not null)
        {
            MetricsFile.IsJson(metrics);
        }

        string? checkpoint = null, directory = null;
        if (parseResult.GetValue(Checkpoint) is { } given)
        {
            directory = Path.GetFullPath(given);
            if (File.Exists(directory))
            {
                throw new UsageException($"--checkpoint {directory}: is a file; give a directory (it holds {CheckpointFile.FileName})");
            }

            try
            {
                Directory.CreateDirectory(directory);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new UsageException($"--checkpoint {directory}: cannot create the directory: {e.Message}");
            }

            Probe("--checkpoint", directory);
            checkpoint = WritableFile("--checkpoint", Path.Combine(directory, CheckpointFile.FileName));
        }

        var outputs = new TrainOutputs(save, checkpoint, metrics, resumeFrom);
        RefuseSharedFiles(outputs, resumeFrom is null ? null : Target(resumeFrom.Model.Path));
        if (directory is not null)
        {
            outputs.Lock = CheckpointLock.Acquire(directory);
        }

        return outputs;
    }

    private const string InterruptCheckpointOption = "--save's Ctrl+C checkpoint";

    /// <summary>Two outputs on one file would silently replace one with the other (compared as resolved full paths).</summary>
    private static void RefuseSharedFiles(TrainOutputs outputs, string? resume)
    {
        string? interrupt = outputs.CheckpointFile is null && outputs.InterruptCheckpoint is { } i ? Target(i) : null;
        (string Option, string? Path)[] files =
        [
            ("--save", outputs.Save), ("--metrics", outputs.Metrics), ("--checkpoint", outputs.CheckpointFile),
            (InterruptCheckpointOption, interrupt), ("--resume", resume),
        ];
        for (int a = 0; a < files.Length; a++)
        {
            for (int b = a + 1; b < files.Length; b++)
            {
                // Resuming from the checkpoint a run goes on writing is how --resume is meant to be used (also the one
                // Ctrl+C wrote beside --save, which the interrupted run's last line tells the user to resume).
                bool continuing = files[a].Option is "--checkpoint" or InterruptCheckpointOption && files[b].Option == "--resume";
                if (files[a].Path is { } path && path == files[b].Path && !continuing)
                {
                    throw new UsageException($"{files[a].Option} and {files[b].Option} name the same file, {path}: one would replace the other; give each its own");
                }
            }
        }
    }

    /// <summary>Where a write to <paramref name="path"/> lands, or the path itself when that cannot be told.</summary>
    private static string Target(string path)
    {
        try
        {
            return OutputFile.Target(path);
        }
        catch (OutputFileException)
        {
            return Path.GetFullPath(path);
        }
    }

    /// <summary>A file to be written: empty names, directories, devices and FIFOs refused; symlinks followed; its directory takes new files.</summary>
    private static string WritableFile(string option, string path)
    {
        if (string.IsNullOrWhiteSpace(path))
        {
            throw new UsageException($"{option} must name a file (got an empty value)");
        }

        string target;
        try
        {
            target = OutputFile.Target(path);
        }
        catch (OutputFileException e)
        {
            throw new UsageException($"{option} {e.Message}");
        }

        Probe(option, Path.GetDirectoryName(target)!);
        return target;
    }

    /// <summary>Creates and deletes a file in <paramref name="directory"/>: a read-only place fails now, not after training.</summary>
    public static void Probe(string option, string directory)
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

/// <summary>Where a run writes, as full paths of the files replaced (null: not requested), and the checkpoint it continues, if any.</summary>
/// <param name="CheckpointFile">DIR/checkpoint.npz of --checkpoint.</param>
internal sealed record TrainOutputs(string? Save, string? CheckpointFile, string? Metrics, Checkpoint? ResumeFrom) : IDisposable
{
    /// <summary>Held while the run may write DIR/checkpoint.npz.</summary>
    public CheckpointLock? Lock { get; set; }

    /// <summary>Where Ctrl+C or a failed output writes the run: the checkpoint file, else beside --save (MODEL.checkpoint.npz), else nowhere.</summary>
    public string? InterruptCheckpoint =>
        CheckpointFile ?? (Save is { } save ? Path.ChangeExtension(save, null) + ".checkpoint.npz" : null);

    public void Dispose() => Lock?.Dispose();
}
