using System.Diagnostics;
using System.Globalization;
using Simd.Cli;
using Simd.Tests.Support;
using Simd.Training.Models;

namespace Simd.Tests.Cli;

/// <summary>
/// Nothing a run makes is lost, and nothing it should not touch is replaced: --save, --checkpoint, --metrics and
/// plot's --output against links, devices, shared files, a second run, and writes that fail mid-run (issue 16).
/// </summary>
public class TrainOutputTests
{
    private static (int Code, string Output, string Error) Run(params string[] args) =>
        CliRunner.Run([.. args, "--data", MnistFixture.Directory]);

    private static string LastLine(string text) => text.TrimEnd().Split('\n')[^1];

    [Fact]
    public void Save_through_a_symlink_writes_its_target_and_keeps_the_link()
    {
        using var dir = new TempDirectory();
        File.CreateSymbolicLink(dir.File("link.npz"), dir.File("real.npz"));
        (int code, string output, string error) = Run("train", "--iters", "1", "--hidden", "4", "--save", dir.File("link.npz"));
        Assert.True(code == 0, error);
        Assert.Contains($"saved: {dir.File("real.npz")}", output, StringComparison.Ordinal);
        Assert.NotNull(new FileInfo(dir.File("link.npz")).LinkTarget);
        Assert.Equal("784-4-10", ModelFile.Read(dir.File("link.npz")).Shape.ToString());
    }

    [Theory]
    [InlineData("--save", "/dev/null", "--save /dev/null: is a device, FIFO or socket, not a regular file; give a file name")]
    [InlineData("--metrics", "/dev/full", "--metrics /dev/full: is a device, FIFO or socket, not a regular file; give a file name")]
    [InlineData("--save", "/tmp", "--save /tmp: is a directory; give a file name")]
    public void A_target_that_is_not_a_regular_file_is_refused_before_training(string option, string path, string expected)
    {
        (int code, string output, string error) = Run("train", "--hidden", "4", option, path);
        Assert.Equal(ExitCodes.UsageError, code);
        Assert.Equal($"simd: {expected}", error.TrimEnd().Split('\n').Single());
        Assert.DoesNotContain("epoch", output, StringComparison.Ordinal);
    }

