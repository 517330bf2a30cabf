namespace Simd.Kernels;

/// <summary>
/// The shapes of one image's convolution or pooling window sweep, as the book's im2col computes them:
/// input [C, H, W], window FH x FW, stride S, zero padding P on every side; output OH x OW with
/// OH = (H + 2P − FH) / S + 1 (integer division: windows that would run past the padded edge are not taken).
/// </summary>
public readonly record struct ConvolutionGeometry
{
    public ConvolutionGeometry(int channels, int height, int width, int windowHeight, int windowWidth, int stride, int pad)
    {
        if (ShapeProblem(channels, height, width, windowHeight, windowWidth, stride, pad) is { } problem)
        {
            throw new ArgumentException(problem);
        }

        (Channels, Height, Width, WindowHeight, WindowWidth, Stride, Pad) = (channels, height, width, windowHeight, windowWidth, stride, pad);
    }

    public int Channels { get; }

    public int Height { get; }

    public int Width { get; }

    public int WindowHeight { get; }

    public int WindowWidth { get; }

    public int Stride { get; }

    public int Pad { get; }

    public int OutputHeight => ((Height + (2 * Pad) - WindowHeight) / Stride) + 1;

    public int OutputWidth => ((Width + (2 * Pad) - WindowWidth) / Stride) + 1;

    /// <summary>C·H·W: one image's input.</summary>
    public int InputLength => Channels * Height * Width;

    /// <summary>OH·OW: the output positions (the columns of the column matrix).</summary>
    public int Positions => OutputHeight * OutputWidth;

    /// <summary>C·FH·FW: one window's values (the rows of the column matrix, the inner size of the product).</summary>
    public int WindowLength => Channels * WindowHeight * WindowWidth;

    /// <summary>Why these sizes make no sweep (a window larger than the padded input, a size below 1), or null.</summary>
    public static string? ShapeProblem(int channels, int height, int width, int windowHeight, int windowWidth, int stride, int pad)
    {
        if (channels < 1 || height < 1 || width < 1)
        {
            return $"an input of {channels}x{height}x{width}: every size must be at least 1";
        }

        if (windowHeight < 1 || windowWidth < 1 || stride < 1 || pad < 0)
        {
            return $"a {windowHeight}x{windowWidth} window with stride {stride} and pad {pad}: the window and stride must be at least 1, the pad at least 0";
        }

        if (windowHeight > height + (2 * pad) || windowWidth > width + (2 * pad))
        {
            return $"a {windowHeight}x{windowWidth} window is larger than the {height + (2 * pad)}x{width + (2 * pad)} padded input";
        }

        return (long)channels * windowHeight * windowWidth * (((height + (2L * pad) - windowHeight) / stride) + 1) * (((width + (2L * pad) - windowWidth) / stride) + 1) > Array.MaxLength
            ? "the column matrix would not fit in one array"
            : null;
    }
}
