using System.CommandLine;
using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Json;
using Simd.Kernels;
using Simd.Mnist;
using Simd.Training;
using StbImageSharp;

namespace Simd.Cli.Commands;

/// <summary>
/// <c>simd predict</c>: a saved network on images of digits (PNG, JPEG, BMP, binary PGM), prepared as
/// MNIST's were, or on an MNIST image by index; shows the digit as text and the three likeliest classes.
/// </summary>
internal static class PredictCommand
{
    /// <summary>Larger pictures are refused before they are decoded (a digit needs far fewer pixels).</summary>
    public const int MaxPixels = 4096 * 4096;

    public static Command Create()
    {
        var model = new ModelOptions();
        var images = new Argument<string[]>("IMAGE")
        {
            Description = "Pictures of one digit each: PNG, JPEG, BMP or binary PGM (P5), any size, dark on light or light on dark.",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var index = new Option<int?>("--index")
        {
            Description = "Predict MNIST image N (from 0) of --set instead of a picture, and show its label.",
            HelpName = "N",
        };
        Option<string> set = CommonOptions.Choice("--set", "test", "The MNIST set --index reads: test or train.", "test", "train");
        Option<string?> data = CommonOptions.Data();
        Option<bool> json = CommonOptions.Json();
        var command = new Command("predict",
            "Classify pictures of handwritten digits with a saved network: each is made an MNIST image (grayscale, inverted when " +
            "the background is light, cropped to the digit, scaled to 20x20 and centred by centre of mass in 28x28), drawn as text, " +
            "and given its three likeliest digits with their probabilities.")
        {
            images, index, set, data, json,
        };
        model.AddTo(command);
        command.SetAction((parseResult, cancellationToken) =>
        {
            string[] files = parseResult.GetValue(images) ?? [];
            int? mnistIndex = parseResult.GetValue(index);
            if ((files.Length == 0) == (mnistIndex is null))
            {
                throw new UsageException(files.Length == 0
                    ? "give one or more IMAGE files, or --index N for an MNIST image"
                    : "give IMAGE files or --index N, not both");
            }

            LoadedModel loaded = model.Open(parseResult);
            var inputs = new List<Input>();
            if (mnistIndex is { } n)
            {
                MnistData mnist = DataAccess.Load(parseResult.GetValue(data), parseResult.InvocationConfiguration.Error, cancellationToken);
                string setName = parseResult.GetValue(set)!;
                MnistSplit split = setName == "train" ? mnist.Train : mnist.Test;
                if (n < 0 || n >= split.Count)
                {
                    throw new UsageException($"--index {n} is outside the {setName} set's {split.Count} images (0 to {split.Count - 1})");
                }

                byte[] pixels = split.Images.Span.Slice(n * MnistFiles.PixelsPerImage, MnistFiles.PixelsPerImage).ToArray();
                inputs.Add(new Input($"mnist {setName} #{n}", pixels, split.Labels.Span[n], $"label {split.Labels.Span[n]}"));
            }
            else
            {
                foreach (string file in files)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    inputs.Add(FromPicture(file));
                }
            }

            var work = new Work(loaded, inputs);
            double[][] probabilities = PrecisionDispatch.Run(loaded.File.Precision, work);
            TextWriter output = parseResult.InvocationConfiguration.Output;
            output.Write(parseResult.GetValue(json) ? Json(inputs, probabilities) : Text(loaded, inputs, probabilities));
            return Task.FromResult(ExitCodes.Success);
        });
        return command;
    }

    /// <summary>A picture decoded to grayscale and prepared as MNIST's images were.</summary>
    /// <exception cref="InputDataException">Missing, not a supported picture, too large, or blank.</exception>
    public static Input FromPicture(string path)
    {
        string full = Path.GetFullPath(path);
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(full);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InputDataException($"{full}: {(Directory.Exists(full) ? "is a directory, not a picture" : File.Exists(full) ? e.Message : "no such file")}");
        }

        (byte[] gray, int width, int height) = Decode(full, bytes);
        DigitImage digit;
        try
        {
            digit = DigitImage.FromGrayscale(gray, width, height);
        }
        catch (ArgumentException e)
        {
            throw new InputDataException($"{full}: {e.Message}");
        }