    [Fact]
    public void One_file_for_two_outputs_is_refused_naming_both()
    {
        using var dir = new TempDirectory();
        (int code, _, string error) = Run("train", "--hidden", "4", "--save", dir.File("run.csv"), "--metrics", dir.File("run.csv"));
        Assert.Equal(ExitCodes.UsageError, code);
        Assert.Contains($"--save and --metrics name the same file, {dir.File("run.csv")}", error, StringComparison.Ordinal);

        Directory.CreateDirectory(dir.File("ck"));
        (code, _, error) = Run("train", "--hidden", "4", "--save", Path.Combine(dir.Path, "ck", "checkpoint.npz"), "--checkpoint", dir.File("ck"));
        Assert.Equal(ExitCodes.UsageError, code);
        Assert.Contains("--save and --checkpoint name the same file", error, StringComparison.Ordinal);

        // The checkpoint Ctrl+C wrote beside --save is resumed with the same --save: that is no conflict.
        Assert.Equal(0, Run("train", "--iters", "2", "--hidden", "4", "--checkpoint", dir.File("first")).Code);
        File.Copy(Path.Combine(dir.File("first"), CheckpointFile.FileName), dir.File("m.checkpoint.npz"));
        (code, _, error) = Run("train", "--resume", dir.File("m.checkpoint.npz"), "--iters", "3", "--save", dir.File("m.npz"));
        Assert.True(code == 0, error);

        // Through a link, the same file still.
        File.CreateSymbolicLink(dir.File("alias.csv"), dir.File("metrics.csv"));
        (code, _, error) = Run("train", "--hidden", "4", "--metrics", dir.File("metrics.csv"), "--save", dir.File("alias.csv"));
        Assert.Equal(ExitCodes.UsageError, code);
        Assert.Contains("--save and --metrics name the same file", error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_second_run_on_a_checkpoint_directory_is_refused_naming_the_holder()
    {
        using var dir = new TempDirectory();
        using (new FileStream(dir.File(CheckpointLock.FileName), FileMode.Create, FileAccess.ReadWrite, FileShare.None))
        {
            (int code, string output, string error) = Run("train", "--iters", "1", "--hidden", "4", "--checkpoint", dir.Path);
            Assert.Equal(ExitCodes.UsageError, code);
            Assert.Equal($"simd: --checkpoint {dir.Path}: another run writes its checkpoints there (process {Environment.ProcessId}); give each run its own directory", error.TrimEnd());
            Assert.DoesNotContain("epoch", output, StringComparison.Ordinal);
        }

        // Released (as by a crash: the kernel drops the lock with its process): the stale file is no obstacle.
        (int again, _, string againError) = Run("train", "--iters", "1", "--hidden", "4", "--checkpoint", dir.Path);
        Assert.True(again == 0, againError);
        Assert.True(File.Exists(dir.File(CheckpointFile.FileName)));
    }

    [Fact]
    public void A_checkpoint_with_next_batch_indices_outside_the_data_is_a_bad_file()
    {
        using var dir = new TempDirectory();
        Assert.Equal(0, Run("train", "--iters", "2", "--batch", "3", "--hidden", "4", "--checkpoint", dir.Path).Code);
        string checkpoint = dir.File(CheckpointFile.FileName);
        Npz.Write(dir.File("bad.npz"), Npz.Read(checkpoint).Select(a => a.Name == CheckpointFile.NextBatchName ? NpyArray.Int32s(a.Name, [0, 1, 999_999]) : a));
        (int code, _, string error) = Run("train", "--resume", dir.File("bad.npz"), "--iters", "5");
        Assert.Equal(ExitCodes.DataError, code);
        Assert.Contains("the checkpoint's next batch holds indices outside the 60000 training images", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--model must name a file", "eval", "--model", "")]
    [InlineData("--model must name a file", "predict", "--model", "", "x.png")]
    [InlineData("IMAGE: an empty file name", "predict", "--model", "m.npz", "")]
    [InlineData("METRICS: an empty file name", "plot", "")]
    [InlineData("--output must name a file", "plot", "m.csv", "-o", "")]
    [InlineData("--checkpoint must name a directory", "train", "--checkpoint", "")]
    [InlineData("--resume must name a file", "train", "--resume", "")]
    [InlineData("--metrics must name a file", "train", "--metrics", "")]
    [InlineData("--out must name a directory", "experiment", "init", "--out", "")]
    public void An_empty_path_is_a_usage_error(string expected, params string[] args)
    {
        (int code, _, string error) = CliRunner.Run(args);
        Assert.Equal(ExitCodes.UsageError, code);
        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.Single(error.TrimEnd().Split('\n'));
    }

    [Fact]
    public void Plot_to_a_directory_that_does_not_exist_or_under_a_file_is_one_line()
    {
        using var dir = new TempDirectory();
        File.WriteAllLines(dir.File("run.csv"), ["kind,iteration,epoch,loss,train_acc,test_acc", "step,0,,2.3,,"]);
        foreach (string target in (string[])[dir.File("missing/x.svg"), dir.File("run.csv/x.svg")])
        {
            (int code, _, string error) = CliRunner.Run("plot", dir.File("run.csv"), "-o", target);
            Assert.Equal(ExitCodes.UsageError, code);
            Assert.StartsWith($"simd: --output {target}: the directory ", error, StringComparison.Ordinal);
            Assert.Single(error.TrimEnd().Split('\n'));
        }
    }

    [Fact]
    public void Experiment_refuses_an_output_directory_that_takes_no_files_before_any_run()
    {
        (int code, string output, string error) = Run("experiment", "init", "--quick", "--out", "/proc");
        Assert.Equal(ExitCodes.UsageError, code);
        Assert.StartsWith("simd: --out: cannot write in /proc", error, StringComparison.Ordinal);
        Assert.DoesNotContain("experiment init", output, StringComparison.Ordinal);
    }

    /// <summary>The JIT build's simd, run as a process: for signals, resource limits and files changed under a run.</summary>
    private static Process Start(string shellCommand, params string[] args)
    {
        var start = new ProcessStartInfo("/bin/bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string argument in (string[])["-c", shellCommand + " \"$@\"", CliEdgeCaseTests.JitSimd, .. args, "--data", MnistFixture.Directory])
        {
            start.ArgumentList.Add(argument);
        }

        return Process.Start(start)!;
    }

    [Fact]
    public async Task A_final_save_that_fails_keeps_the_trained_network_beside_it()
    {
        using var dir = new TempDirectory();
        string target = dir.File("m.npz");
        using Process process = Start("exec \"$0\"", "train", "--iters", "3000", "--hidden", "4", "--save", target);
        Task<string> error = process.StandardError.ReadToEndAsync();
        Assert.NotNull(process.StandardOutput.ReadLine()); // data: ...; the checks of --save are done
        Directory.CreateDirectory(target); // the target becomes what no model can be written over
        string output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        string rescue = dir.File($"m.rescue-{process.Id}.npz");
        Assert.Equal(ExitCodes.DataError, process.ExitCode);
        Assert.Equal($"simd: {target}: is a directory; give a file name; the trained network was written to {rescue} instead", LastLine(await error));
        Assert.Contains("final (iteration 2999)", output, StringComparison.Ordinal);
        Assert.Equal("784-4-10", ModelFile.Read(rescue).Shape.ToString());
    }

    [Fact]
    public async Task A_checkpoint_write_that_fails_mid_run_stops_the_run_and_keeps_it()
    {
        using var dir = new TempDirectory();
        string checkpoint = dir.File(CheckpointFile.FileName);
        using Process process = Start("exec \"$0\"", "train", "--iters", "1000000", "--hidden", "4", "--checkpoint", dir.Path);
        Task<string> error = process.StandardError.ReadToEndAsync();
        Assert.NotNull(process.StandardOutput.ReadLine());
        Assert.NotNull(process.StandardOutput.ReadLine()); // the table's header: the run is under way
        for (int tries = 0; !Directory.Exists(checkpoint) && tries < 100; tries++)
        {
            try
            {
                File.Delete(checkpoint);
                Directory.CreateDirectory(checkpoint);
            }
            catch (IOException)
            {
                await Task.Delay(10); // a checkpoint was being renamed into place: try again
            }
        }

        await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        string last = LastLine(await error);
        Assert.Equal(ExitCodes.DataError, process.ExitCode);
        string rescue = dir.File($"checkpoint.rescue-{process.Id}.npz");
        Assert.Matches($@"^simd: --checkpoint {Esc(checkpoint)}: is a directory; give a file name; training stopped at iteration (\d+); checkpoint written to {Esc(rescue)} \(.*\) \(continue with: simd train --resume {Esc(rescue)}\)$", last);
        int iteration = int.Parse(System.Text.RegularExpressions.Regex.Match(last, @"iteration (\d+)").Groups[1].Value, CultureInfo.InvariantCulture);
        Assert.Equal(iteration, CheckpointFile.Read(rescue).Progress.Iteration);
    }

    [Fact]
    public async Task A_file_size_limit_mid_run_is_one_line_keeps_the_run_and_cuts_no_record()
    {
        using var dir = new TempDirectory();
        string metrics = dir.File("run.csv");
        // 100 KiB: the 784-4-10 checkpoint (about 40 KB) fits, 20,000 steps of metrics (about 400 KB) do not. The JIT
        // runtime's double-mapped code memory is itself a file past such a limit (it crashes at start), so it is off here.
        using Process process = Start("ulimit -f 100; DOTNET_EnableWriteXorExecute=0 exec \"$0\"", "train", "--iters", "20000", "--hidden", "4", "--metrics", metrics, "--checkpoint", dir.File("ck"));
        Task<string> error = process.StandardError.ReadToEndAsync();
        await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        string last = LastLine(await error);
        Assert.Equal(ExitCodes.DataError, process.ExitCode); // not killed by SIGXFSZ (153)
        string checkpoint = Path.Combine(dir.File("ck"), CheckpointFile.FileName);
        Assert.Matches($@"^simd: --metrics {Esc(metrics)}: cannot write: File too large \(past the file-size limit, ulimit -f\); training stopped at iteration \d+; checkpoint written to {Esc(checkpoint)} \(continue with", last);
        string text = File.ReadAllText(metrics);
        Assert.EndsWith("\n", text, StringComparison.Ordinal);
        Assert.All(text.TrimEnd().Split('\n'), line => Assert.Equal(6, line.Split(',').Length));
        Assert.True(CheckpointFile.Read(checkpoint).Progress.Iteration > 0);
    }

    [Fact]
    public async Task An_experiment_whose_files_fail_mid_way_is_one_line()
    {
        using var dir = new TempDirectory();
        // 4 KiB: each run's CSV of metrics (about 7 KB for init --quick) fails part way, in one of the runs side by side.
        using Process process = Start("ulimit -f 4; DOTNET_EnableWriteXorExecute=0 exec \"$0\"", "experiment", "init", "--quick", "--out", dir.Path);
        Task<string> error = process.StandardError.ReadToEndAsync();
        await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(120));
        Assert.Equal(ExitCodes.DataError, process.ExitCode);
        string line = Assert.Single((await error).TrimEnd().Split('\n'));
        Assert.Matches($@"^simd: {Esc(dir.Path)}/init-.*\.csv: cannot write: File too large \(past the file-size limit, ulimit -f\)$", line);
    }

    [Fact]
    public async Task A_second_ctrl_c_says_it_stops_at_once()
    {
        using Process process = Start("exec \"$0\"", "gradcheck", "--hidden", "300");
        Task<string> error = process.StandardError.ReadToEndAsync();
        Assert.NotNull(process.StandardOutput.ReadLine());
        await Task.Delay(200);
        string pid = process.Id.ToString(CultureInfo.InvariantCulture);
        using (Process kill = Process.Start("/bin/sh", ["-c", $"kill -INT {pid}; kill -INT {pid}"])!)
        {
            await kill.WaitForExitAsync();
        }

        await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(ExitCodes.Interrupted, process.ExitCode);
        Assert.StartsWith("simd: interrupted", LastLine(await error), StringComparison.Ordinal); // "interrupted again: stopping at once", or the first one's line
    }

    private static string Esc(string text) => System.Text.RegularExpressions.Regex.Escape(text);
}
