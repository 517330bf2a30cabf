using Simd.Cli;
using Simd.Tests.Support;
using Simd.Training.Models;

namespace Simd.Tests.Cli;

/// <summary>The commands on convolutional networks (issue 17): --net and --layers, the book's weights, files that rebuild their network, resume.</summary>
public class ConvnetCommandTests
{
    private static (int Code, string Output, string Error) Run(params string[] args) => CliRunner.Run([.. args, "--data", MnistFixture.Directory]);

    /// <summary>On the first 2,000 and 500 images (<see cref="SmallMnist"/>): runs that check files and resumes, not accuracy.</summary>
    private static (int Code, string Output, string Error) RunSmall(params string[] args) => CliRunner.Run([.. args, "--data", SmallMnist.Directory]);

    private static string BookFile(string relative) =>
        Path.GetFullPath(Path.Combine(RepositoryRoot.Path, "..", "shared", "reference", "deep-learning-from-scratch", relative));

    [Simd.Tests.Training.BookFileFact("ch07/params.pkl")]
    public void The_books_ch07_pickle_evaluates_to_the_books_accuracy()
    {
        (int code, string output, string error) = Run("eval", "--model", BookFile("ch07/params.pkl"), "--net", "simple-convnet");
        Assert.True(code == 0, error);
        Assert.Contains("1x28x28 conv30x5-relu-pool2-affine100-relu-affine10, double precision", output, StringComparison.Ordinal);
        Assert.Matches(@"test\s+10000\s+\S+\s+0\.9600", output);
    }

