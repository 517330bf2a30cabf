using System.CommandLine;
using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Json;
using Simd.Kernels;
using Simd.Mnist;
using Simd.Training;
using Simd.Training.Files;
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

    /// <summary>Larger files are refused before they are read: a 4096 x 4096 picture of a digit takes far less, compressed.</summary>
    public const long MaxPictureBytes = 64L << 20;

    public static Command Create()
    {
        var model = new ModelOptions();
        Argument<string[]> images = CommonOptions.NonEmptyPaths(new Argument<string[]>("IMAGE")
        {
            Description = "Pictures of one digit each: PNG, JPEG, BMP or binary PGM (P5), any size, dark on light or light on dark.",
            Arity = ArgumentArity.ZeroOrMore,
        });
        var index = new Option<int?>("--index")
        {
            Description = "Predict MNIST image N (from 0) of --set instead of a picture, and show its label.",
            HelpName = "N",
        };
        index.CustomParser = result => CommonOptions.ParseToken<int>(result, "--index", "a whole number, 0 or more", text =>
            int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int n) ? n : null);
        Option<string> set = CommonOptions.Choice("--set", "test", "The MNIST set --index reads: test or train.", "test", "train");
        Option<string?> data = CommonOptions.Data();
        Option<bool> json = CommonOptions.Json();
        Option<string?> isa = CommonOptions.Isa();
        var command = new Command("predict",
            "Classify pictures of handwritten digits with a saved network: each is made an MNIST image (grayscale, inverted when " +
            "the background is light, cropped to the digit, scaled to 20x20 and centred by centre of mass in 28x28), drawn as text, " +
            "and given its three likeliest digits with their probabilities.")
        {
            images, index, set, data, json, isa,
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

            LoadedModel loaded = model.Open(parseResult, cancellationToken);
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

            var work = new Work(loaded, inputs, CommonOptions.ResolveIsa(parseResult.GetValue(isa)));
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
        FileKind kind = FileKinds.Of(full);
        if (kind != FileKind.Regular)
        {
            throw new InputDataException($"{full}: {(kind == FileKind.Directory ? "is a directory, not a picture" : FileKinds.Describe(kind))}");
        }

        byte[] bytes;
        try
        {
            using var file = new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.Read);
            if (file.Length > MaxPictureBytes)
            {
                throw new InputDataException($"{full}: {file.Length:N0} bytes is more than a picture of a digit needs (at most {MaxPictureBytes:N0})");
            }

            bytes = new byte[file.Length];
            file.ReadExactly(bytes);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InputDataException($"{full}: cannot read: {e.Message}");
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
    /// StbImageSharp (PNG, JPEG, BMP, GIF, TGA, PSD), after its header says the size is sensible. A picture with
    /// an alpha channel (a digit drawn on a transparent background, as drawing programs export) is composited
    /// over white first, as a viewer shows it.
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

        string format = FormatName(bytes);
        if (format == "PNG" && PngDamage(bytes) is { } damage)
        {
            // Checked before StbImageSharp sees it: it allocates what a chunk's length claims (a flipped bit: 1 GiB).
            throw new InputDataException($"{full}: a damaged PNG: {damage}");
        }

        ImageInfo? info = ImageInfo.FromStream(new MemoryStream(bytes));
        (long width, long height) = info is { } header ? (header.Width, header.Height) : PngSize(bytes);
        if (width < 1 || height < 1)
        {
            throw new InputDataException(format == "picture"
                ? $"{full}: not a picture simd can read (PNG, JPEG, BMP or PGM)"
                : $"{full}: a damaged {format}: its header gives no size");
        }

        if (width * height > MaxPixels)
        {
            throw new InputDataException($"{full}: {width}x{height} pixels is more than a digit needs (at most {MaxPixels:N0} pixels)");
        }

        bool alpha = info?.ColorComponents is ColorComponents.GreyAlpha or ColorComponents.RedGreenBlueAlpha;
        try
        {
            ImageResult image = ImageResult.FromMemory(bytes, alpha ? ColorComponents.GreyAlpha : ColorComponents.Grey);
            return (alpha ? OverWhite(image.Data, image.Width * image.Height) : image.Data, image.Width, image.Height);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or IndexOutOfRangeException or NotSupportedException or InvalidDataException or NullReferenceException or OverflowException)
        {
            // StbImageSharp's reasons are terse ("no SOI" from the JPEG decoder it tries last, sometimes empty or NUL
            // bytes): say what the file is first, and its reason only where it means something.
            string reason = Printable.Value(e.Message.Trim('\0', ' '));
            bool meaningful = reason.Length > 0 && (format == "JPEG" || reason != "no SOI");
            throw new InputDataException($"{full}: a damaged {format}: its data cannot be decoded ({(meaningful ? reason : "cut short or corrupt")})");
        }
    }

    /// <summary>Gray and alpha pairs composited over white: gray · a + 255 · (1 − a), rounded.</summary>
    private static byte[] OverWhite(byte[] grayAlpha, int pixels)
    {
        var gray = new byte[pixels];
        for (int i = 0; i < pixels; i++)
        {
            int value = grayAlpha[2 * i], alpha = grayAlpha[(2 * i) + 1];
            gray[i] = (byte)(((value * alpha) + (255 * (255 - alpha)) + 127) / 255);
        }

        return gray;
    }

    /// <summary>The format its first bytes say, for messages: "PNG", "JPEG", "BMP", "GIF", or "picture".</summary>
    private static string FormatName(ReadOnlySpan<byte> bytes) => bytes switch
    {
        [0x89, (byte)'P', (byte)'N', (byte)'G', ..] => "PNG",
        [0xFF, 0xD8, ..] => "JPEG",
        [(byte)'B', (byte)'M', ..] => "BMP",
        [(byte)'G', (byte)'I', (byte)'F', (byte)'8', ..] => "GIF",
        _ => "picture",
    };

    /// <summary>
    /// What is wrong with a PNG's chunks, or null: every chunk (length, type, data, CRC-32 of type and data) must lie
    /// inside the file and match its CRC, up to IEND.
    /// </summary>
    private static string? PngDamage(ReadOnlySpan<byte> bytes)
    {
        const int Signature = 8, ChunkOverhead = 12;
        for (int at = Signature; ; )
        {
            if (bytes.Length - at < ChunkOverhead)
            {
                return "the file is cut short (no IEND chunk)";
            }

            uint length = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(bytes[at..]);
            string type = Printable.Value(Encoding.Latin1.GetString(bytes.Slice(at + 4, 4)));
            if (length > bytes.Length - at - ChunkOverhead)
            {
                return $"chunk '{type}' claims {length:N0} bytes, past the end of the file (cut short or corrupt)";
            }

            ReadOnlySpan<byte> typeAndData = bytes.Slice(at + 4, 4 + (int)length);
            if (System.IO.Hashing.Crc32.HashToUInt32(typeAndData) != System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(bytes[(at + 8 + (int)length)..]))
            {
                return $"chunk '{type}': CRC mismatch (the file is damaged)";
            }

            if (type == "IEND")
            {
                return null;
            }

            at += ChunkOverhead + (int)length;
        }
    }

    /// <summary>A PNG's size from its IHDR chunk (StbImageSharp gives no header for pictures past its own limits); (0, 0) if none.</summary>
    private static (long Width, long Height) PngSize(ReadOnlySpan<byte> bytes) =>
        FormatName(bytes) == "PNG" && bytes.Length >= 24 && bytes[12..16].SequenceEqual("IHDR"u8)
            ? (System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(bytes[16..]), System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(bytes[20..]))
            : (0, 0);

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
            text.AppendLine(inv, $"{Printable.Line(input.Name)}: {input.Description}");
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
                    JsonNumbers.Write(writer, "probability", probabilities[i][c]);
                    writer.WriteEndObject();
                }

                writer.WriteEndArray();
                writer.WriteStartArray("probabilities");
                foreach (double p in probabilities[i])
                {
                    JsonNumbers.WriteValue(writer, p);
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

    private sealed class Work(LoadedModel loaded, List<Input> inputs, IsaPath isa) : IPrecisionWork<double[][]>
    {
        public double[][] Run<T>()
            where T : unmanaged, IFloatingPointIeee754<T>
        {
            using MultiLayerNet<T> network = loaded.Build<T>(isa, threads: 1);
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
