using System.Xml.Linq;
using Simd.Cli;
using Simd.Cli.Commands;
using Simd.Tests.Support;

namespace Simd.Tests.Cli;

/// <summary>simd experiment: each of the book's ch. 6 scripts built so far runs (--quick: a tenth of the work, on the first 2,000 and 500 images) and leaves its files.</summary>
public class ExperimentCommandTests
{
    public static TheoryData<string> Names => [.. ExperimentCommand.Scripts.Keys];

    [Theory]
    [MemberData(nameof(Names))]
    public void Each_experiment_prints_its_table_and_writes_csv_and_svg(string name)
    {
        using var dir = new TempDirectory();
        (int code, string output, string error) = CliRunner.Run("experiment", name, "--quick", "--out", dir.Path, "--threads", "2", "--data", SmallMnist.Directory);
        Assert.True(code == 0, error);
        Assert.Contains($"the book's {ExperimentCommand.Scripts[name]} (--quick", output, StringComparison.Ordinal);
        string[] csv = Directory.GetFiles(dir.Path, $"{name}-*.csv");
        int expectedRuns = name switch { "optimizers" => 6, "init" => 3, "hyperparameters" => 10, "batchnorm" => 8, "activations" => 0, _ => 2 };
        Assert.Equal(expectedRuns, csv.Length);
        XDocument svg = XDocument.Load(Path.Combine(dir.Path, name + ".svg"));
        int lines = svg.Descendants(XName.Get("polyline", "http://www.w3.org/2000/svg")).Count();
        // Each run drawn as loss, train and test accuracy (of the trials, the best 5); batchnorm: accuracy against the scale, with and without.
        Assert.Equal(name switch { "hyperparameters" => 15, "batchnorm" => 2, _ => 3 * expectedRuns }, lines); // activations: bars, no lines
        switch (name)
        {
            case "optimizers":
                Assert.Matches(@"(?m)^iteration\s+SGD\s+Momentum\s+AdaGrad\s+Adam\s+Nesterov\s+RMSprop$", output);
                Assert.Matches(@"(?m)^\s+0(\s+\d\.\d{4}){6}$", output);
                break;
            case "init":
                Assert.Matches(@"(?m)^iteration\s+std=0\.01\s+Xavier\s+He$", output);
                break;
            case "activations":
                Assert.Matches(@"(?m)^ReLU, He\s+1\s+\d\.\d{3}", output);
                Assert.Equal(6 * 5 * 30, svg.Descendants(XName.Get("rect", "http://www.w3.org/2000/svg")).Count(r => r.Attribute("fill")?.Value == "#0072B2")); // 6 cases x 5 layers x 30 bins
                break;
            case "batchnorm":
                Assert.Matches(@"(?m)^\s+0\.0001\s+(\d\.\d{4}|diverged)\s+\d\.\d{4}$", output); // the smallest of 4 scales, with and without
                break;
            case "hyperparameters":
                Assert.Contains("=========== Hyper-Parameter Optimization Result ===========", output, StringComparison.Ordinal);
                Assert.Equal(10, output.Split('\n').Count(l => l.StartsWith("Best-", StringComparison.Ordinal)));
                Assert.Equal(11, File.ReadAllLines(Path.Combine(dir.Path, "hyperparameters.csv")).Length);
                break;
            default:
                Assert.Matches(@"(?m)^none: train \d\.\d{4}, test \d\.\d{4}, gap -?\d\.\d{4}$", output);
                break;
        }
    }

    [Fact]
    public void The_same_seed_gives_the_same_numbers()
    {
        using var dir = new TempDirectory();
        string Run() => CliRunner.Run("experiment", "init", "--quick", "--out", dir.Path, "--seed", "7", "--data", SmallMnist.Directory).Output
            .Split('\n').Where(l => !l.Contains(" s, ", StringComparison.Ordinal)).Aggregate("", (a, b) => a + b + "\n"); // timings aside
        Assert.Equal(Run(), Run());
    }

    [Fact]
    public void An_unknown_experiment_is_named_with_the_known_ones()
    {
        (int code, _, string error) = CliRunner.Run("experiment", "batchnorm-maybe");
        Assert.Equal(ExitCodes.UsageError, code);
        Assert.Contains("unknown experiment 'batchnorm-maybe' (one of optimizers, init, weight-decay, dropout, hyperparameters, batchnorm, activations)", error, StringComparison.Ordinal);
    }
}
