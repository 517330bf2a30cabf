using System.CommandLine;
using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Json;
using Simd.Kernels;
using Simd.Mnist;
using Simd.Training;

namespace Simd.Cli.Commands;

/// <summary><c>simd eval</c>: a saved network on MNIST's training and test sets — loss, accuracy, per class, confusion.</summary>
internal static class EvalCommand
{
    /// <summary>The sets <c>--set</c> takes.</summary>
    private static readonly string[] SetChoices = ["both", "test", "train"];

    public static Command Create()
    {
        var model = new ModelOptions();
        Option<string?> data = CommonOptions.Data();
        Option<bool> json = CommonOptions.Json();
        Option<string?> isa = CommonOptions.Isa();
        Option<int> threads = CommonOptions.Threads();
        Option<string> set = CommonOptions.Choice("--set", "both", "Which MNIST set to measure: test (10,000 images), train (60,000) or both.", SetChoices);
        Option<string> precision = CommonOptions.Choice("--precision", "file",
            "The numbers to compute in: file (the model's own), single, double, or half (ch08/half_float_network.py: the weights, the images " +
            "and every layer's output stored as IEEE binary16, the arithmetic in float32).", "file", "single", "double", "half");
        var command = new Command("eval",
            "Measure a saved network on MNIST's training and test images: mean cross-entropy loss, accuracy, accuracy per class " +
            "and the 10x10 confusion matrix (rows: the label, columns: the prediction) of the test set (the training set's with --set train). " +
            "How long each set took goes to stderr.")
        {
            data, json, isa, threads, set, precision,
        };
        model.AddTo(command);
        command.SetAction((parseResult, cancellationToken) =>
        {
            LoadedModel loaded = model.Open(parseResult, cancellationToken); // before the data: a bad file fails at once
            IsaPath path = CommonOptions.ResolveIsa(parseResult.GetValue(isa));
            TextWriter output = parseResult.InvocationConfiguration.Output;
            TextWriter error = parseResult.InvocationConfiguration.Error;
            MnistData mnist = DataAccess.Load(parseResult.GetValue(data), error, cancellationToken);
            string which = parseResult.GetValue(set)!;
            var sets = new List<(string Name, MnistSplit Images)>();
            if (which != "test")
            {
                sets.Add(("train", mnist.Train));
            }

            if (which != "train")
            {
                sets.Add(("test", mnist.Test));
            }

            string numbers = parseResult.GetValue(precision)!.ToLowerInvariant();
            bool half = numbers == "half";
            Precision chosen = numbers switch
            {
                "file" => loaded.File.Precision,
                "double" => Precision.Double,
                _ => Precision.Single, // single, and half's arithmetic
            };
            var work = new Work(loaded, sets, path, parseResult.GetValue(threads), half, error, cancellationToken);
            IReadOnlyList<SetEvaluation> results = PrecisionDispatch.Run(chosen, work);
            cancellationToken.ThrowIfCancellationRequested();
            string described = half
                ? loaded.Describe("half precision (binary16 storage, float32 arithmetic)")
                : loaded.Describe($"{Names.Of(chosen)} precision");
            output.Write(parseResult.GetValue(json) ? Json(loaded, results, half ? "half" : Names.Of(chosen)) : Text(loaded, results, described));
            return Task.FromResult(ExitCodes.Success);
        });
        return command;
    }

    /// <summary>One set measured: its name ("train", "test") and the evaluation.</summary>
    public sealed record SetEvaluation(string Name, Evaluation Evaluation);

    /// <summary>"evaluated 10000 images in 1.23 s (8130 images/s)": the line each set writes to stderr.</summary>
    public static string TimingLine(int images, double seconds) => string.Create(CultureInfo.InvariantCulture,
        $"evaluated {images} images in {seconds:F2} s ({(seconds > 0 ? images / seconds : 0):F0} images/s)");

