using System.Diagnostics;
using Simd.Cli;
using Simd.Mnist;
using Simd.Tests.Support;

namespace Simd.Tests.Cli;

/// <summary>
/// What a user meets off the happy path: one line and a documented exit code for every bad input, a
/// diverging run, an interrupted run, a closed output, data directories that are not what they seem.
/// </summary>
public class CliEdgeCaseTests
{
    private static (int Code, string Output, string Error) Run(params string[] args) => CliRunner.Run(args);

    /// <summary>The JIT-built `simd` (the apphost the test project copies beside itself).</summary>
    internal static string JitSimd => Path.Combine(AppContext.BaseDirectory, OperatingSystem.IsWindows() ? "simd.exe" : "simd");

    [Fact]
    public void A_diverging_run_stops_with_one_line_and_exit_code_3()
    {
        (int code, string output, string error) = Run("train", "--data", MnistFixture.Directory, "--lr", "1e30", "--activation", "relu", "--iters", "1200");
        Assert.Equal(ExitCodes.TrainingDiverged, code);
        Assert.Equal("simd: training diverged at iteration 1: the loss is NaN; try a lower --lr", error.TrimEnd());
        Assert.DoesNotContain("NaN", output, StringComparison.Ordinal); // stopped before any row of NaNs
    }

    [Fact]
    public void A_run_shorter_than_an_epoch_is_evaluated_after_its_last_step()
    {
        (int code, string output, _) = Run("train", "--data", MnistFixture.Directory, "--iters", "301");
        Assert.Equal(ExitCodes.Success, code);
        string[] lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Matches(@"^    0      0 ", lines[3]);
        Assert.Matches(@"^  end    300 +\d+\.\d{6} +\d\.\d{4} +0\.[5-9]\d{3} +0\.[5-9]\d{3}$", lines[4]);
        Assert.Matches(@"(?m)^final \(iteration 300\): train accuracy 0\.[5-9]\d{3}, test accuracy 0\.[5-9]\d{3}$", output);
    }

    [Fact]
    public void A_closed_standard_output_is_one_line_on_stderr_and_exit_code_74()
    {
        var error = new StringWriter();
        int code = SimdCli.Run(["info"], new FailingWriter(), error);
        Assert.Equal(ExitCodes.OutputError, code);
        Assert.Equal("simd: cannot write to standard output (Bad file descriptor)", error.ToString().TrimEnd());
    }

    /// <summary>The real thing: `simd info >&amp;-`, through a shell.</summary>
    [Fact]
    public void Info_with_stdout_closed_exits_74_without_a_stack_trace()
    {
        (int code, _, string error) = NativeBinary.Run("/bin/sh", "-c", "exec \"$0\" info >&-", JitSimd);
        Assert.Equal(ExitCodes.OutputError, code);
        Assert.StartsWith("simd: cannot write to standard output", error, StringComparison.Ordinal);
        Assert.DoesNotContain(" at ", error, StringComparison.Ordinal);
    }

