using System.Xml.Linq;
using Simd.Cli;
using Simd.Tests.Support;

namespace Simd.Tests.Cli;

/// <summary>simd plot: SVG from metrics files, several runs overlaid.</summary>
public class PlotCommandTests
{
    [Fact]
    public void Two_runs_make_one_svg_with_a_line_per_run_and_set()
    {
        using var dir = new TempDirectory();
        foreach ((string name, string optimizer) in new[] { ("sgd", "sgd"), ("adam", "adam") })
        {
            (int trained, _, string trainError) = CliRunner.Run("train", "--iters", "1300", "--hidden", "16", "--optimizer", optimizer, "--metrics", dir.File(name + (name == "sgd" ? ".csv" : ".jsonl")), "--data", MnistFixture.Directory);
            Assert.True(trained == 0, trainError);
        }

        (int code, string output, string error) = CliRunner.Run("plot", dir.File("sgd.csv"), dir.File("adam.jsonl"), "-o", dir.File("curves.svg"));
        Assert.True(code == 0, error);
        Assert.Equal($"wrote {dir.File("curves.svg")}: 2 runs, 2600 steps, 8 evaluations", output.TrimEnd());
        XDocument svg = XDocument.Load(dir.File("curves.svg")); // well-formed XML, as a browser needs
        XNamespace ns = "http://www.w3.org/2000/svg";
        XElement[] lines = [.. svg.Descendants(ns + "polyline")];
        Assert.Equal(6, lines.Length); // loss: sgd, adam; accuracy: sgd train/test, adam train/test
        Assert.Equal(1300 / 2, lines[0].Attribute("points")!.Value.Split(' ').Length); // 1300 steps in means of 2 (at most 1000 points)
        Assert.Equal(4, lines[2].Attribute("points")!.Value.Split(' ').Length); // evaluations at 0, 600, 1200, end
        string[] legend = [.. svg.Descendants(ns + "text").Select(t => t.Value)];
        Assert.Contains("sgd", legend);
        Assert.Contains("adam test", legend);
        Assert.Contains("loss (mean of every 2 iterations)", legend);
    }

    [Fact]
    public void A_file_that_is_not_metrics_is_named_with_its_line()
    {
        using var dir = new TempDirectory();
        File.WriteAllLines(dir.File("bad.csv"), ["kind,iteration,epoch,loss,train_acc,test_acc", "step,0,,2.3,,", "oops"]);
        (int code, _, string error) = CliRunner.Run("plot", dir.File("bad.csv"), "-o", dir.File("x.svg"));
        Assert.Equal(ExitCodes.DataError, code);
        Assert.StartsWith($"simd: {dir.File("bad.csv")}, line 3: not a metrics record", error, StringComparison.Ordinal);
        Assert.False(File.Exists(dir.File("x.svg")));
    }
}
