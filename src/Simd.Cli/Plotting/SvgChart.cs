using System.Globalization;
using System.Text;

namespace Simd.Cli.Plotting;

/// <summary>One line of a chart: its points (x, y), legend label, colour and whether it is dashed.</summary>
internal sealed record Series(string Label, IReadOnlyList<(double X, double Y)> Points, string Color, bool Dashed = false);

/// <summary>
/// A line chart written as SVG text: axes with round ticks, a title, axis labels, lines and a legend.
/// Plain SVG 1.1 that any browser opens; no fonts or scripts of its own.
/// </summary>
internal sealed class SvgChart
{
    /// <summary>Line colours, chosen to stay apart for the colour-blind (Okabe–Ito).</summary>
    public static readonly string[] Palette = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"];

    private const double Left = 64, Right = 16, Top = 36, Bottom = 48;

    public required string Title { get; init; }

    public required string XLabel { get; init; }

    public required string YLabel { get; init; }

    /// <summary>Fixed y range (e.g. accuracy ends at 1); null: from the data.</summary>
    public (double Min, double Max)? YRange { get; init; }

    /// <summary>The legend's corner: top right (where falling loss curves leave room), or bottom right (rising accuracy).</summary>
    public bool LegendAtBottom { get; init; }

    public List<Series> Lines { get; } = [];

