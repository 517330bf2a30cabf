using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Simd.Cli;
using Simd.Tests.Support;
using Simd.Tests.Training;
using Simd.Training.Models;

namespace Simd.Tests.Cli;

/// <summary>train --save/--checkpoint/--resume/--metrics and eval, through the real command line.</summary>
public class ModelCommandTests
{
    private static (int Code, string Output, string Error) Run(params string[] args) =>
        CliRunner.Run([.. args, "--data", MnistFixture.Directory]);

    private static (int Code, string Output, string Error) RunSmall(params string[] args) =>
        CliRunner.Run([.. args, "--data", SmallMnist.Directory]);

    [Fact]
    public void Eval_of_a_saved_model_gives_the_accuracies_training_ended_with()
    {
        using var dir = new TempDirectory();
        string model = dir.File("m.npz");
        (int code, string output, string error) = Run("train", "--iters", "700", "--hidden", "30", "--activation", "relu", "--init", "he", "--save", model, "--threads", "2");
        Assert.True(code == 0, error);
        Assert.Contains($"saved: {model}", output, StringComparison.Ordinal);
        string final = output.Split('\n').Single(l => l.StartsWith("final", StringComparison.Ordinal));

        (code, output, error) = Run("eval", "--model", model, "--threads", "3");
        Assert.True(code == 0, error);
        Assert.Contains($"model: {model}: 784-30-10 relu (from the file), single precision", output, StringComparison.Ordinal);
        string train = output.Split('\n').Single(l => l.StartsWith("train ", StringComparison.Ordinal));
        string test = output.Split('\n').Single(l => l.StartsWith("test ", StringComparison.Ordinal));
        Assert.Contains($"train accuracy {train.Split(' ', StringSplitOptions.RemoveEmptyEntries)[^1]}, test accuracy {test.Split(' ', StringSplitOptions.RemoveEmptyEntries)[^1]}", final, StringComparison.Ordinal);
        Assert.Contains("confusion matrix, test set", output, StringComparison.Ordinal);

        (code, output, error) = Run("eval", "--model", model, "--json");
        Assert.True(code == 0, error);
        using JsonDocument json = JsonDocument.Parse(output);
        JsonElement testSet = json.RootElement.GetProperty("test");
        Assert.Equal(10_000, testSet.GetProperty("images").GetInt32());
        int[][] confusion = [.. testSet.GetProperty("confusion").EnumerateArray().Select(row => row.EnumerateArray().Select(v => v.GetInt32()).ToArray())];
        Assert.Equal(10_000, confusion.Sum(row => row.Sum()));
        int correct = Enumerable.Range(0, 10).Sum(c => confusion[c][c]);
        Assert.Equal(correct / 10_000.0, testSet.GetProperty("accuracy").GetDouble());
        Assert.Equal(test.Split(' ', StringSplitOptions.RemoveEmptyEntries)[^1], (correct / 10_000.0).ToString("F4", CultureInfo.InvariantCulture));
    }

    /// <summary>
    /// 130 iterations straight against 70, a checkpoint, and --resume to 130 (another thread count), on the first 2,000
    /// training images (<see cref="SmallMnist"/>: an epoch of 20 iterations, so the checkpoint falls between two
    /// evaluations and six come after it): the saved models are the same bytes, and the rows after the checkpoint are
    /// the same numbers.
    /// </summary>
    [Fact]
    public void A_resumed_run_saves_the_same_model_as_the_run_never_stopped()
    {
        using var dir = new TempDirectory();
        string[] common = ["--hidden", "24", "--optimizer", "adam", "--weight-decay", "0.001"];
        (int code, string whole, string error) = RunSmall(["train", .. common, "--iters", "130", "--save", dir.File("whole.npz"), "--threads", "1"]);
        Assert.True(code == 0, error);
        (code, _, error) = RunSmall(["train", .. common, "--iters", "70", "--checkpoint", dir.File("ck")]);
        Assert.True(code == 0, error);
        string checkpoint = dir.File(Path.Combine("ck", CheckpointFile.FileName));
        (code, string resumed, error) = RunSmall("train", "--resume", checkpoint, "--iters", "130", "--save", dir.File("resumed.npz"), "--threads", "2", "--optimizer", "adam");
        Assert.True(code == 0, error);
        Assert.Contains($"resumed from {checkpoint} at iteration 70", resumed, StringComparison.Ordinal);
        Assert.Equal(File.ReadAllBytes(dir.File("whole.npz")), File.ReadAllBytes(dir.File("resumed.npz")));
        Assert.Equal(4, Rows(resumed).Count); // 80, 100, 120 and the end
        Assert.Equal(Rows(whole).Where(r => r.Iteration >= 70), Rows(resumed));
    }