    [Simd.Tests.Training.BookFileFact("ch07/params.pkl")]
    public void The_books_weights_saved_by_numpys_savez_load_with_layers()
    {
        using var dir = new TempDirectory();
        Npz.Write(dir.File("book.npz"), BookPickle.Read(BookFile("ch07/params.pkl"))); // what np.savez("book.npz", **network.params) writes
        (int code, string output, string error) = Run("eval", "--model", dir.File("book.npz"), "--layers", "conv30x5-relu-pool2-affine100-relu-affine10");
        Assert.True(code == 0, error);
        Assert.Matches(@"test\s+10000\s+\S+\s+0\.9600", output);

        // Without the layers the shapes do not say the network: one line, exit 2, saying what to give.
        (code, _, error) = Run("eval", "--model", dir.File("book.npz"));
        Assert.Equal(ExitCodes.DataError, code);
        Assert.EndsWith("W1 has shape (30, 1, 5, 5), a convolution's, and the file does not say its layers: give them with --net or --layers", Assert.Single(error.TrimEnd().Split('\n')));

        // The wrong network for the weights: the array and both shapes named.
        (code, _, error) = Run("eval", "--model", dir.File("book.npz"), "--layers", "conv20x5-relu-pool2-affine100-relu-affine10");
        Assert.Equal(ExitCodes.DataError, code);
        Assert.Contains("W1 has shape (30, 1, 5, 5); conv20x5-relu-pool2-affine100-relu-affine10 needs (20, 1, 5, 5)", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("affine20-relu-affine10")]                        // fully connected, known from its shapes: no simd_layers
    [InlineData("affine20-relu-affine15-sigmoid-dropout0.2-affine10")] // two activations: the shorthand cannot say it
    public void A_network_given_as_layers_resumes_bitwise(string layers)
    {
        using var dir = new TempDirectory();
        string[] net = ["--layers", layers, "--batch", "20", "--seed", "7"];
        Assert.Equal(0, RunSmall(["train", .. net, "--iters", "40", "--save", dir.File("straight.npz")]).Code);
        Assert.Equal(0, RunSmall(["train", .. net, "--iters", "20", "--checkpoint", dir.File("ck")]).Code);
        (int code, _, string error) = RunSmall("train", "--resume", Path.Combine(dir.File("ck"), CheckpointFile.FileName), "--iters", "40", "--save", dir.File("resumed.npz"));
        Assert.True(code == 0, error);
        Assert.Equal(File.ReadAllBytes(dir.File("straight.npz")), File.ReadAllBytes(dir.File("resumed.npz")));
        Model model = ModelFile.Read(dir.File("straight.npz"));
        Assert.Equal(layers, model.StackWith(model.Activation ?? Simd.Training.Activation.Sigmoid).ToString());
        Assert.Equal(0, RunSmall("eval", "--model", dir.File("straight.npz")).Code);
    }

    [Fact]
    public void A_trained_convnet_file_rebuilds_its_network_and_a_resumed_run_is_bitwise_the_straight_one()
    {
        using var dir = new TempDirectory();
        string[] net = ["--layers", "conv4x5-relu-pool2-affine20-relu-affine10", "--batch", "20", "--seed", "7"];
        Assert.Equal(0, RunSmall(["train", .. net, "--iters", "40", "--save", dir.File("straight.npz")]).Code);
        Assert.Equal(0, RunSmall(["train", .. net, "--iters", "20", "--checkpoint", dir.File("ck")]).Code);
        (int code, _, string error) = RunSmall("train", "--resume", Path.Combine(dir.File("ck"), CheckpointFile.FileName), "--iters", "40", "--save", dir.File("resumed.npz"));
        Assert.True(code == 0, error);
        Assert.Equal(File.ReadAllBytes(dir.File("straight.npz")), File.ReadAllBytes(dir.File("resumed.npz")));

        // --epochs on a resumed run counts the checkpoint's batches (2,000 images at 20: 100 iterations an epoch).
        (code, string resumed, error) = RunSmall("train", "--resume", Path.Combine(dir.File("ck"), CheckpointFile.FileName), "--epochs", "1");
        Assert.True(code == 0, error);
        Assert.Contains("final (iteration 99)", resumed, StringComparison.Ordinal);

        Model model = ModelFile.Read(dir.File("straight.npz"));
        Assert.Equal("conv4x5-relu-pool2-affine20-relu-affine10", model.Stack?.ToString());
        Assert.Equal(["(4, 1, 5, 5)", "(4,)", "(576, 20)", "(20,)", "(20, 10)", "(10,)"], model.Parameters.Select(p => p.ShapeText));
        (code, string output, error) = RunSmall("eval", "--model", dir.File("straight.npz"));
        Assert.True(code == 0, error);
        Assert.Contains("conv4x5-relu-pool2-affine20-relu-affine10", output, StringComparison.Ordinal);
        (code, output, error) = RunSmall("predict", "--model", dir.File("straight.npz"), "--index", "0");
        Assert.True(code == 0, error);
        Assert.Contains("label 7", output, StringComparison.Ordinal);
    }

    /// <summary>An epoch is the loaded training set's size over the batch: 2,000 images at 100 make 20 iterations (it counted 60,000 whatever --data held).</summary>
    [Fact]
    public void Epochs_count_the_training_images_the_data_holds()
    {
        (int code, string output, string error) = RunSmall("train", "--hidden", "4", "--epochs", "2");
        Assert.True(code == 0, error);
        Assert.Contains("40 iterations of batch 100", output, StringComparison.Ordinal);
        Assert.Contains("final (iteration 39)", output, StringComparison.Ordinal);

        (code, _, error) = RunSmall("train", "--hidden", "4", "--epochs", "2000000000");
        Assert.Equal(ExitCodes.UsageError, code);
        Assert.Equal("simd: --epochs must be at least 1 and at most 3579139 at this batch (got 2000000000)", error.TrimEnd()); // checked before the data, at 60,000
    }

    [Fact]
    public void The_issues_gradient_check_of_a_convnet_passes()
    {
        (int code, string output, string error) = Run("gradcheck", "--layers", "conv10x3-relu-pool2-affine10-relu-affine10", "--images", "3");
        Assert.True(code == 0, output + error);
        Assert.Contains("W1     [10, 1, 3, 3]", output, StringComparison.Ordinal);
        Assert.Contains("PASS", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Compare_times_both_gradients_of_a_convnet()
    {
        (int code, string output, string error) = Run("compare", "--layers", "conv2x5-relu-pool2-affine10", "--batch", "2", "--precision", "double");
        Assert.True(code == 0, error);
        Assert.Contains("compare: one gradient of the conv2x5-relu-pool2-affine10 on 1x28x28, init 0.01 network on a batch of 2 training images", output, StringComparison.Ordinal);
        Assert.Contains("(5,884 forward passes;", output, StringComparison.Ordinal); // 2 x (2·25 + 2 + 288·10 + 10)
        Assert.Matches(@"(?m)^numerical / backprop: [\d,]+x", output);
    }

    [Theory]
    [InlineData("--layers conv30x50-relu-affine10", "--layers conv30x50-relu-affine10: 'conv30x50': a 50x50 window is larger than its 28x28 input")]
    [InlineData("--layers conv4x5-relu-pool5-affine10", "--layers conv4x5-relu-pool5-affine10: 'pool5': 5x5 windows at stride 5 do not tile its 24x24 input (rows or columns would be left out)")]
    [InlineData("--layers conv4x5-relu-affine100", "--layers conv4x5-relu-affine100: the last affine layer gives MNIST's 10 classes (end with affine10)")]
    [InlineData("--layers conv4x5-relu-maxpool2-affine10", "--layers conv4x5-relu-maxpool2-affine10: 'maxpool2' is not a layer (conv<N>x<K>[s<S>][p<P>], pool<K>[s<S>], affine<N>, relu, sigmoid, batchnorm, dropout<R>)")]
    [InlineData("--layers affine100-conv4x5-affine10", "--layers affine100-conv4x5-affine10: 'conv4x5': its input is a flat vector of 100; a convolution needs images (put it before the affine layers)")]
    [InlineData("--layers relu-affine10", "--layers relu-affine10: 'relu' cannot come first: a network starts with conv, pool or affine")]
    [InlineData("--layers conv4x5--affine10", "--layers conv4x5--affine10: an empty token (two '-' in a row, or one at an end)")]
    [InlineData("--layers affine100-dropout1.5-affine10", "--layers affine100-dropout1.5-affine10: 'dropout1.5': the dropout ratio must be above 0 and below 1")]
    [InlineData("--layers conv99999999999x3-affine10", "--layers conv99999999999x3-affine10: 'conv99999999999x3': the filters must be a positive whole number that fits in 32 bits")]
    [InlineData("--layers conv100000x28-affine100000-affine10", "--layers conv100000x28-affine100000-affine10: 'affine100000': its W would hold 100000 x 100000 = 10,000,000,000 weights, at most 536,870,911")]
    [InlineData("--net simple-convnet --hidden 100", "--hidden shapes a fully connected network; with --net or --layers write it in the layers (relu, batchnorm, dropout0.5, affine100)")]
    [InlineData("--net simple-convnet --layers affine10", "--net and --layers both name the network; give one")]
    [InlineData("--net lenet", "--net must be one of two-layer, simple-convnet, deep-convnet (got 'lenet') (see 'simd train --help')")]
    public void A_bad_network_is_one_usage_line(string options, string expected)
    {
        (int code, string output, string error) = Run(["train", .. options.Split(' ')]);
        Assert.Equal(ExitCodes.UsageError, code);
        Assert.Equal($"simd: {expected}", error.TrimEnd().Split('\n').Single());
        Assert.DoesNotContain("epoch", output, StringComparison.Ordinal);
    }

    /// <summary>The book's evaluate_sample_num_per_epoch: every epoch's row on the first N images of each set, the last on all.</summary>
    [Fact]
    public void Each_epoch_can_evaluate_a_sample_and_the_last_row_takes_every_image()
    {
        (int code, string output, string error) = Run("train", "--hidden", "4", "--iters", "602", "--eval-images", "37");
        Assert.True(code == 0, error);
        Assert.Contains("evaluation every 600 iterations on the first 37 images of each set (all after the last step)", output, StringComparison.Ordinal);
        string[] rows = [.. output.Split('\n').Where(line => line.StartsWith("    0 ", StringComparison.Ordinal) || line.StartsWith("    1 ", StringComparison.Ordinal) || line.StartsWith("  end", StringComparison.Ordinal))];
        Assert.Equal(3, rows.Length);
        foreach (string row in rows[..2])
        {
            foreach (string field in row.Split(' ', StringSplitOptions.RemoveEmptyEntries)[^2..])
            {
                double correct = double.Parse(field, System.Globalization.CultureInfo.InvariantCulture) * 37;
                Assert.True(Math.Abs(correct - Math.Round(correct)) < 0.01, $"{row}: {field} is not a count of 37");
            }
        }

        Assert.Contains("(3 passes, 70148 images)", output, StringComparison.Ordinal); // 37 + 37 twice, then 60,000 + 10,000
        Assert.Equal(ExitCodes.UsageError, Run("train", "--hidden", "4", "--eval-images", "0").Code);
    }
}
