using System.CommandLine;
using System.Globalization;
using System.Text;
using Simd.Cli.Plotting;
using Simd.Training.Files;

namespace Simd.Cli.Commands;

/// <summary>
/// <c>simd plot</c>: the book's figures from metrics files — the loss of every iteration (fig. 4-11) and
/// the train and test accuracy of every epoch (fig. 4-12) — several runs overlaid, as one SVG.
/// </summary>
internal static class PlotCommand
{
    /// <summary>The loss line is thinned to at most this many points (means of equal runs of iterations): a browser draws it at once, and the eye sees no difference.</summary>
    public const int MaxLossPoints = 1000;

    public static Command Create()
    {
        Argument<string[]> files = CommonOptions.NonEmptyPaths(new Argument<string[]>("METRICS")
        {
            Description = "Metrics files written by 'simd train --metrics' (.csv or .jsonl); each is one run, named by its file name.",
            Arity = ArgumentArity.OneOrMore,
        });
        Option<string> output = CommonOptions.SvgOutput("curves.svg");
        var command = new Command("plot",
            "Draw the book's learning curves as SVG: the loss of every iteration (fig. 4-11) and train/test accuracy per epoch " +
            "(fig. 4-12), one line per run (train solid, test dashed), with a legend.")
        {
            files, output,
        };
        command.SetAction(parseResult =>
        {
            string target = CommonOptions.SvgTarget(parseResult, output); // before reading: a bad --output fails at once

            RunMetrics[] runs = [.. parseResult.GetValue(files)!.Select(MetricsFile.Read)];
            string written = OutputFile.WriteText(target, Render(runs));
            parseResult.InvocationConfiguration.Output.WriteLine(
                $"wrote {written}: {runs.Length} run{(runs.Length == 1 ? "" : "s")}, {runs.Sum(r => r.Steps.Count)} steps, {runs.Sum(r => r.Evaluations.Count)} evaluations");
            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>The two charts side by side, as a whole SVG document.</summary>
    public static string Render(IReadOnlyList<RunMetrics> runs)
    {
        const double Width = 1000, Height = 420;
        int longest = runs.Count == 0 ? 0 : runs.Max(r => r.Steps.Count);
        int bin = Math.Max(1, (longest + MaxLossPoints - 1) / MaxLossPoints);
        var loss = new SvgChart
        {
            Title = bin == 1 ? "loss (every iteration)" : $"loss (mean of every {bin} iterations)",
            XLabel = "iteration",
            YLabel = "loss",
        };
        var accuracy = new SvgChart { Title = "accuracy (every epoch)", XLabel = "epoch", YLabel = "accuracy", YRange = (MinAccuracy(runs), 1), LegendAtBottom = true };
        for (int i = 0; i < runs.Count; i++)
        {
            RunMetrics run = runs[i];
            string color = SvgChart.Palette[i % SvgChart.Palette.Length];
            loss.Lines.Add(new Series(run.Name, Binned(run.Steps, bin), color));
            double perEpoch = IterationsPerEpoch(run);
            accuracy.Lines.Add(new Series($"{run.Name} train", [.. run.Evaluations.Select(e => (e.Iteration / perEpoch, e.Train))], color));
            accuracy.Lines.Add(new Series($"{run.Name} test", [.. run.Evaluations.Select(e => (e.Iteration / perEpoch, e.Test))], color, Dashed: true));
        }

        var svg = new StringBuilder();
        svg.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{Height}\" viewBox=\"0 0 {Width} {Height}\">\n");
        svg.Append("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
        loss.Draw(svg, 0, 0, Width / 2, Height);
        accuracy.Draw(svg, Width / 2, 0, Width / 2, Height);
        svg.Append("</svg>\n");
        return svg.ToString();
    }

    /// <summary>Means of consecutive runs of <paramref name="bin"/> steps, at their mean iteration.</summary>
    private static List<(double, double)> Binned(IReadOnlyList<(int Iteration, double Loss)> steps, int bin)
    {
        var points = new List<(double, double)>();
        for (int i = 0; i < steps.Count; i += bin)
        {
            int end = Math.Min(steps.Count, i + bin);
            double x = 0, y = 0;
            for (int j = i; j < end; j++)
            {
                x += steps[j].Iteration;
                y += steps[j].Loss;
            }

            points.Add((x / (end - i), y / (end - i)));
        }

        return points;
    }

    /// <summary>The epoch length, from the first numbered evaluation after 0 (iteration / epoch); 1 if there is none.</summary>
    private static double IterationsPerEpoch(RunMetrics run)
    {
        foreach (var e in run.Evaluations)
        {
            if (int.TryParse(e.Epoch, NumberStyles.None, CultureInfo.InvariantCulture, out int epoch) && epoch > 0)
            {
                return e.Iteration / (double)epoch;
            }
        }

        return Math.Max(1, run.Evaluations.Count == 0 ? 1 : run.Evaluations.Max(e => e.Iteration));
    }

    private static double MinAccuracy(IReadOnlyList<RunMetrics> runs)
    {
        double[] values = [.. runs.SelectMany(r => r.Evaluations).SelectMany(e => new[] { e.Train, e.Test }).Where(double.IsFinite)];
        return values.Length == 0 ? 0 : Math.Max(0, Math.Floor(values.Min() * 10) / 10);
    }
}