    [Fact]
    public void A_resumed_run_refuses_other_options_and_a_finished_run()
    {
        using var dir = new TempDirectory();
        (int code, _, string error) = Run("train", "--iters", "20", "--hidden", "10", "--checkpoint", dir.Path);
        Assert.True(code == 0, error);
        string checkpoint = dir.File(CheckpointFile.FileName);
        (code, _, error) = Run("train", "--resume", checkpoint, "--iters", "40", "--batch", "50");
        Assert.Equal(ExitCodes.UsageError, code);
        Assert.Equal("simd: --batch 50 differs from the checkpoint's 100: a resumed run keeps its checkpoint's options (only --iters or --epochs, --threads, --isa and the output files may change)", error.TrimEnd());
        (code, _, error) = Run("train", "--resume", checkpoint, "--precision", "double", "--iters", "40");
        Assert.Equal(ExitCodes.UsageError, code);
        Assert.StartsWith("simd: --precision double differs from the checkpoint's single", error, StringComparison.Ordinal);
        (code, _, error) = Run("train", "--resume", checkpoint);
        Assert.Equal(ExitCodes.UsageError, code);
        Assert.Contains("the run is at iteration 20 of 20: nothing left; give --iters above 20", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Metrics_hold_every_step_and_every_row_in_csv_and_json_lines()
    {
        using var dir = new TempDirectory();
        foreach (string name in (string[])["run.csv", "run.jsonl"])
        {
            (int code, string output, string error) = Run("train", "--iters", "650", "--hidden", "12", "--metrics", dir.File(name));
            Assert.True(code == 0, error);
            string[] lines = File.ReadAllLines(dir.File(name));
            bool json = name.EndsWith("jsonl", StringComparison.Ordinal);
            Assert.Equal(json ? 0 : 1, lines.Count(l => l == "kind,iteration,epoch,loss,train_acc,test_acc"));
            string[] steps = [.. lines.Where(l => l.Contains("step", StringComparison.Ordinal))];
            Assert.Equal(650, steps.Length);
            Assert.Equal(3, lines.Count(l => l.Contains("eval", StringComparison.Ordinal))); // 0, 600, end 649
            Assert.Equal(3, Rows(output).Count);
        }
    }

    [Theory]
    [InlineData("--save", "missing/m.npz", "the directory")]
    [InlineData("--save", ".", "is a directory; give a file name")]
    [InlineData("--metrics", "run.txt", "the name must end in .csv or .jsonl")]
    [InlineData("--checkpoint", "file", "is a file; give a directory")]
    public void Output_paths_that_cannot_be_written_are_refused_before_training(string option, string path, string expected)
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("file"), "");
        (int code, string output, string error) = Run("train", option, path == "." ? dir.Path : dir.File(path));
        Assert.Equal(ExitCodes.UsageError, code);
        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.DoesNotContain("data:", output, StringComparison.Ordinal); // refused before the data was loaded
    }