    /// <summary>The chart as an SVG group, drawn in the box (x, y, width, height) of a larger picture.</summary>
    public void Draw(StringBuilder svg, double x, double y, double width, double height)
    {
        CultureInfo inv = CultureInfo.InvariantCulture;
        (double X, double Y)[] all = [.. Lines.SelectMany(s => s.Points).Where(p => double.IsFinite(p.X) && double.IsFinite(p.Y))];
        (double xMin, double xMax) = all.Length == 0 ? (0, 1) : (all.Min(p => p.X), all.Max(p => p.X));
        (double yMin, double yMax) = YRange ?? (all.Length == 0 ? (0, 1) : (all.Min(p => p.Y), all.Max(p => p.Y)));
        double[] xTicks = Ticks(ref xMin, ref xMax), yTicks = Ticks(ref yMin, ref yMax);
        double plotX = x + Left, plotY = y + Top, plotW = width - Left - Right, plotH = height - Top - Bottom;
        double Sx(double v) => plotX + ((v - xMin) / (xMax - xMin) * plotW);
        double Sy(double v) => plotY + plotH - ((v - yMin) / (yMax - yMin) * plotH);

        svg.Append(inv, $"<g font-family=\"sans-serif\" font-size=\"12\">\n");
        svg.Append(inv, $"<text x=\"{x + (width / 2):F1}\" y=\"{y + 20:F1}\" text-anchor=\"middle\" font-size=\"14\" font-weight=\"bold\">{Escape(Title)}</text>\n");
        foreach (double t in yTicks)
        {
            svg.Append(inv, $"<line x1=\"{plotX:F1}\" y1=\"{Sy(t):F1}\" x2=\"{plotX + plotW:F1}\" y2=\"{Sy(t):F1}\" stroke=\"#e0e0e0\"/>");
            svg.Append(inv, $"<text x=\"{plotX - 6:F1}\" y=\"{Sy(t) + 4:F1}\" text-anchor=\"end\">{Label(t, yTicks)}</text>\n");
        }

        foreach (double t in xTicks)
        {
            svg.Append(inv, $"<line x1=\"{Sx(t):F1}\" y1=\"{plotY + plotH:F1}\" x2=\"{Sx(t):F1}\" y2=\"{plotY + plotH + 4:F1}\" stroke=\"#333\"/>");
            svg.Append(inv, $"<text x=\"{Sx(t):F1}\" y=\"{plotY + plotH + 18:F1}\" text-anchor=\"middle\">{Label(t, xTicks)}</text>\n");
        }

        svg.Append(inv, $"<rect x=\"{plotX:F1}\" y=\"{plotY:F1}\" width=\"{plotW:F1}\" height=\"{plotH:F1}\" fill=\"none\" stroke=\"#333\"/>\n");
        svg.Append(inv, $"<text x=\"{plotX + (plotW / 2):F1}\" y=\"{y + height - 8:F1}\" text-anchor=\"middle\">{Escape(XLabel)}</text>\n");
        svg.Append(inv, $"<text transform=\"translate({x + 16:F1},{plotY + (plotH / 2):F1}) rotate(-90)\" text-anchor=\"middle\">{Escape(YLabel)}</text>\n");
        svg.Append(inv, $"<clipPath id=\"clip{x:F0}\"><rect x=\"{plotX:F1}\" y=\"{plotY:F1}\" width=\"{plotW:F1}\" height=\"{plotH:F1}\"/></clipPath>\n");
        foreach (Series series in Lines)
        {
            var points = new StringBuilder();
            foreach ((double px, double py) in series.Points.Where(p => double.IsFinite(p.X) && double.IsFinite(p.Y)))
            {
                points.Append(inv, $"{Sx(px):F1},{Sy(py):F1} ");
            }

            svg.Append(inv, $"<polyline clip-path=\"url(#clip{x:F0})\" fill=\"none\" stroke=\"{series.Color}\" stroke-width=\"1.5\"{(series.Dashed ? " stroke-dasharray=\"6,4\"" : "")} points=\"{points.ToString().TrimEnd()}\"/>\n");
        }

        // The legend, in a right-hand corner inside the plot, one row a line.
        double legendHeight = (Lines.Count * 16) + 6;
        double legendY = LegendAtBottom ? plotY + plotH - legendHeight - 8 : plotY + 8;
        double legendWidth = Lines.Count == 0 ? 0 : (Lines.Max(s => s.Label.Length) * 7) + 40;
        double legendX = plotX + plotW - legendWidth - 8;
        if (Lines.Count > 0)
        {
            svg.Append(inv, $"<rect x=\"{legendX:F1}\" y=\"{legendY:F1}\" width=\"{legendWidth:F1}\" height=\"{legendHeight:F1}\" fill=\"white\" fill-opacity=\"0.85\" stroke=\"#ccc\"/>\n");
        }

        for (int i = 0; i < Lines.Count; i++)
        {
            double ly = legendY + 14 + (i * 16);
            svg.Append(inv, $"<line x1=\"{legendX + 6:F1}\" y1=\"{ly - 4:F1}\" x2=\"{legendX + 30:F1}\" y2=\"{ly - 4:F1}\" stroke=\"{Lines[i].Color}\" stroke-width=\"2\"{(Lines[i].Dashed ? " stroke-dasharray=\"6,4\"" : "")}/>");
            svg.Append(inv, $"<text x=\"{legendX + 36:F1}\" y=\"{ly:F1}\">{Escape(Lines[i].Label)}</text>\n");
        }

        svg.Append("</g>\n");
    }

    /// <summary>The most ticks an axis gets, whatever the range.</summary>
    private const int MaxTicks = 12;

    /// <summary>
    /// Round tick values covering [min, max] (widened to them), about five of them, and never more than
    /// <see cref="MaxTicks"/>: a range of zero or a few ulps (a loss that never changed) is first widened around
    /// its middle, and one that doubles cannot step through (infinite, NaN) becomes [0, 1].
    /// </summary>
    public static double[] Ticks(ref double min, ref double max)
    {
        if (!double.IsFinite(min) || !double.IsFinite(max) || min > max)
        {
            (min, max) = (0, 1);
        }

        double magnitudeOfValues = Math.Max(Math.Abs(min), Math.Abs(max));
        if (!(max - min > magnitudeOfValues * 1e-9))
        {
            double middle = (min / 2) + (max / 2), half = magnitudeOfValues == 0 ? 0.5 : magnitudeOfValues * 0.05;
            (min, max) = (middle - half, middle + half);
        }

        double raw = ((max / 5) - (min / 5)), magnitude = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        double step = (raw / magnitude) switch { < 1.5 => 1, < 3 => 2, < 7 => 5, _ => 10 } * magnitude;
        double first = Snap(min / step, Math.Floor) * step, last = Snap(max / step, Math.Ceiling) * step;
        double count = Math.Round((last / step) - (first / step));
        if (!double.IsFinite(step) || step <= 0 || !double.IsFinite(first) || !double.IsFinite(last) || !(count is >= 1 and <= MaxTicks))
        {
            return [min, max]; // no round steps fit (values near the ends of the doubles): the ends themselves
        }

        (min, max) = (first, last);
        var ticks = new double[(int)count + 1];
        for (int i = 0; i < ticks.Length; i++)
        {
            ticks[i] = Math.Round((first / step) + i) * step;
        }

        return ticks;
    }

    /// <summary>A quotient rounded the given way, unless it is a whole number but for rounding (3.0000000001 stays 3).</summary>
    private static double Snap(double quotient, Func<double, double> round)
    {
        double nearest = Math.Round(quotient);
        return Math.Abs(quotient - nearest) <= 1e-9 * Math.Max(1, Math.Abs(quotient)) ? nearest : round(quotient);
    }

    public static string Escape(string text) =>
        text.Replace("&", "&amp;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal).Replace(">", "&gt;", StringComparison.Ordinal).Replace("\"", "&quot;", StringComparison.Ordinal);

    private static string Label(double value, double[] ticks)
    {
        double step = ticks.Length > 1 ? ticks[1] - ticks[0] : 1;
        int decimals = Math.Clamp(-(int)Math.Floor(Math.Log10(step) + 1e-9), 0, 6);
        return value.ToString("F" + decimals.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
    }
}
