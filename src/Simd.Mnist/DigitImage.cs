namespace Simd.Mnist;

/// <summary>A photo or drawing of a digit turned into an MNIST image, and what was done to it.</summary>
/// <param name="Pixels">[28 x 28] row-major, 0 (background) to 255 (ink), as MNIST's.</param>
/// <param name="Inverted">The picture had a light background and was inverted (MNIST is light ink on black).</param>
/// <param name="Box">The digit's bounding box in the picture: (x, y, width, height).</param>
public sealed record DigitImage(byte[] Pixels, bool Inverted, (int X, int Y, int Width, int Height) Box)
{
    /// <summary>MNIST's side: 28 pixels.</summary>
    public const int Side = 28;

    /// <summary>The digit's larger side inside the 28 x 28 field: 20 pixels, as NIST's digits were normalized.</summary>
    public const int DigitSide = 20;

    /// <summary>A pixel at least this far from the background toward the ink (in 0-255 after stretching) belongs to the digit's box.</summary>
    public const int InkLevel = 64;

    /// <summary>
    /// MNIST's own preparation (LeCun et al.): grayscale in, the background made black (inverted when the
    /// border is light), contrast stretched to 0-255, cropped to the digit, scaled with area averaging so
    /// its larger side is 20 pixels (aspect kept), and placed in a 28 x 28 field with its centre of mass
    /// at the centre.
    /// </summary>
    /// <param name="gray">[height x width] 8-bit grayscale, row-major.</param>
    /// <exception cref="ArgumentException">No digit: every pixel is within a quarter of the range of the background.</exception>
    public static DigitImage FromGrayscale(ReadOnlySpan<byte> gray, int width, int height)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        if (gray.Length < width * height)
        {
            throw new ArgumentException($"{width}x{height} pixels need {width * height} values", nameof(gray));
        }

        // The background is what the border shows; MNIST's is black.
        double border = 0;
        int borderCount = 0;
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                if (x == 0 || y == 0 || x == width - 1 || y == height - 1)
                {
                    border += gray[(y * width) + x];
                    borderCount++;
                }
            }
        }

        bool inverted = border / borderCount > 127.5;
        var ink = new double[width * height]; // 0 background .. 255 darkest stroke
        double background = inverted ? 255 - (border / borderCount) : border / borderCount, peak = 0;
        for (int i = 0; i < ink.Length; i++)
        {
            ink[i] = inverted ? 255 - gray[i] : gray[i];
            peak = Math.Max(peak, ink[i]);
        }

        double range = peak - background;
        if (range < 255 / 4.0)
        {
            throw new ArgumentException("no digit found: the image is blank (no pixel stands out from the background by a quarter of the range)");
        }

        int left = width, top = height, right = -1, bottom = -1;
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                double v = Math.Clamp((ink[(y * width) + x] - background) * 255 / range, 0, 255);
                ink[(y * width) + x] = v;
                if (v >= InkLevel)
                {
                    (left, top, right, bottom) = (Math.Min(left, x), Math.Min(top, y), Math.Max(right, x), Math.Max(bottom, y));
                }
            }
        }

        int boxWidth = right - left + 1, boxHeight = bottom - top + 1;
        double scale = DigitSide / (double)Math.Max(boxWidth, boxHeight);
        int scaledWidth = Math.Clamp((int)Math.Round(boxWidth * scale), 1, DigitSide);
        int scaledHeight = Math.Clamp((int)Math.Round(boxHeight * scale), 1, DigitSide);
        double[] digit = Resample(ink, width, left, top, boxWidth, boxHeight, scaledWidth, scaledHeight);

        // Centre of mass, in pixel centres, then the shift that puts it at the field's centre (14, 14).
        double mass = 0, cx = 0, cy = 0;
        for (int y = 0; y < scaledHeight; y++)
        {
            for (int x = 0; x < scaledWidth; x++)
            {
                double v = digit[(y * scaledWidth) + x];
                mass += v;
                cx += (x + 0.5) * v;
                cy += (y + 0.5) * v;
            }
        }

        int offsetX = Math.Clamp((int)Math.Round((Side / 2.0) - (cx / mass)), 0, Side - scaledWidth);
        int offsetY = Math.Clamp((int)Math.Round((Side / 2.0) - (cy / mass)), 0, Side - scaledHeight);
        var pixels = new byte[Side * Side];
        for (int y = 0; y < scaledHeight; y++)
        {
            for (int x = 0; x < scaledWidth; x++)
            {
                pixels[((y + offsetY) * Side) + x + offsetX] = (byte)Math.Round(Math.Clamp(digit[(y * scaledWidth) + x], 0, 255));
            }
        }

        return new DigitImage(pixels, inverted, (left, top, boxWidth, boxHeight));
    }

    /// <summary>
    /// The box (x0, y0, w, h) of <paramref name="source"/> resized to (tw, th) by area averaging: each target
    /// pixel is the mean of the source area it covers, partial pixels weighted by their overlap (upscaling
    /// gives each target pixel the source pixels under it).
    /// </summary>
    private static double[] Resample(double[] source, int stride, int x0, int y0, int w, int h, int tw, int th)
    {
        var rows = new double[h * tw]; // horizontal pass
        for (int y = 0; y < h; y++)
        {
            for (int tx = 0; tx < tw; tx++)
            {
                rows[(y * tw) + tx] = Average(i => source[((y0 + y) * stride) + x0 + i], tx * (double)w / tw, (tx + 1) * (double)w / tw);
            }
        }

        var result = new double[th * tw]; // vertical pass
        for (int ty = 0; ty < th; ty++)
        {
            for (int tx = 0; tx < tw; tx++)
            {
                result[(ty * tw) + tx] = Average(i => rows[(i * tw) + tx], ty * (double)h / th, (ty + 1) * (double)h / th);
            }
        }

        return result;
    }

    /// <summary>Mean of value(i) over the interval [from, to) of a line of unit cells.</summary>
    private static double Average(Func<int, double> value, double from, double to)
    {
        double sum = 0;
        for (int i = (int)Math.Floor(from); i < to; i++)
        {
            double overlap = Math.Min(to, i + 1) - Math.Max(from, i);
            sum += overlap * value(i);
        }

        return sum / (to - from);
    }
}
