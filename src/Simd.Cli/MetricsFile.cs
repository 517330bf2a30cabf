using System.Globalization;
using System.Text;
using System.Text.Json;
using Simd.Training;

namespace Simd.Cli;

/// <summary>
/// A run's metrics, as <c>simd train --metrics FILE</c> writes them and <c>simd plot</c> reads them: one
/// record per step (the book's train_loss_list) and one per evaluation row, in CSV
/// (<c>kind,iteration,epoch,loss,train_acc,test_acc</c>) or JSON lines, chosen by the extension.
/// </summary>
internal sealed class MetricsFile : IDisposable
{
    public const string CsvHeader = "kind,iteration,epoch,loss,train_acc,test_acc";

    private readonly StreamWriter _writer;
    private readonly bool _json;

    private MetricsFile(StreamWriter writer, bool json)
    {
        _writer = writer;
        _json = json;
    }

    public string Path { get; private init; } = "";

    /// <summary>Checks the name (.csv or .jsonl) and opens the file: a new run replaces it, a resumed run appends.</summary>
    /// <exception cref="UsageException">Another extension, or the file cannot be created (one line naming it).</exception>
    public static MetricsFile Open(string path, bool append)
    {
        bool json = IsJson(path);
        string full = System.IO.Path.GetFullPath(path);
        try
        {
            bool fresh = !append || !File.Exists(full) || new FileInfo(full).Length == 0;
            var writer = new StreamWriter(full, append, new UTF8Encoding(false)) { NewLine = "\n" };
            if (fresh && !json)
            {
                writer.WriteLine(CsvHeader);
            }

            return new MetricsFile(writer, json) { Path = full };
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"--metrics {full}: cannot write: {e.Message}");
        }
    }

    /// <summary>True for .jsonl, false for .csv; anything else is refused.</summary>
    public static bool IsJson(string path) => System.IO.Path.GetExtension(path).ToLowerInvariant() switch
    {
        ".jsonl" => true,
        ".csv" => false,
        _ => throw new UsageException($"--metrics {path}: the name must end in .csv or .jsonl"),
    };

    public void WriteSteps(int first, ReadOnlySpan<double> losses)
    {
        CultureInfo inv = CultureInfo.InvariantCulture;
        for (int i = 0; i < losses.Length; i++)
        {
            _writer.WriteLine(_json
                ? string.Create(inv, $"{{\"kind\":\"step\",\"iteration\":{first + i},\"loss\":{Number(losses[i])}}}")
                : string.Create(inv, $"step,{first + i},,{Number(losses[i])},,"));
        }
    }

    public void WriteEvaluation(EpochReport row)
    {
        CultureInfo inv = CultureInfo.InvariantCulture;
        string epoch = row.AfterLastStep ? "end" : row.Epoch.ToString(inv);
        _writer.WriteLine(_json
            ? string.Create(inv, $"{{\"kind\":\"eval\",\"iteration\":{row.Iteration},\"epoch\":\"{epoch}\",\"loss\":{Number(row.Loss)},\"train_acc\":{Number(row.TrainAccuracy)},\"test_acc\":{Number(row.TestAccuracy)}}}")
            : string.Create(inv, $"eval,{row.Iteration},{epoch},{Number(row.Loss)},{Number(row.TrainAccuracy)},{Number(row.TestAccuracy)}"));
        _writer.Flush(); // what was measured is on disk at every evaluation
    }

    public void Dispose() => _writer.Dispose();

    /// <summary>Reads a metrics file back: every step and evaluation record.</summary>
    /// <exception cref="UsageException">Missing, or a line that is not a metrics record (one line naming the file and line).</exception>
    public static RunMetrics Read(string path)
    {
        string full = System.IO.Path.GetFullPath(path);
        bool json = IsJson(path);
        string[] lines;
        try
        {
            lines = File.ReadAllLines(full);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"{full}: cannot read: {e.Message}");
        }

        var steps = new List<(int Iteration, double Loss)>();
        var evaluations = new List<(int Iteration, string Epoch, double Loss, double Train, double Test)>();
        for (int n = 0; n < lines.Length; n++)
        {
            string line = lines[n].Trim();
            if (line.Length == 0 || (!json && line == CsvHeader))
            {
                continue;
            }

            try
            {
                if (json)
                {
                    using JsonDocument document = JsonDocument.Parse(line);
                    JsonElement e = document.RootElement;
                    if (e.GetProperty("kind").GetString() == "step")
                    {
                        steps.Add((e.GetProperty("iteration").GetInt32(), JsonNumber(e.GetProperty("loss"))));
                    }
                    else
                    {
                        evaluations.Add((e.GetProperty("iteration").GetInt32(), e.GetProperty("epoch").GetString() ?? "",
                            JsonNumber(e.GetProperty("loss")), JsonNumber(e.GetProperty("train_acc")), JsonNumber(e.GetProperty("test_acc"))));
                    }
                }
                else
                {
                    string[] f = line.Split(',');
                    if (f.Length != 6)
                    {
                        throw new FormatException($"{f.Length} fields, not 6");
                    }

                    int iteration = int.Parse(f[1], NumberStyles.None, CultureInfo.InvariantCulture);
                    switch (f[0])
                    {
                        case "step":
                            steps.Add((iteration, ParseNumber(f[3])));
                            break;
                        case "eval":
                            evaluations.Add((iteration, f[2], ParseNumber(f[3]), ParseNumber(f[4]), ParseNumber(f[5])));
                            break;
                        default:
                            throw new FormatException($"kind '{f[0]}' (step or eval)");
                    }
                }
            }
            catch (Exception e) when (e is FormatException or OverflowException or JsonException or KeyNotFoundException or InvalidOperationException)
            {
                throw new UsageException($"{full}, line {n + 1}: not a metrics record of simd train --metrics ({e.Message})");
            }
        }

        return new RunMetrics(System.IO.Path.GetFileNameWithoutExtension(full), steps, evaluations);
    }

    private static double JsonNumber(JsonElement element) =>
        element.ValueKind == JsonValueKind.String ? ParseNumber(element.GetString()!) : element.GetDouble();

    private static double ParseNumber(string text) => text switch
    {
        "NaN" => double.NaN,
        "Infinity" => double.PositiveInfinity,
        "-Infinity" => double.NegativeInfinity,
        _ => double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture),
    };

    /// <summary>Round-trip digits; NaN and infinities as words (CSV) or strings (JSON has no such numbers).</summary>
    private string Number(double value) =>
        double.IsFinite(value) ? value.ToString("R", CultureInfo.InvariantCulture) : _json ? $"\"{value.ToString(CultureInfo.InvariantCulture)}\"" : value.ToString(CultureInfo.InvariantCulture);
}

/// <summary>One run's metrics: its name (the file's), every step's loss and every evaluation.</summary>
internal sealed record RunMetrics(
    string Name, IReadOnlyList<(int Iteration, double Loss)> Steps,
    IReadOnlyList<(int Iteration, string Epoch, double Loss, double Train, double Test)> Evaluations);