        (int x, int y, int w, int h) = digit.Box;
        string how = $"{width}x{height} pixels, {(digit.Inverted ? "light background (inverted)" : "dark background")}, digit at ({x}, {y}) {w}x{h}";
        return new Input(path, digit.Pixels, null, how);
    }

    /// <summary>
    /// 8-bit grayscale of a picture: Netpbm graymaps (P5, P2) by <see cref="Pgm"/>, everything else by
    /// StbImageSharp (PNG, JPEG, BMP, GIF, TGA, PSD), after its header says the size is sensible.
    /// </summary>
    private static (byte[] Gray, int Width, int Height) Decode(string full, byte[] bytes)
    {
        if (Pgm.IsPgm(bytes))
        {
            try
            {
                return Pgm.Read(bytes, MaxPixels);
            }
            catch (FormatException e)
            {
                throw new InputDataException($"{full}: a damaged PGM: {e.Message}");
            }
        }

        ImageInfo? info = ImageInfo.FromStream(new MemoryStream(bytes));
        if (info is not { } header || header.Width < 1 || header.Height < 1)
        {
            throw new InputDataException($"{full}: not a picture simd can read (PNG, JPEG, BMP or PGM)");
        }

        if ((long)header.Width * header.Height > MaxPixels)
        {
            throw new InputDataException($"{full}: {header.Width}x{header.Height} pixels is more than a digit needs (at most {MaxPixels:N0} pixels)");
        }

        try
        {
            ImageResult image = ImageResult.FromMemory(bytes, ColorComponents.Grey);
            return (image.Data, image.Width, image.Height);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or IndexOutOfRangeException or NotSupportedException or InvalidDataException)
        {
            throw new InputDataException($"{full}: a damaged or unsupported picture: {e.Message}");
        }
    }

    /// <summary>28 x 28 pixels as 14 lines of half blocks (each character two pixels, one above the other), framed.</summary>
    public static string Art(ReadOnlySpan<byte> pixels)
    {
        const int Side = DigitImage.Side, Ink = 96;
        var art = new StringBuilder();
        art.Append('┌').Append('─', Side).Append("┐\n");
        for (int y = 0; y < Side; y += 2)
        {
            art.Append('│');
            for (int x = 0; x < Side; x++)
            {
                bool upper = pixels[(y * Side) + x] >= Ink, lower = pixels[((y + 1) * Side) + x] >= Ink;
                art.Append((upper, lower) switch { (true, true) => '█', (true, false) => '▀', (false, true) => '▄', _ => ' ' });
            }

            art.Append("│\n");
        }

        art.Append('└').Append('─', Side).Append("┘\n");
        return art.ToString();
    }

    private static string Text(LoadedModel loaded, List<Input> inputs, double[][] probabilities)
    {
        var text = new StringBuilder();
        CultureInfo inv = CultureInfo.InvariantCulture;
        text.AppendLine(inv, $"model: {loaded.File.Path}: {loaded.Describe()}");
        for (int i = 0; i < inputs.Count; i++)
        {
            Input input = inputs[i];
            int[] top = Top(probabilities[i]);
            text.AppendLine();
            text.AppendLine(inv, $"{input.Name}: {input.Description}");
            text.Append(Art(input.Pixels));
            string verdict = input.Label is { } label ? (top[0] == label ? " (correct)" : $" (wrong: the label is {label})") : "";
            text.AppendLine(inv, $"prediction: {top[0]}{verdict}   top three: {string.Join(", ", top.Take(3).Select(c => $"{c} {probabilities[i][c]:F3}"))}");
        }

        return text.ToString();
    }

    private static string Json(List<Input> inputs, double[][] probabilities)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            writer.WriteStartArray();
            for (int i = 0; i < inputs.Count; i++)
            {
                int[] top = Top(probabilities[i]);
                writer.WriteStartObject();
                writer.WriteString("input", inputs[i].Name);
                if (inputs[i].Label is { } label)
                {
                    writer.WriteNumber("label", label);
                }
                else
                {
                    writer.WriteNull("label");
                }

                writer.WriteNumber("prediction", top[0]);
                writer.WriteStartArray("top");
                foreach (int c in top.Take(3))
                {
                    writer.WriteStartObject();
                    writer.WriteNumber("digit", c);
                    writer.WriteNumber("probability", probabilities[i][c]);
                    writer.WriteEndObject();
                }

                writer.WriteEndArray();
                writer.WriteStartArray("probabilities");
                foreach (double p in probabilities[i])
                {
                    writer.WriteNumberValue(p);
                }

                writer.WriteEndArray();
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
        }

        return Encoding.UTF8.GetString(buffer.ToArray()) + Environment.NewLine;
    }

    /// <summary>Classes by falling probability (ties: the lower class first, as argmax).</summary>
    private static int[] Top(double[] probabilities) =>
        [.. Enumerable.Range(0, probabilities.Length).OrderByDescending(c => probabilities[c]).ThenBy(c => c)];

    /// <summary>An image to classify: its name, its 28 x 28 MNIST pixels, its label when known, and how it was prepared.</summary>
    internal sealed record Input(string Name, byte[] Pixels, int? Label, string Description);

    private sealed class Work(LoadedModel loaded, List<Input> inputs) : IPrecisionWork<double[][]>
    {
        public double[][] Run<T>()
            where T : unmanaged, IFloatingPointIeee754<T>
        {
            using MultiLayerNet<T> network = loaded.Build<T>(Isa.Best, threads: 1);
            var image = new T[MnistFiles.PixelsPerImage];
            var results = new double[inputs.Count][];
            for (int i = 0; i < inputs.Count; i++)
            {
                for (int p = 0; p < image.Length; p++)
                {
                    image[p] = Dataset<T>.Normalize(inputs[i].Pixels[p]);
                }

                results[i] = new double[MnistFiles.ClassCount];
                network.Probabilities(image, results[i]);
            }

            return results;
        }
    }
}

/// <summary>An input file other than MNIST's (a picture to classify) that cannot be used: one line, exit code 2.</summary>
internal sealed class InputDataException(string message) : Exception(message);