    /// <summary>The report as aligned text: the confusion matrix is the test set's when it was measured.</summary>
    public static string Text(LoadedModel loaded, IReadOnlyList<SetEvaluation> sets, string described)
    {
        ArgumentNullException.ThrowIfNull(loaded);
        ArgumentNullException.ThrowIfNull(sets);
        var text = new StringBuilder();
        CultureInfo inv = CultureInfo.InvariantCulture;
        text.AppendLine(inv, $"model: {loaded.File.Path}: {described}");
        text.AppendLine("set      images     loss   accuracy");
        foreach (SetEvaluation set in sets)
        {
            Evaluation e = set.Evaluation;
            text.AppendLine(inv, $"{set.Name,-5} {e.Count,9} {e.Loss,8:F4} {e.Accuracy,10:F4}");
        }

        SetEvaluation shown = sets[^1]; // test when measured (it comes last)
        text.AppendLine();
        text.AppendLine(inv, $"accuracy per class {string.Join("  ", sets.Select(set => $"{set.Name,6}"))}   ({shown.Name} images)"); // names over their columns
        for (int c = 0; c < shown.Evaluation.ClassCount; c++)
        {
            text.Append(inv, $"  {c,-16}");
            foreach (SetEvaluation set in sets)
            {
                text.Append(inv, $"  {set.Evaluation.AccuracyOf(c),6:F4}");
            }

            text.AppendLine(inv, $"   ({shown.Evaluation.CountOf(c)})");
        }

        Evaluation matrix = shown.Evaluation;
        text.AppendLine();
        text.AppendLine(inv, $"confusion matrix, {shown.Name} set (rows: label, columns: predicted)");
        text.Append("     ");
        for (int c = 0; c < matrix.ClassCount; c++)
        {
            text.Append(inv, $"{c,6}");
        }

        text.AppendLine();
        for (int label = 0; label < matrix.ClassCount; label++)
        {
            text.Append(inv, $"  {label,-3}");
            for (int predicted = 0; predicted < matrix.ClassCount; predicted++)
            {
                text.Append(inv, $"{matrix.Confusion[(label * matrix.ClassCount) + predicted],6}");
            }

            text.AppendLine();
        }

        return text.ToString();
    }

    /// <summary>The report as one JSON object (for machines).</summary>
    public static string Json(LoadedModel loaded, IReadOnlyList<SetEvaluation> sets, string precision)
    {
        ArgumentNullException.ThrowIfNull(loaded);
        ArgumentNullException.ThrowIfNull(sets);
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            writer.WriteStartObject();
            writer.WriteString("model", loaded.File.Path);
            writer.WriteString("shape", loaded.File.Shape.ToString());
            writer.WriteString("activation", Names.Of(loaded.Activation));
            writer.WriteString("precision", precision);
            foreach ((string name, Evaluation e) in sets)
            {
                writer.WriteStartObject(name);
                writer.WriteNumber("images", e.Count);
                JsonNumbers.Write(writer, "loss", e.Loss);
                JsonNumbers.Write(writer, "accuracy", e.Accuracy);
                writer.WriteStartArray("class_accuracy");
                for (int c = 0; c < e.ClassCount; c++)
                {
                    JsonNumbers.WriteValue(writer, e.AccuracyOf(c));
                }

                writer.WriteEndArray();
                writer.WriteStartArray("confusion");
                for (int label = 0; label < e.ClassCount; label++)
                {
                    writer.WriteStartArray();
                    for (int predicted = 0; predicted < e.ClassCount; predicted++)
                    {
                        writer.WriteNumberValue(e.Confusion[(label * e.ClassCount) + predicted]);
                    }

                    writer.WriteEndArray();
                }

                writer.WriteEndArray();
                writer.WriteEndObject();
            }

            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray()) + Environment.NewLine;
    }

    /// <summary>Each set measured in turn; its timing line (the images' conversion to the network's numbers excluded) on stderr.</summary>
    private sealed class Work(LoadedModel loaded, IReadOnlyList<(string Name, MnistSplit Images)> sets, IsaPath isa, int threads, bool half, TextWriter error,
        CancellationToken cancellationToken) : IPrecisionWork<IReadOnlyList<SetEvaluation>>
    {
        public IReadOnlyList<SetEvaluation> Run<T>()
            where T : unmanaged, IFloatingPointIeee754<T>
        {
            using MultiLayerNet<T> network = loaded.Build<T>(isa, threads);
            if (half)
            {
                network.StoreInHalf();
                int count = network.HalfParameters!.Length;
                error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"half precision: {count:N0} parameters stored in {count * 2:N0} bytes (float32: {count * 4:N0}); the images and every layer's output rounded to binary16"));
            }

            var results = new List<SetEvaluation>();
            foreach ((string name, MnistSplit images) in sets)
            {
                cancellationToken.ThrowIfCancellationRequested();
                Dataset<T> dataset = DataAccess.ToDataset<T>(images);
                long start = System.Diagnostics.Stopwatch.GetTimestamp();
                Evaluation evaluation = network.Evaluate(dataset);
                double seconds = System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalSeconds;
                error.WriteLine(TimingLine(evaluation.Count, seconds));
                results.Add(new SetEvaluation(name, evaluation));
            }

            return results;
        }
    }
}
