using System.CommandLine;
using System.Globalization;
using System.Text;
using Simd.Cli.Plotting;
using Simd.Training.Files;
using Simd.Training.Models;

namespace Simd.Cli.Commands;

/// <summary>
/// <c>simd filters</c>: the first convolution's filters as a grid of gray squares (the book's ch07/visualize_filter.py:
/// each filter's first channel, 8 to a row, each scaled to its own minimum and maximum, dark where the weight is
/// large), one grid per model, side by side: before and after training when given two.
/// </summary>
internal static class FiltersCommand
{
    /// <summary>Filters per row, as the book's filter_show(nx=8).</summary>
    public const int PerRow = 8;

    private const double Cell = 8, Gap = 6, Margin = 16, Title = 28;

    public static Command Create()
    {
        Option<string[]> models = new("--model")
        {
            Description = "A model with a convolution: the book's .pkl (ch07/params.pkl) or an .npz whose W1 is (FN, C, FH, FW). Give it twice to draw two models side by side (before and after training).",
            HelpName = "FILE",
            Required = true,
            Arity = new ArgumentArity(1, 2),
            AllowMultipleArgumentsPerToken = false,
        };
        models.Validators.Add(result =>
        {
            if (result.Tokens.Any(t => string.IsNullOrWhiteSpace(t.Value)))
            {
                result.AddError("--model must name a file (got an empty value)");
            }
        });
        Option<string> output = CommonOptions.SvgOutput("filters.svg");
        var command = new Command("filters",
            "Draw the first convolution's filters as a grid of gray squares, as the book's ch07/visualize_filter.py: each filter's first " +
            "channel, 8 to a row, scaled to its own range (dark = large weight); two models side by side.")
        {
            models, output,
        };
        command.SetAction(parseResult =>
        {
            string target = CommonOptions.SvgTarget(parseResult, output); // before reading: a bad --output fails at once

            (string Name, NpyArray Filters)[] grids = [.. parseResult.GetValue(models)!.Select(path => (Path.GetFileName(path), FirstFilters(path)))];
            string written = OutputFile.WriteText(target, Render(grids));
            parseResult.InvocationConfiguration.Output.WriteLine(
                $"wrote {written}: {string.Join("; ", grids.Select(g => $"{g.Name}: {g.Filters.Shape[0]} filters {g.Filters.Shape[2]}x{g.Filters.Shape[3]}"))}");
            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>W1 of a model file, which must be a convolution's (FN, C, FH, FW).</summary>
    /// <exception cref="ModelFileException">Unreadable, no W1, or a W1 that is not 4-D float.</exception>
    public static NpyArray FirstFilters(string path)
    {
        string full = Path.GetFullPath(path);
        IReadOnlyList<NpyArray> arrays = full.EndsWith(".pkl", StringComparison.OrdinalIgnoreCase) ? BookPickle.Read(full) : Npz.Read(full);
        NpyArray w1 = arrays.FirstOrDefault(a => a.Name == "W1") ?? throw new ModelFileException($"{full}: no W1 (the first layer's weights)");
        if (w1.Type is not (NpyType.Float32 or NpyType.Float64) || w1.Shape.Count != 4 || w1.Count == 0)
        {
            throw new ModelFileException(w1.Shape.Count == 2
                ? $"{full}: W1 is {w1.ShapeText}, a fully connected layer: it has no filters to draw (simd filters draws a convolution's (FN, C, FH, FW))"
                : $"{full}: W1 holds {w1.Descr} {w1.ShapeText}; a convolution's filters are (FN, C, FH, FW) of float");
        }

        return w1;
    }

    /// <summary>The grids side by side, as a whole SVG document.</summary>
    public static string Render(IReadOnlyList<(string Name, NpyArray Filters)> grids)
    {
        CultureInfo inv = CultureInfo.InvariantCulture;
        var body = new StringBuilder();
        double x = Margin, height = 0;
        foreach ((string name, NpyArray filters) in grids)
        {
            int count = filters.Shape[0], channels = filters.Shape[1], rows = filters.Shape[2], columns = filters.Shape[3];
            double size = Cell * Math.Max(1, 40.0 / Math.Max(rows, columns) / 5); // about 40 px a filter, whatever its size
            double filterWidth = columns * size, filterHeight = rows * size;
            int gridRows = (count + PerRow - 1) / PerRow;
            double gridWidth = (Math.Min(count, PerRow) * (filterWidth + Gap)) - Gap;
            body.Append(inv, $"<text x=\"{x + (gridWidth / 2):F1}\" y=\"{Margin + 14:F1}\" text-anchor=\"middle\" font-family=\"sans-serif\" font-size=\"14\">{SvgChart.Escape(Printable.Value(name))} (W1 {filters.ShapeText}, channel 1)</text>\n");
            double[] values = filters.ToFloating<double>();
            for (int f = 0; f < count; f++)
            {
                // Channel 0 of filter f, scaled to its own range as matplotlib's imshow does; gray_r: dark = large.
                ReadOnlySpan<double> filter = values.AsSpan(f * channels * rows * columns, rows * columns);
                double low = double.PositiveInfinity, high = double.NegativeInfinity;
                foreach (double v in filter)
                {
                    (low, high) = double.IsFinite(v) ? (Math.Min(low, v), Math.Max(high, v)) : (low, high);
                }

                double left = x + (f % PerRow * (filterWidth + Gap)), top = Margin + Title + (f / PerRow * (filterHeight + Gap));
                body.Append(inv, $"<g><title>filter {f + 1}: {low:G4} to {high:G4}</title>\n");
                for (int r = 0; r < rows; r++)
                {
                    for (int c = 0; c < columns; c++)
                    {
                        double v = filter[(r * columns) + c];
                        double level = high > low && double.IsFinite(v) ? (v - low) / (high - low) : 0;
                        int gray = (int)Math.Round(255 * (1 - level));
                        body.Append(inv, $"<rect x=\"{left + (c * size):F1}\" y=\"{top + (r * size):F1}\" width=\"{size:F1}\" height=\"{size:F1}\" fill=\"rgb({gray},{gray},{gray})\"/>");
                    }
                }

                body.Append("\n</g>\n");
            }

            x += gridWidth + (3 * Margin);
            height = Math.Max(height, Margin + Title + (gridRows * (filterHeight + Gap)) + Margin);
        }

        double width = x - (2 * Margin);
        return string.Create(inv, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:F0}\" height=\"{height:F0}\" viewBox=\"0 0 {width:F0} {height:F0}\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n") + body + "</svg>\n";
    }
}