    [Fact]
    public void Eval_refuses_a_bad_model_file_with_one_line_and_exit_code_2()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("bad.npz"), "not a zip");
        (int code, _, string error) = Run("eval", "--model", dir.File("bad.npz"));
        Assert.Equal(ExitCodes.DataError, code);
        Assert.StartsWith($"simd: {dir.File("bad.npz")}: not a valid .npz (zip) file", error, StringComparison.Ordinal);
        Assert.Single(error.TrimEnd().Split('\n'));

        ModelFileTests.WriteNpz(dir.File("small.npz"),
            ("W1", ModelFileTests.Npy(ModelFileTests.Header("<f4", "(4, 2)"), new byte[32])), ("b1", ModelFileTests.Npy(ModelFileTests.Header("<f4", "(2,)"), new byte[8])));
        (code, _, error) = Run("eval", "--model", dir.File("small.npz"));
        Assert.Equal(ExitCodes.DataError, code);
        Assert.Equal($"simd: {dir.File("small.npz")}: a 4-2 network; MNIST needs 784 inputs and 10 outputs", error.TrimEnd());
    }

    /// <summary>A model as the book saves it (W and b only, float64): the activation comes from --activation, else sigmoid.</summary>
    [Fact]
    public void Eval_takes_the_activation_of_a_file_without_one_from_the_option()
    {
        using var dir = new TempDirectory();
        var rng = new Random(3);
        byte[] Values(int count) => [.. Enumerable.Range(0, count).SelectMany(_ => BitConverter.GetBytes((rng.NextDouble() - 0.5) * 0.1))];
        ModelFileTests.WriteNpz(dir.File("book.npz"),
            ("W1", ModelFileTests.Npy(ModelFileTests.Header("<f8", "(784, 8)"), Values(784 * 8))),
            ("b1", ModelFileTests.Npy(ModelFileTests.Header("<f8", "(8,)"), Values(8))),
            ("W2", ModelFileTests.Npy(ModelFileTests.Header("<f8", "(8, 10)"), Values(80))),
            ("b2", ModelFileTests.Npy(ModelFileTests.Header("<f8", "(10,)"), Values(10))));
        (int code, string output, string error) = Run("eval", "--model", dir.File("book.npz"));
        Assert.True(code == 0, error);
        Assert.Contains("784-8-10 sigmoid (the default: the file stores none), double precision", output, StringComparison.Ordinal);
        (code, output, error) = Run("eval", "--model", dir.File("book.npz"), "--activation", "relu");
        Assert.True(code == 0, error);
        Assert.Contains("784-8-10 relu (from --activation), double precision", output, StringComparison.Ordinal);
    }

    /// <summary>Ctrl+C during training: the step finishes, a checkpoint is written and named, exit 130; it resumes.</summary>
    [Fact]
    public async Task Ctrl_c_writes_a_checkpoint_that_resumes()
    {
        using var dir = new TempDirectory();
        var start = new ProcessStartInfo(CliEdgeCaseTests.JitSimd) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string argument in (string[])["train", "--iters", "1000000", "--hidden", "16", "--checkpoint", dir.Path, "--data", MnistFixture.Directory])
        {
            start.ArgumentList.Add(argument);
        }

        using Process process = Process.Start(start)!;
        Task<string> error = process.StandardError.ReadToEndAsync();
        Assert.NotNull(process.StandardOutput.ReadLine());
        await Task.Delay(500);
        using (Process kill = Process.Start("kill", ["-INT", process.Id.ToString(CultureInfo.InvariantCulture)]))
        {
            kill.WaitForExit();
        }

        await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(ExitCodes.Interrupted, process.ExitCode);
        string checkpoint = dir.File(CheckpointFile.FileName);
        string last = (await error).TrimEnd().Split('\n')[^1];
        Assert.Matches($@"^simd: interrupted at iteration (\d+); checkpoint written to {System.Text.RegularExpressions.Regex.Escape(checkpoint)} \(continue with: simd train --resume ", last);
        int iteration = int.Parse(System.Text.RegularExpressions.Regex.Match(last, @"iteration (\d+)").Groups[1].Value, CultureInfo.InvariantCulture);
        Assert.Equal(iteration, CheckpointFile.Read(checkpoint).Progress.Iteration);
        (int code, string output, string resumeError) = Run("train", "--resume", checkpoint, "--iters", (iteration + 5).ToString(CultureInfo.InvariantCulture));
        Assert.True(code == 0, resumeError);
        Assert.Contains($"final (iteration {iteration + 4})", output, StringComparison.Ordinal);
    }

    /// <summary>The table's rows without the timing column: (iteration, loss, train, test).</summary>
    private static List<(int Iteration, string Numbers)> Rows(string output) =>
    [
        .. output.Split('\n')
            .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(f => f.Length == 6 && (f[0] == "end" || int.TryParse(f[0], out _)) && int.TryParse(f[1], out _))
            .Select(f => (int.Parse(f[1], CultureInfo.InvariantCulture), string.Join(' ', f[0], f[3], f[4], f[5]))),
    ];
}