    /// <summary>
    /// PublishAot writes IsDynamicCodeSupported=false into the JIT build's runtimeconfig too, which once
    /// made the JIT build call itself Native AOT. Both ways of running the JIT build must say JIT.
    /// </summary>
    [Fact]
    public void The_jit_build_says_jit_out_of_process()
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "simd.dll");
        foreach ((string executable, string[] arguments) in (ReadOnlySpan<(string, string[])>)[(JitSimd, ["info"]), ("dotnet", [dll, "info"])])
        {
            (int code, string output, string error) = NativeBinary.Run(executable, arguments);
            Assert.True(code == 0, error);
            Assert.Matches(@"(?m)^runtime:\s+\.NET 10[^,]*, JIT \(code compiled for this CPU as it runs\)", output);
            Assert.DoesNotContain("Native AOT", output, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("train", "--iters", "100000")]
    [InlineData("compare")]
    [InlineData("gradcheck", "--hidden", "200")]
    [InlineData("train", "--gradient", "numerical", "--iters", "3")]
    public async Task Ctrl_c_stops_the_command_with_one_line_and_exit_code_130(params string[] command)
    {
        var start = new ProcessStartInfo(JitSimd) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string argument in (string[])[.. command, "--data", MnistFixture.Directory])
        {
            start.ArgumentList.Add(argument);
        }

        using Process process = Process.Start(start)!;
        Task<string> error = process.StandardError.ReadToEndAsync();
        // The first line is written once the data is loaded and the work begins.
        string? first = process.StandardOutput.ReadLine();
        Assert.NotNull(first);
        await Task.Delay(300);
        using (Process kill = Process.Start("kill", ["-INT", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            kill.WaitForExit();
        }

        await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(20)); // TimeoutException: still running after Ctrl+C
        Assert.Equal(ExitCodes.Interrupted, process.ExitCode);
        // train also says where it stopped and that no checkpoint was asked for; the others say just this.
        Assert.StartsWith("simd: interrupted", (await error).TrimEnd().Split('\n')[^1], StringComparison.Ordinal);
    }

    [Fact]
    public void A_file_given_as_the_data_directory_is_named_as_a_file()
    {
        using var dir = new TempDirectory();
        File.WriteAllBytes(dir.File("notes.txt"), [1]);
        (int code, _, string error) = Run("train", "--data", dir.File("notes.txt"));
        Assert.Equal(ExitCodes.DataError, code);
        Assert.Equal($"simd: {dir.File("notes.txt")}: is a file, not a directory (from --data {dir.File("notes.txt")})", error.TrimEnd());
    }

    [Fact]
    public void A_directory_where_a_file_should_be_is_named_as_a_directory()
    {
        using var dir = new TempDirectory();
        IdxBuilder.WriteSmallSet(dir.Path, gzipped: false);
        File.Delete(dir.File("t10k-images-idx3-ubyte"));
        Directory.CreateDirectory(dir.File("t10k-images-idx3-ubyte"));
        (int code, _, string error) = Run("train", "--data", dir.Path, "--iters", "1");
        Assert.Equal(ExitCodes.DataError, code);
        Assert.Equal($"simd: {dir.File("t10k-images-idx3-ubyte")}: is a directory, not a file", error.TrimEnd());
    }

    [Fact]
    public void Locate_says_on_stderr_what_is_missing()
    {
        using var dir = new TempDirectory();
        IdxBuilder.WriteSmallSet(dir.Path, gzipped: true);
        File.Delete(dir.File("t10k-labels-idx1-ubyte.gz"));
        (int code, _, string error) = Run("data", "locate", "--data", dir.Path);
        Assert.Equal(ExitCodes.DataError, code);
        Assert.Equal($"simd: {dir.Path}: 1 of 4 MNIST files missing", error.TrimEnd());

        (code, _, error) = Run("data", "locate", "--data", dir.File("absent"));
        Assert.Equal(ExitCodes.DataError, code);
        Assert.Equal($"simd: {dir.File("absent")}: directory not found", error.TrimEnd());
    }

    [Fact]
    public void Verify_of_a_missing_directory_is_one_line()
    {
        using var dir = new TempDirectory();
        (int code, _, string error) = Run("data", "verify", "--data", dir.File("absent"));
        Assert.Equal(ExitCodes.DataError, code);
        Assert.Equal($"simd: {dir.File("absent")}: directory not found", error.TrimEnd());
    }

    /// <summary>A raw file beside a different .gz of the same name: verify checks both and says which is read; train says so too.</summary>
    [Fact]
    public void A_raw_file_shadowing_a_gz_is_checked_and_named()
    {
        using var dir = new TempDirectory();
        foreach (MnistFile file in MnistFiles.All)
        {
            string source = MnistLocator.FindFile(MnistFixture.Directory, file)!;
            File.Copy(source, dir.File(Path.GetFileName(source)));
        }

        string labels = MnistLocator.FindFile(dir.Path, MnistFiles.TestLabels)!;
        byte[] content = IdxReader.ReadContent(labels);
        File.WriteAllBytes(dir.File("t10k-labels-idx1-ubyte"), content);            // raw: good
        File.WriteAllBytes(dir.File("t10k-labels-idx1-ubyte.gz"), IdxBuilder.Gzip(content[..^1])); // gz: truncated

        (int code, string output, string error) = Run("data", "verify", "--data", dir.Path);
        Assert.Equal(ExitCodes.DataError, code);
        Assert.Matches(@"(?m)^  ok    t10k-labels-idx1-ubyte +10000, SHA-256 ff7bcfd416de3373\.\.\.  \(read\)$", output);
        Assert.Matches(@"(?m)^  BAD   t10k-labels-idx1-ubyte\.gz +.*\(not read: t10k-labels-idx1-ubyte is read first\)$", output);
        Assert.Contains("1 of 5 files bad or missing", output, StringComparison.Ordinal);
        Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));

        (code, _, error) = Run("train", "--data", dir.Path, "--iters", "1");
        Assert.Equal(ExitCodes.Success, code);
        Assert.Equal($"simd: note: read {dir.File("t10k-labels-idx1-ubyte")}; t10k-labels-idx1-ubyte.gz beside it is not read (check both with 'simd data verify')", error.TrimEnd());
    }

    [Fact]
    public void Swapped_train_and_test_files_are_warned_about()
    {
        using var dir = new TempDirectory();
        IdxBuilder.Write(dir.Path, "train-images-idx3-ubyte", IdxBuilder.Images(3), gzipped: false);
        IdxBuilder.Write(dir.Path, "train-labels-idx1-ubyte", IdxBuilder.Labels(3), gzipped: false);
        IdxBuilder.Write(dir.Path, "t10k-images-idx3-ubyte", IdxBuilder.Images(5), gzipped: false);
        IdxBuilder.Write(dir.Path, "t10k-labels-idx1-ubyte", IdxBuilder.Labels(5), gzipped: false);
        (int code, _, string error) = Run("train", "--data", dir.Path, "--iters", "2", "--batch", "2");
        Assert.Equal(ExitCodes.Success, code);
        Assert.Equal("simd: warning: the training set (3 images) is smaller than the test set (5): are the train and test files swapped?", error.TrimEnd());
    }

    /// <summary>The report's bomb: megabytes of gzipped zeros named train-images-idx3-ubyte.gz. Refused by its header.</summary>
    [Fact]
    public void A_gzip_bomb_in_the_data_is_one_line_and_exit_code_2()
    {
        using var dir = new TempDirectory();
        IdxBuilder.WriteSmallSet(dir.Path, gzipped: true);
        File.WriteAllBytes(dir.File("train-images-idx3-ubyte.gz"), IdxBuilder.Gzip(new byte[256 << 20]));
        string expected = $"simd: {dir.File("train-images-idx3-ubyte.gz")}: wrong magic number 0x00000000 (expected 0x00000803 for IDX unsigned-byte images)";

        (int code, _, string error) = Run("train", "--data", dir.Path);
        Assert.Equal(ExitCodes.DataError, code);
        Assert.Equal(expected, error.TrimEnd());

        (code, _, error) = Run("data", "verify", "--data", dir.Path);
        Assert.Equal(ExitCodes.DataError, code);
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    /// <summary>A cache whose path runs through a file: `simd data fetch` says which directory and why, in one line.</summary>
    [Fact]
    public async Task A_cache_that_cannot_be_created_is_one_line_and_exit_code_2()
    {
        using var dir = new TempDirectory();
        File.WriteAllBytes(dir.File("cache"), [1]);
        var start = new ProcessStartInfo(JitSimd, ["data", "fetch"]) { RedirectStandardOutput = true, RedirectStandardError = true };
        start.Environment["XDG_CACHE_HOME"] = dir.File("cache");
        start.Environment.Remove("MNIST_DIR");
        using Process process = Process.Start(start)!;
        Task<string> error = process.StandardError.ReadToEndAsync();
        await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.Equal(ExitCodes.DataError, process.ExitCode);
        Assert.Equal(
            $"simd: {Path.Combine(dir.File("cache"), "simd", "mnist")}: cannot create the directory: {dir.File("cache")} is a file, not a directory",
            (await error).TrimEnd());
    }

    [Fact]
    public void A_tolerance_of_zero_is_a_strict_check_that_fails_with_exit_code_1()
    {
        (int code, string output, _) = Run("gradcheck", "--data", MnistFixture.Directory, "--hidden", "3", "--tolerance", "0");
        Assert.Equal(ExitCodes.GradientCheckFailed, code);
        Assert.Matches(@"(?m)^max relative error .* > tolerance 0\.00e\+00: FAIL$", output);
    }

    /// <summary>Writes fail as a closed file descriptor does.</summary>
    private sealed class FailingWriter : TextWriter
    {
        public override System.Text.Encoding Encoding => System.Text.Encoding.UTF8;

        public override void Write(char value) => throw new UnauthorizedAccessException("Access to the path is denied.", new IOException("Bad file descriptor"));

        public override void Write(string? value) => Write('x');

        public override void WriteLine(string? value) => Write('x');
    }
}
