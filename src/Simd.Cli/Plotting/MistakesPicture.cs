using System.Globalization;
using System.Text;

namespace Simd.Cli.Plotting;

/// <summary>One misclassified image: its place in the set, label, the network's class and that class's probability, and its 28x28 pixels.</summary>
internal sealed record Mistake(int Index, int Label, int Predicted, double Probability, byte[] Pixels);

/// <summary>
/// ch08/misclassified_mnist.py's figure: the misclassified images in a grid, 5 to a row (the book's 4 x 5 subplots),
/// gray_r as the book's imshow (ink dark), each captioned with its label, the prediction and its probability. As SVG
/// (each digit an embedded PNG drawn pixelated) or as one grayscale PNG with a small built-in font for the captions.
/// </summary>
internal static class MistakesPicture
{
    public const int PerRow = 5;
    private const int Side = 28;

    /// <summary>The grid as an SVG document.</summary>
    public static string Svg(IReadOnlyList<Mistake> mistakes, string title)
    {
        CultureInfo inv = CultureInfo.InvariantCulture;
        const int Cell = 84, Gap = 18, Caption = 32, Margin = 16, Top = 40;
        int rows = Math.Max(1, (mistakes.Count + PerRow - 1) / PerRow);
        // Wide enough for the title too (about 7 px a character at 13 px).
        int width = Math.Max((2 * Margin) + (PerRow * (Cell + Gap)) - Gap, (2 * Margin) + (title.Length * 7)), height = Top + (rows * (Cell + Caption)) + Margin;
        var svg = new StringBuilder();
        svg.Append(inv, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\">\n");
        svg.Append("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
        svg.Append(inv, $"<text x=\"{width / 2}\" y=\"24\" text-anchor=\"middle\" font-family=\"sans-serif\" font-size=\"13\">{SvgChart.Escape(title)}</text>\n");
        for (int i = 0; i < mistakes.Count; i++)
        {
            Mistake m = mistakes[i];
            int x = Margin + (i % PerRow * (Cell + Gap)), y = Top + (i / PerRow * (Cell + Caption));
            string png = Convert.ToBase64String(GrayPng.Encode(Inverted(m.Pixels), Side, Side));
            svg.Append(inv, $"<g><title>test image {m.Index}: label {m.Label}, predicted {m.Predicted} with probability {m.Probability:F4}</title>\n");
            svg.Append(inv, $"<image x=\"{x}\" y=\"{y}\" width=\"{Cell}\" height=\"{Cell}\" style=\"image-rendering:pixelated\" href=\"data:image/png;base64,{png}\"/>\n");
            svg.Append(inv, $"<rect x=\"{x}\" y=\"{y}\" width=\"{Cell}\" height=\"{Cell}\" fill=\"none\" stroke=\"#888\"/>\n");
            svg.Append(inv, $"<text x=\"{x + (Cell / 2)}\" y=\"{y + Cell + 14}\" text-anchor=\"middle\" font-family=\"sans-serif\" font-size=\"12\">label {m.Label} → {m.Predicted}</text>\n");
            svg.Append(inv, $"<text x=\"{x + (Cell / 2)}\" y=\"{y + Cell + 27}\" text-anchor=\"middle\" font-family=\"sans-serif\" font-size=\"11\" fill=\"#555\">p = {m.Probability:F2} (#{m.Index})</text>\n</g>\n");
        }

        return svg.Append("</svg>\n").ToString();
    }

    /// <summary>The grid as a grayscale PNG: each digit 3x, captioned "label>predicted 0.87" in a 3x5 font at 2x.</summary>
    public static byte[] Png(IReadOnlyList<Mistake> mistakes)
    {
        const int Scale = 3, Cell = Side * Scale, Gap = 12, Margin = 8, FontScale = 2, Caption = (5 * FontScale) + 10;
        int rows = Math.Max(1, (mistakes.Count + PerRow - 1) / PerRow);
        int width = (2 * Margin) + (PerRow * (Cell + Gap)) - Gap, height = (2 * Margin) + (rows * (Cell + Caption));
        var pixels = new byte[width * height];
        Array.Fill(pixels, (byte)255);
        for (int i = 0; i < mistakes.Count; i++)
        {
            Mistake m = mistakes[i];
            int left = Margin + (i % PerRow * (Cell + Gap)), top = Margin + (i / PerRow * (Cell + Caption));
            byte[] digit = Inverted(m.Pixels);
            for (int y = 0; y < Cell; y++)
            {
                for (int x = 0; x < Cell; x++)
                {
                    pixels[((top + y) * width) + left + x] = digit[(y / Scale * Side) + (x / Scale)];
                }
            }

            string caption = string.Create(CultureInfo.InvariantCulture, $"{m.Label}>{m.Predicted} {m.Probability:F2}");
            Text(pixels, width, left, top + Cell + 4, caption, FontScale);
        }

        return GrayPng.Encode(pixels, width, height);
    }

    /// <summary>gray_r: 255 (ink) drawn black.</summary>
    private static byte[] Inverted(byte[] pixels) => [.. pixels.Select(p => (byte)(255 - p))];

    /// <summary>3x5 glyphs, rows top to bottom, 3 bits each (4 = left column).</summary>
    private static readonly Dictionary<char, int[]> Glyphs = new()
    {
        ['0'] = [7, 5, 5, 5, 7], ['1'] = [2, 6, 2, 2, 7], ['2'] = [7, 1, 7, 4, 7], ['3'] = [7, 1, 7, 1, 7], ['4'] = [5, 5, 7, 1, 1],
        ['5'] = [7, 4, 7, 1, 7], ['6'] = [7, 4, 7, 5, 7], ['7'] = [7, 1, 2, 2, 2], ['8'] = [7, 5, 7, 5, 7], ['9'] = [7, 5, 7, 1, 7],
        ['.'] = [0, 0, 0, 0, 2], ['>'] = [4, 2, 1, 2, 4], [' '] = [0, 0, 0, 0, 0],
    };

    private static void Text(byte[] pixels, int width, int left, int top, string text, int scale)
    {
        foreach (char ch in text)
        {
            int[] glyph = Glyphs[ch];
            for (int row = 0; row < 5; row++)
            {
                for (int column = 0; column < 3; column++)
                {
                    if ((glyph[row] & (4 >> column)) == 0)
                    {
                        continue;
                    }

                    for (int dy = 0; dy < scale; dy++)
                    {
                        for (int dx = 0; dx < scale; dx++)
                        {
                            pixels[((top + (row * scale) + dy) * width) + left + (column * scale) + dx] = 0;
                        }
                    }
                }
            }

            left += 4 * scale;
        }
    }
}
