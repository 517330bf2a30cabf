using System.Text.RegularExpressions;
using Simd.Cli;
using Simd.Kernels;
using Simd.Tests.Support;
using Simd.Tests.Training;
using Simd.Training;
using Simd.Training.Models;

namespace Simd.Tests.Cli;

/// <summary>simd filters: the book's visualize_filter.py as SVG, from the book's pickles and from .npz files.</summary>
public class FiltersCommandTests
{
    private static int Squares(string svg) => Regex.Count(svg, "<rect x=");

    [BookFileFact("ch07/params.pkl")]
    public void The_books_trained_filters_are_drawn_one_square_a_weight()
    {
        using var dir = new TempDirectory();
        (int code, string output, string error) = CliRunner.Run("filters", "--model", BookPickleTests.BookFile("ch07/params.pkl"), "-o", dir.File("f.svg"));
        Assert.True(code == 0, error);
        Assert.Equal($"wrote {dir.File("f.svg")}: params.pkl: 30 filters 5x5", output.Trim());
        string svg = File.ReadAllText(dir.File("f.svg"));
        Assert.Equal(30 * 25, Squares(svg));
        Assert.Contains("rgb(0,0,0)", svg, StringComparison.Ordinal);       // each filter's largest weight is black
        Assert.Contains("rgb(255,255,255)", svg, StringComparison.Ordinal); // and its smallest white
    }

    [Fact]
    public void Two_models_are_drawn_side_by_side_and_a_fully_connected_one_is_refused()
    {
        using var dir = new TempDirectory();
        var filters = NpyArray.Floating<float>("W1", Reference.Random<float>(6 * 3 * 7 * 7, 1), 6, 3, 7, 7);
        Npz.Write(dir.File("before.npz"), [filters, NpyArray.Floating<float>("b1", new float[6], 6)]);
        Npz.Write(dir.File("after.npz"), [NpyArray.Floating<float>("W1", Reference.Random<float>(6 * 3 * 7 * 7, 2), 6, 3, 7, 7)]);
        (int code, string output, string error) = CliRunner.Run("filters", "--model", dir.File("before.npz"), "--model", dir.File("after.npz"), "-o", dir.File("two.svg"));
        Assert.True(code == 0, error);
        Assert.Contains("before.npz: 6 filters 7x7; after.npz: 6 filters 7x7", output, StringComparison.Ordinal);
        Assert.Equal(2 * 6 * 49, Squares(File.ReadAllText(dir.File("two.svg"))));

        using var network = new MultiLayerNet<float>(NetworkShape.Book, Activation.Sigmoid, Isa.Best, seed: 1, maxBatch: 1);
        ModelFile.Save(dir.File("fc.npz"), network);
        (code, _, error) = CliRunner.Run("filters", "--model", dir.File("fc.npz"), "-o", dir.File("x.svg"));
        Assert.Equal(ExitCodes.DataError, code);
        Assert.Contains("W1 is (784, 50), a fully connected layer: it has no filters to draw", error, StringComparison.Ordinal);
        Assert.False(File.Exists(dir.File("x.svg")));
    }

    [Theory]
    [InlineData("--output must name a file", "filters", "--model", "m.npz", "-o", "")]
    [InlineData("--model must name a file", "filters", "--model", "")]
    [InlineData("the name must end in .svg", "filters", "--model", "m.npz", "-o", "f.png")]
    public void Bad_command_lines_are_usage_errors(string expected, params string[] args)
    {
        (int code, _, string error) = CliRunner.Run(args);
        Assert.Equal(ExitCodes.UsageError, code);
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_model_is_a_data_error()
    {
        using var dir = new TempDirectory();
        (int code, _, string error) = CliRunner.Run("filters", "--model", dir.File("none.pkl"), "-o", dir.File("f.svg"));
        Assert.Equal(ExitCodes.DataError, code);
        Assert.EndsWith("none.pkl: no such file", error.Trim(), StringComparison.Ordinal);
    }
}
