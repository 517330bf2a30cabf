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
    public static Command Create()
    {
        var model = new ModelOptions();
        Option<string?> data = CommonOptions.Data();
        Option<bool> json = CommonOptions.Json();
        Option<string?> isa = CommonOptions.Isa();
        Option<int> threads = CommonOptions.Threads();
        var command = new Command("eval",
            "Measure a saved network on all MNIST training and test images: mean cross-entropy loss, accuracy, accuracy per class " +
            "and the test set's 10x10 confusion matrix (rows: the label, columns: the prediction).")
        {
            data, json, isa, threads,
        };
        model.AddTo(command);
        command.SetAction((parseResult, cancellationToken) =>
        {
            LoadedModel loaded = model.Open(parseResult, cancellationToken); // before the data: a bad file fails at once
            IsaPath path = CommonOptions.ResolveIsa(parseResult.GetValue(isa));
            TextWriter output = parseResult.InvocationConfiguration.Output;
            MnistData mnist = DataAccess.Load(parseResult.GetValue(data), parseResult.InvocationConfiguration.Error, cancellationToken);
            var work = new Work(loaded, mnist, path, parseResult.GetValue(threads));
            (Evaluation train, Evaluation test) = PrecisionDispatch.Run(loaded.File.Precision, work);
            cancellationToken.ThrowIfCancellationRequested();
            output.Write(parseResult.GetValue(json) ? Json(loaded, train, test) : Text(loaded, train, test));
            return Task.FromResult(ExitCodes.Success);
        });
        return command;
    }

    /// <summary>The report as aligned text.</summary>
    public static string Text(LoadedModel loaded, Evaluation train, Evaluation test)
    {
        var text = new StringBuilder();
        CultureInfo inv = CultureInfo.InvariantCulture;
        text.AppendLine(inv, $"model: {loaded.File.Path}: {loaded.Describe()}");
        text.AppendLine("set      images     loss   accuracy");
        foreach ((string name, Evaluation e) in new[] { ("train", train), ("test", test) })
        {
            text.AppendLine(inv, $"{name,-5} {e.Count,9} {e.Loss,8:F4} {e.Accuracy,10:F4}");
        }

        text.AppendLine();
        text.AppendLine("accuracy per class  train    test   (test images)");
        for (int c = 0; c < test.ClassCount; c++)
        {
            text.AppendLine(inv, $"  {c,-17} {train.AccuracyOf(c),6:F4}  {test.AccuracyOf(c),6:F4}   ({test.CountOf(c)})");
        }

        text.AppendLine();
        text.AppendLine("confusion matrix, test set (rows: label, columns: predicted)");
        text.Append("     ");
        for (int c = 0; c < test.ClassCount; c++)
        {
            text.Append(inv, $"{c,6}");
        }

        text.AppendLine();
        for (int label = 0; label < test.ClassCount; label++)
        {
            text.Append(inv, $"  {label,-3}");
            for (int predicted = 0; predicted < test.ClassCount; predicted++)
            {
                text.Append(inv, $"{test.Confusion[(label * test.ClassCount) + predicted],6}");
            }

            text.AppendLine();
        }

        return text.ToString();
    }

    /// <summary>The report as one JSON object (for machines).</summary>
    public static string Json(LoadedModel loaded, Evaluation train, Evaluation test)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            writer.WriteStartObject();
            writer.WriteString("model", loaded.File.Path);
            writer.WriteString("shape", loaded.File.Shape.ToString());
            writer.WriteString("activation", Names.Of(loaded.Activation));
            writer.WriteString("precision", Names.Of(loaded.File.Precision));
            foreach ((string name, Evaluation e) in new[] { ("train", train), ("test", test) })
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

    private sealed class Work(LoadedModel loaded, MnistData mnist, IsaPath isa, int threads) : IPrecisionWork<(Evaluation, Evaluation)>
    {
        public (Evaluation, Evaluation) Run<T>()
            where T : unmanaged, IFloatingPointIeee754<T>
        {
            using MultiLayerNet<T> network = loaded.Build<T>(isa, threads);
            return (network.Evaluate(DataAccess.ToDataset<T>(mnist.Train)), network.Evaluate(DataAccess.ToDataset<T>(mnist.Test)));
        }
    }
}
