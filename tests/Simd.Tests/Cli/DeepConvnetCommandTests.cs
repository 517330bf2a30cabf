using Simd.Cli;
using Simd.Tests.Support;

namespace Simd.Tests.Cli;

/// <summary>ch. 8's DeepConvNet on the commands (issue 18): --net deep-convnet, the book's pickle, eval --set and its timing lines.</summary>
public class DeepConvnetCommandTests
{
    private static (int Code, string Output, string Error) Run(params string[] args) => CliRunner.Run([.. args, "--data", MnistFixture.Directory]);

    private static (int Code, string Output, string Error) RunSmall(params string[] args) => CliRunner.Run([.. args, "--data", SmallMnist.Directory]);

    [Simd.Tests.Training.BookFileFact("ch08/deep_convnet_params.pkl")]
    public void The_books_ch08_pickle_evaluates_to_what_its_numpy_code_prints_on_the_test_set_alone()
    {
        (int code, string output, string error) = Run("eval", "--model", Simd.Tests.Training.BookPickleTests.BookFile("ch08/deep_convnet_params.pkl"), "--net", "deep-convnet", "--set", "test");
        Assert.True(code == 0, error);
        Assert.Matches(@"test\s+10000\s+\S+\s+0\.9797", output);
        Assert.DoesNotContain("train ", output, StringComparison.Ordinal);
        Assert.Contains("confusion matrix, test set", output, StringComparison.Ordinal);
        Assert.Matches(@"^evaluated 10000 images in \d+\.\d\d s \(\d+ images/s\)$", error.Trim());

        // The same weights as numpy's np.savez writes them (the book's params dict): the same accuracy.
        using var dir = new TempDirectory();
        Simd.Training.Models.Npz.Write(dir.File("book.npz"), Simd.Training.Models.BookPickle.Read(Simd.Tests.Training.BookPickleTests.BookFile("ch08/deep_convnet_params.pkl")));
        (code, output, error) = Run("eval", "--model", dir.File("book.npz"), "--net", "deep-convnet", "--set", "test");
        Assert.True(code == 0, error);
        Assert.Matches(@"test\s+10000\s+\S+\s+0\.9797", output);
    }

    /// <summary>ch08/half_float_network.py: the book's weights lose nothing stored in half (within 0.001 of float32).</summary>
    [Simd.Tests.Training.BookFileFact("ch08/deep_convnet_params.pkl")]
    public void The_books_ch08_weights_stored_in_half_keep_their_accuracy()
    {
        string model = Simd.Tests.Training.BookPickleTests.BookFile("ch08/deep_convnet_params.pkl");
        (int code, string single, string error) = Run("eval", "--model", model, "--net", "deep-convnet", "--set", "test", "--precision", "single");
        Assert.True(code == 0, error);
        (code, string half, error) = Run("eval", "--model", model, "--net", "deep-convnet", "--set", "test", "--precision", "half");
        Assert.True(code == 0, error);
        Assert.Contains("half precision (binary16 storage, float32 arithmetic)", half, StringComparison.Ordinal);
        Assert.Contains("half precision: 123,552 parameters stored in 247,104 bytes (float32: 494,208)", error, StringComparison.Ordinal);
        Assert.InRange(Math.Abs(TestAccuracy(half) - TestAccuracy(single)), 0, 0.001);
        Assert.InRange(TestAccuracy(half), 0.9787, 0.9807); // the book's numpy prints 0.9797 in float64
    }

    /// <summary>Half storage on every kernel path (the first 500 test images): at most one image decided otherwise than in float32.</summary>
    [Simd.Tests.Training.BookFileFact("ch08/deep_convnet_params.pkl")]
    public void Half_storage_agrees_with_float32_on_every_path()
    {
        string model = Simd.Tests.Training.BookPickleTests.BookFile("ch08/deep_convnet_params.pkl");
        foreach (Simd.Kernels.IsaPath path in Simd.Kernels.Isa.Supported)
        {
            string isa = path.ToString().ToLowerInvariant();
            (int code, string single, string error) = RunSmall("eval", "--model", model, "--net", "deep-convnet", "--set", "test", "--precision", "single", "--isa", isa);
            Assert.True(code == 0, error);
            (code, string half, error) = RunSmall("eval", "--model", model, "--net", "deep-convnet", "--set", "test", "--precision", "half", "--isa", isa);
            Assert.True(code == 0, error);
            Assert.InRange(Math.Abs(TestAccuracy(half) - TestAccuracy(single)), 0, 0.0021);
        }
    }

    private static double TestAccuracy(string output) =>
        double.Parse(System.Text.RegularExpressions.Regex.Match(output, @"test\s+\d+\s+\S+\s+(\S+)").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public void Eval_measures_the_sets_asked_for_and_times_each()
    {
        using var dir = new TempDirectory();
        Assert.Equal(0, RunSmall("train", "--layers", "conv2x3p1-relu-pool2-affine10-dropout0.5", "--iters", "5", "--batch", "10", "--save", dir.File("m.npz")).Code);

        (int code, string output, string error) = RunSmall("eval", "--model", dir.File("m.npz"), "--set", "train");
        Assert.True(code == 0, error);
        Assert.Matches(@"train\s+2000\s", output);
        Assert.DoesNotContain("test ", output, StringComparison.Ordinal);
        Assert.Contains("confusion matrix, train set", output, StringComparison.Ordinal);
        Assert.Matches(@"^evaluated 2000 images in \d+\.\d\d s \(\d+ images/s\)$", error.Trim());

        (code, output, error) = RunSmall("eval", "--model", dir.File("m.npz"));
        Assert.True(code == 0, error);
        Assert.Matches(@"train\s+2000\s", output);
        Assert.Matches(@"test\s+500\s", output);
        Assert.Equal(["evaluated 2000 images", "evaluated 500 images"], error.Trim().Split('\n').Select(l => string.Join(' ', l.Split(' ')[..3])));

        (code, _, error) = RunSmall("eval", "--model", dir.File("m.npz"), "--set", "validation");
        Assert.Equal(ExitCodes.UsageError, code);
        Assert.StartsWith("simd: --set must be one of both, test, train (got 'validation')", Assert.Single(error.Trim().Split('\n')), StringComparison.Ordinal);
    }

    [Fact]
    public void Deep_convnet_trains_with_the_books_settings_and_he_weights_unless_told()
    {
        (int code, string output, string error) = RunSmall("train", "--net", "deep-convnet", "--iters", "3", "--eval-images", "20");
        Assert.True(code == 0, error);
        Assert.Contains("train: conv16x3p1-relu-conv16x3p1-relu-pool2-conv32x3p1-relu-conv32x3p2-relu-pool2-conv64x3p1-relu-conv64x3p1-relu-pool2-" +
            "affine50-relu-dropout0.5-affine10-dropout0.5 on 1x28x28, init he,", output, StringComparison.Ordinal);
        Assert.Contains("Adam lr 0.001", output, StringComparison.Ordinal);

        (code, output, error) = RunSmall("train", "--net", "deep-convnet", "--iters", "1", "--eval-images", "20", "--init", "0.01");
        Assert.True(code == 0, error);
        Assert.Contains("on 1x28x28, init 0.01,", output, StringComparison.Ordinal);
    }
}
