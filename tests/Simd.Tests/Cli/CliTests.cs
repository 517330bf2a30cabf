using Simd.Cli;
using Simd.Tests.Support;

namespace Simd.Tests.Cli;

/// <summary>Every command run in-process through the real parser, with output captured.</summary>
public class CliTests
{
    private static (int Code, string Output, string Error) Run(params string[] args) => CliRunner.Run(args);

    [Fact]
    public void Info_prints_cpu_isa_threads_and_runtime()
    {
        (int code, string output, _) = Run("info");
        Assert.Equal(ExitCodes.Success, code);
        Assert.Matches(@"(?m)^cpu:\s+\S", output);
        Assert.Matches(@"(?m)^isa paths:\s+.*scalar \(supported\)$", output);
        Assert.Matches(@"(?m)^isa chosen:\s+(scalar|vector128|vector256|vector512) \(the widest supported\)$", output);
        Assert.Matches($@"(?m)^threads:\s+{Environment.ProcessorCount} workers; {Environment.ProcessorCount} logical processors$", output);
        // The test host is the JIT (the native binary's answer is tested in NativeAotTests).
        Assert.Matches(@"(?m)^runtime:\s+\.NET 10.*, JIT \(code compiled for this CPU as it runs\)", output);
    }

    [Fact]
    public void Info_honours_a_forced_isa()
    {
        (int code, string output, _) = Run("info", "--isa", "scalar");
        Assert.Equal(ExitCodes.Success, code);
        Assert.Contains("isa chosen:   scalar (forced by --isa)", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Train_prints_the_table_and_the_final_accuracies()
    {
        (int code, string output, string error) = Run("train", "--data", MnistFixture.Directory, "--iters", "601", "--activation", "relu");
        Assert.Equal(ExitCodes.Success, code);
        Assert.Equal("", error);
        string[] lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("data: --data ", lines[0], StringComparison.Ordinal);
        Assert.Contains("(60000 train, 10000 test images)", lines[0], StringComparison.Ordinal);
        Assert.StartsWith("train: 784-50-10 relu, init 0.01, backprop gradient, single precision, 601 iterations of batch 100, SGD lr 0.1, seed 42", lines[1], StringComparison.Ordinal);
        Assert.Equal("epoch   iter   grad time (s)     loss   train acc   test acc", lines[2]);
        Assert.Matches(@"^    0      0 +\d+\.\d{6} +2\.\d{4} +0\.\d{4} +0\.\d{4}$", lines[3]);
        Assert.Matches(@"^    1    600 +\d+\.\d{6} +[01]\.\d{4} +0\.(8|9)\d{3} +0\.(8|9)\d{3}$", lines[4]);
        Assert.Matches(@"^total \d+\.\d{3} s: gradients \d+\.\d{3} s, evaluation \d+\.\d{3} s \(2 passes over 70000 images\)", lines[5]);
        Assert.Matches(@"^final \(iteration 600\): train accuracy 0\.(8|9)\d{3}, test accuracy 0\.(8|9)\d{3}$", lines[6]);
    }

    [Fact]
    public void Gradcheck_passes_in_double_and_prints_every_parameter()
    {
        (int code, string output, _) = Run("gradcheck", "--data", MnistFixture.Directory, "--hidden", "8");
        Assert.Equal(ExitCodes.Success, code);
        Assert.Contains("gradcheck: first 3 training images, 784-8-10 sigmoid, init 0.01, double precision", output, StringComparison.Ordinal);
        foreach (string row in (string[])["W1     [784, 8]", "b1     [8]", "W2     [8, 10]", "b2     [10]"])
        {
            Assert.Matches($@"(?m)^{System.Text.RegularExpressions.Regex.Escape(row)} +\d\.\d\de-\d\d +\d\.\d\de-\d\d +\d\.\d\de-(0[89]|1\d)", output);
        }

        // The numerical side differentiates backprop's own loss with h = 1e-5: about 1e-9 is left (the book's δ used to leave 1e-6).
        Assert.Matches(@"(?m)^max relative error \d\.\d\de-(0[89]|1\d) <= tolerance 1\.00e-07: PASS$", output);
    }

    /// <summary>The book's gradient check on MultiLayerNet: three hidden layers, He, weight decay, double, the default 1e-6.</summary>
    [Fact]
    public void Gradcheck_passes_on_a_deep_network_with_weight_decay()
    {
        (int code, string output, _) = Run("gradcheck", "--data", MnistFixture.Directory, "--hidden", "12,9,7", "--activation", "relu", "--init", "he", "--weight-decay", "0.1");
        Assert.Equal(ExitCodes.Success, code);
        Assert.Contains("gradcheck: first 3 training images, 784-12-9-7-10 relu, init he, weight decay 0.1, double precision", output, StringComparison.Ordinal);
        foreach (string row in (string[])["W1     [784, 12]", "b1     [12]", "W2     [12, 9]", "b2     [9]", "W3     [9, 7]", "b3     [7]", "W4     [7, 10]", "b4     [10]"])
        {
            Assert.Contains(row, output, StringComparison.Ordinal);
        }

        Assert.Matches(@"(?m)^max relative error \d\.\d\de-(0[89]|1\d) <= tolerance 1\.00e-07: PASS$", output);
    }

    [Fact]
    public void Train_takes_the_books_deep_network_and_optimizers()
    {
        (int code, string output, string error) = Run("train", "--data", MnistFixture.Directory, "--iters", "201", "--batch", "128",
            "--hidden", "100,100,100,100", "--activation", "relu", "--init", "he", "--optimizer", "adam");
        Assert.True(code == ExitCodes.Success, error);
        Assert.Contains("train: 784-100-100-100-100-10 relu, init he, backprop gradient, single precision, 201 iterations of batch 128, Adam lr 0.001, seed 42", output, StringComparison.Ordinal);
        Assert.Matches(@"(?m)^final \(iteration 200\): train accuracy 0\.(8|9)\d{3}, test accuracy 0\.(8|9)\d{3}$", output);

        (code, output, error) = Run("train", "--data", MnistFixture.Directory, "--iters", "2", "--optimizer", "momentum", "--momentum", "0.5");
        Assert.True(code == ExitCodes.Success, error);
        Assert.Contains("Momentum lr 0.01 momentum 0.5, seed", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Gradcheck_fails_with_exit_code_1_above_the_tolerance()
    {
        (int code, string output, _) = Run("gradcheck", "--data", MnistFixture.Directory, "--hidden", "4", "--tolerance", "1e-9");
        Assert.Equal(ExitCodes.GradientCheckFailed, code);
        Assert.Matches(@"(?m)^max relative error .* > tolerance 1\.00e-09: FAIL$", output);
    }

    [Fact]
    public void Compare_prints_both_times_and_the_ratio()
    {
        (int code, string output, _) = Run("compare", "--data", MnistFixture.Directory, "--batch", "5", "--hidden", "4", "--precision", "double");
        Assert.Equal(ExitCodes.Success, code);
        Assert.Contains("compare: one gradient of the 784-4-10 sigmoid, init 0.01 network on a batch of 5 training images, double precision", output, StringComparison.Ordinal);
        Assert.Matches(@"(?m)^backprop gradient: +\d+(\.\d+)? (ns|µs|ms|s) +\(median of 1001 runs; 0\.\d\d MFLOP", output);
        Assert.Matches(@"(?m)^numerical gradient: +\d+(\.\d+)? (µs|ms|s) +\(6,380 forward passes;", output);
        Assert.Matches(@"(?m)^numerical / backprop: [\d,]+x", output);
        Assert.Matches(@"(?m)^the two gradients agree to max \|diff\| \d\.\d\de-(0[6-9]|1\d)$", output);
    }

    [Fact]
    public void Data_verify_and_locate_report_the_real_files()
    {
        (int code, string output, _) = Run("data", "verify", "--data", MnistFixture.Directory);
        Assert.Equal(ExitCodes.Success, code);
        Assert.Matches(@"(?m)^  ok    train-images-idx3-ubyte(\.gz)? +60000 x 28 x 28, SHA-256 ba891046e6505d7a\.\.\.$", output);
        Assert.Contains("all four files verified", output, StringComparison.Ordinal);

        (code, output, _) = Run("data", "locate", "--data", MnistFixture.Directory);
        Assert.Equal(ExitCodes.Success, code);
        Assert.Contains("(--data ", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Data_verify_names_a_bad_file_and_exits_2()
    {
        using var dir = new TempDirectory();
        IdxBuilder.WriteSmallSet(dir.Path, gzipped: true);
        (int code, string output, string error) = Run("data", "verify", "--data", dir.Path);
        Assert.Equal(ExitCodes.DataError, code);
        Assert.Contains("BAD   train-images-idx3-ubyte.gz", output, StringComparison.Ordinal);
        Assert.Contains("4 of 4 files bad or missing", output, StringComparison.Ordinal);
        Assert.Matches(@"^simd: .*train-images-idx3-ubyte\.gz: SHA-256 mismatch: expected ba891046", error);
    }

    [Fact]
    public void Missing_or_bad_data_is_one_line_and_exit_code_2()
    {
        using var dir = new TempDirectory();
        (int code, string output, string error) = Run("train", "--data", dir.File("absent"));
        Assert.Equal(ExitCodes.DataError, code);
        Assert.Equal("", output);
        Assert.Equal($"simd: {dir.File("absent")}: directory not found (from --data {dir.File("absent")})", error.TrimEnd());

        IdxBuilder.WriteSmallSet(dir.Path, gzipped: false);
        File.WriteAllBytes(dir.File("train-labels-idx1-ubyte"), [0, 0, 8, 3]);
        (code, _, error) = Run("gradcheck", "--data", dir.Path);
        Assert.Equal(ExitCodes.DataError, code);
        Assert.Equal($"simd: {dir.File("train-labels-idx1-ubyte")}: wrong magic number 0x00000803 (expected 0x00000801 for IDX unsigned-byte labels)", error.TrimEnd());
        Assert.DoesNotContain(" at ", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--batch must be a positive integer (got 0)", "train", "--batch", "0")]
    [InlineData("--batch must be a positive integer (got -5)", "compare", "--batch", "-5")]
    [InlineData("--iters must be a positive integer (got 0)", "train", "--iters", "0")]
    [InlineData("--lr must be a positive finite number (got NaN)", "train", "--lr", "nan")]
    [InlineData("--lr must be a positive finite number (got Infinity)", "train", "--lr", "Infinity")]
    [InlineData("--lr must be a positive finite number (got -0.1)", "train", "--lr", "-0.1")]
    [InlineData("--activation must be one of sigmoid, relu (got 'tanh')", "train", "--activation", "tanh")]
    [InlineData("--gradient must be one of backprop, numerical (got 'magic')", "train", "--gradient", "magic")]
    [InlineData("--precision must be one of single, double (got 'half')", "gradcheck", "--precision", "half")]
    [InlineData("--isa: unknown ISA path 'avx1024'", "info", "--isa", "avx1024")]
    [InlineData("--tolerance must be a finite number, 0 or more (got -1)", "gradcheck", "--tolerance", "-1")]
    [InlineData("--tolerance must be a number (got 'abc')", "gradcheck", "--tolerance", "abc")]
    [InlineData("--hidden must be positive integers separated by commas, like 50 or 100,100,100 (got '0')", "gradcheck", "--hidden", "0")]
    [InlineData("--hidden must be positive integers separated by commas, like 50 or 100,100,100 (got '100,,100')", "train", "--hidden", "100,,100")]
    [InlineData("--init must be a positive number, xavier or he (got 'glorot')", "train", "--init", "glorot")]
    [InlineData("--init must be a positive number, xavier or he (got '-0.1')", "gradcheck", "--init", "-0.1")]
    [InlineData("--weight-decay must be a finite number, 0 or more (got -1)", "train", "--weight-decay", "-1")]
    [InlineData("--momentum must be 0 or more and below 1 (got 1)", "train", "--momentum", "1")]
    [InlineData("--optimizer must be one of sgd, momentum, nesterov, adagrad, rmsprop, adam (got 'lbfgs')", "train", "--optimizer", "lbfgs")]
    [InlineData("Unrecognized command or argument '--bogus'", "train", "--bogus")]
    [InlineData("--batch must be a positive integer (got 'abc')", "train", "--batch", "abc")]
    [InlineData("--lr must be a positive finite number (got 'fast')", "train", "--lr", "fast")]
    [InlineData("--seed must be an integer from 0 to 18446744073709551615 (got '-1')", "train", "--seed", "-1")]
    [InlineData("--threads must be an integer from 1 to 1024 (got 'all')", "compare", "--threads", "all")]
    [InlineData("--threads must be between 1 and 1024 (got 1025)", "train", "--threads", "1025")]
    [InlineData("--data must name a directory (got an empty value)", "train", "--data", "")]
    [InlineData("--data must name a directory (got an empty value)", "data", "fetch", "--data", " ")]
    [InlineData("--lr 1E+39 is too large for single precision (at most 3.4E+38); use a smaller value or --precision double", "train", "--lr", "1e39")]
    [InlineData("--lr 1E-50 rounds to 0 in single precision (the smallest is 1.4E-45)", "train", "--lr", "1e-50")]
    [InlineData("a 784-50-10 network with --batch 1000000 and --threads 2 needs", "train", "--batch", "1000000", "--threads", "2")]
    [InlineData("a 784-50-10 network with --batch 1000000 and --threads 2 needs", "compare", "--batch", "1000000", "--threads", "2")]
    [InlineData("a 784-50-10 network with --batch 3000 and --threads 1024 needs", "train", "--threads", "1024", "--batch", "3000")]
    [InlineData("--images 70000 is more than the 60000 training images", "gradcheck", "--images", "70000")]
    [InlineData("a 784-50-10 network with --images 1000000 and --threads 2 needs", "gradcheck", "--images", "1000000", "--threads", "2")]
    [InlineData("--hidden 1000000 is too large: W1 would hold 784 x 1000000 = 784,000,000 weights, at most 536,870,911", "train", "--hidden", "1000000")]
    [InlineData("--hidden 100,6000000 is too large: W2 would hold 100 x 6000000 = 600,000,000 weights", "gradcheck", "--hidden", "100,6000000")]
    [InlineData("a 784-600000-10 network with --batch 100 and --threads 2 needs", "train", "--hidden", "600000", "--threads", "2")]
    public void Bad_options_fail_with_one_line_and_exit_code_64(string message, params string[] args)
    {
        (int code, string output, string error) = Run(args);
        Assert.Equal(ExitCodes.UsageError, code);
        Assert.Equal("", output);
        string line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("simd: ", line, StringComparison.Ordinal);
        Assert.Contains(message, line, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("train")]
    [InlineData("gradcheck")]
    [InlineData("compare")]
    [InlineData("info")]
    [InlineData("data")]
    [InlineData("data", "fetch")]
    [InlineData("data", "verify")]
    [InlineData("data", "locate")]
    public void Every_command_has_help(params string[] command)
    {
        (int code, string output, _) = Run([.. command, "--help"]);
        Assert.Equal(ExitCodes.Success, code);
        Assert.Contains("Description:", output, StringComparison.Ordinal);
        Assert.Contains("Usage:", output, StringComparison.Ordinal);
        foreach (string line in output.Split('\n').Where(l => l.TrimStart().StartsWith("--", StringComparison.Ordinal)))
        {
            // Every option line carries a description after its name.
            Assert.Matches(@"^\s+--[\w-]+( <[^>]+>)?(, [^ ]+)?\s{2,}\S", line);
        }
    }

    [Fact]
    public void No_command_shows_the_help()
    {
        (int code, string output, _) = Run();
        Assert.Equal(ExitCodes.Success, code);
        Assert.Contains("Commands:", output, StringComparison.Ordinal);
        Assert.Contains("gradcheck", output, StringComparison.Ordinal);
    }
}
