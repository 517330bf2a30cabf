using System.Globalization;
using System.Text;
using System.Text.Json;
using Simd.Cli.Commands;
using Simd.Training;
using Simd.Training.Files;

namespace Simd.Cli;

/// <summary>
/// A run's metrics, as <c>simd train --metrics FILE</c> writes them and <c>simd plot</c> reads them: one
/// record per step (the book's train_loss_list) and one per evaluation row, in CSV
/// (<c>kind,iteration,epoch,loss,train_acc,test_acc</c>) or JSON lines, chosen by the extension.
/// </summary>
internal sealed class MetricsFile : IDisposable
{
    public const string CsvHeader = "kind,iteration,epoch,loss,train_acc,test_acc";

    /// <summary>Records wait in memory until an evaluation, or until this many characters.</summary>
    private const int FlushCharacters = 1 << 16;

    private readonly FileStream _file;
    private readonly bool _json;
    private readonly Action<Exception> _failed;
    private readonly StringBuilder _pending = new();
    private long _committed; // the file's length after the last whole write: a failed write is cut back to it

    private MetricsFile(FileStream file, bool json, Action<Exception> failed)
    {
        _file = file;
        _json = json;
        _failed = failed;
        _committed = file.Length;
    }

    public string Path { get; private init; } = "";

    /// <summary>Why writing stopped (a full disk, a file-size limit), or null while it works.</summary>
    public Exception? Failure { get; private set; }

    /// <summary>
    /// Checks the name (.csv or .jsonl) and opens the file: a new run replaces it, a resumed run appends (after
    /// dropping a last line that an earlier run's failure cut short).
    /// </summary>
    /// <param name="failed">Called once, on the writing thread, when a write fails; later records are dropped.</param>
    /// <exception cref="UsageException">Another extension, or the file cannot be created (one line naming it).</exception>
    public static MetricsFile Open(string path, bool append, Action<Exception> failed)
    {
        bool json = IsJson(path);
        string full = System.IO.Path.GetFullPath(path);
        try
        {
            var file = new FileStream(full, append ? FileMode.OpenOrCreate : FileMode.Create, FileAccess.ReadWrite, FileShare.Read, bufferSize: 0);
            file.SetLength(WholeLinesLength(file));
            file.Seek(0, SeekOrigin.End);
            var metrics = new MetricsFile(file, json, failed) { Path = full };
            if (file.Length == 0 && !json)
            {
                metrics._pending.Append(CsvHeader).Append('\n');
            }

            return metrics;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"--metrics {full}: cannot write: {e.Message}");
        }
    }

    /// <summary>The length of the file's whole lines: a last line without its newline is one a failed write cut.</summary>
    private static long WholeLinesLength(FileStream file)
    {
        long length = file.Length;
        var tail = new byte[(int)Math.Min(length, 1 << 16)];
        file.Seek(length - tail.Length, SeekOrigin.Begin);
        file.ReadExactly(tail);
        int lastNewline = Array.LastIndexOf(tail, (byte)'\n');
        return tail.Length == 0 || lastNewline == tail.Length - 1 ? length : length - tail.Length + lastNewline + 1;
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
            _pending.Append(_json
                ? string.Create(inv, $"{{\"kind\":\"step\",\"iteration\":{first + i},\"loss\":{Number(losses[i])}}}")
                : string.Create(inv, $"step,{first + i},,{Number(losses[i])},,")).Append('\n');
            if (_pending.Length >= FlushCharacters)
            {
                Flush();
            }
        }
    }

    public void WriteEvaluation(EpochReport row)
    {
        CultureInfo inv = CultureInfo.InvariantCulture;
        string epoch = row.AfterLastStep ? "end" : row.Epoch.ToString(inv);
        _pending.Append(_json
            ? string.Create(inv, $"{{\"kind\":\"eval\",\"iteration\":{row.Iteration},\"epoch\":\"{epoch}\",\"loss\":{Number(row.Loss)},\"train_acc\":{Number(row.TrainAccuracy)},\"test_acc\":{Number(row.TestAccuracy)}}}")
            : string.Create(inv, $"eval,{row.Iteration},{epoch},{Number(row.Loss)},{Number(row.TrainAccuracy)},{Number(row.TestAccuracy)}")).Append('\n');
        Flush(); // what was measured is on disk at every evaluation
    }

    /// <summary>Writes the waiting records whole; on failure cuts the file back to its last whole record and says so once.</summary>
    public void Flush()
    {
        if (Failure is not null || _pending.Length == 0)
        {
            _pending.Clear();
            return;
        }

        byte[] bytes = Encoding.UTF8.GetBytes(_pending.ToString());
        _pending.Clear();
        try
        {
            _file.Write(bytes);
            _committed += bytes.Length;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException || OutputFile.IsFileTooLarge(e))
        {
            Failure = e;
            try
            {
                _file.SetLength(_committed);
            }
            catch (Exception cut) when (cut is IOException || OutputFile.IsFileTooLarge(cut))
            {
                // The file keeps a cut line; a resumed run drops it (see Open).
            }

            _failed(e);
        }
    }

    public void Dispose()
    {
        Flush();
        _file.Dispose();
    }

    /// <summary>The longest line a metrics record can be (simd writes under 200 characters).</summary>
    private const int MaxLineCharacters = 4096;

    /// <summary>Reads a metrics file back: every step and evaluation record.</summary>
    /// <exception cref="InputDataException">Missing, not a regular file, another extension, or a line that is not a metrics record (one line naming the file and line).</exception>
    public static RunMetrics Read(string path)
    {
        string full = System.IO.Path.GetFullPath(path);
        bool json = System.IO.Path.GetExtension(path).ToLowerInvariant() switch
        {
            ".jsonl" => true,
            ".csv" => false,
            _ => throw new InputDataException($"{full}: not a metrics file: the name must end in .csv or .jsonl (as 'simd train --metrics' writes them)"),
        };
        FileKind kind = FileKinds.Of(full);
        if (kind != FileKind.Regular)
        {
            throw new InputDataException($"{full}: {FileKinds.Describe(kind)}");
        }

        var steps = new List<(int Iteration, double Loss)>();
        var evaluations = new List<(int Iteration, string Epoch, double Loss, double Train, double Test)>();
        try
        {
            using var reader = new StreamReader(full, new UTF8Encoding(false, true));
            int n = 0;
            for (string? raw = reader.ReadLine(); raw is not null; raw = reader.ReadLine())
            {
                n++;
                string line = raw.Trim();
                if (line.Length == 0 || (!json && line == CsvHeader))
                {
                    continue;
                }

                try
                {
                    if (line.Length > MaxLineCharacters)
                    {
                        throw new FormatException($"{line.Length} characters, longer than any record");
                    }

                    if (json)
                    {
                        ReadJsonRecord(line, steps, evaluations);
                    }
                    else
                    {
                        ReadCsvRecord(line, steps, evaluations);
                    }
                }
                catch (Exception e) when (e is FormatException or OverflowException or JsonException or InvalidOperationException)
                {
                    throw new InputDataException($"{full}, line {n}: not a metrics record of simd train --metrics ({Printable.Value(e.Message)})");
                }
            }
        }
        catch (DecoderFallbackException)
        {
            throw new InputDataException($"{full}: not a metrics file (not UTF-8 text)");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InputDataException($"{full}: cannot read: {e.Message}");
        }

        return new RunMetrics(System.IO.Path.GetFileNameWithoutExtension(full), steps, evaluations);
    }

    private static void ReadJsonRecord(string line, List<(int, double)> steps, List<(int, string, double, double, double)> evaluations)
    {
        using JsonDocument document = JsonDocument.Parse(line);
        JsonElement e = document.RootElement;
        if (e.ValueKind != JsonValueKind.Object)
        {
            throw new FormatException($"a JSON {e.ValueKind.ToString().ToLowerInvariant()}, not an object");
        }

        JsonElement Field(string name) => e.TryGetProperty(name, out JsonElement value) ? value : throw new FormatException($"no \"{name}\" field");
        int Iteration() => Field("iteration").TryGetInt32(out int i) && i >= 0 ? i : throw new FormatException("\"iteration\" is not a whole number, 0 or more");
        switch (Field("kind").ValueKind == JsonValueKind.String ? Field("kind").GetString() : null)
        {
            case "step":
                steps.Add((Iteration(), JsonNumber(Field("loss"))));
                break;
            case "eval":
                evaluations.Add((Iteration(), Field("epoch").ValueKind == JsonValueKind.String ? Field("epoch").GetString()! : throw new FormatException("\"epoch\" is not a string"),
                    JsonNumber(Field("loss")), JsonNumber(Field("train_acc")), JsonNumber(Field("test_acc"))));
                break;
            default:
                throw new FormatException("\"kind\" is neither \"step\" nor \"eval\"");
        }
    }

    private static void ReadCsvRecord(string line, List<(int, double)> steps, List<(int, string, double, double, double)> evaluations)
    {
        string[] f = line.Split(',');
        if (f.Length != 6)
        {
            throw new FormatException($"{f.Length} fields, not 6");
        }

        int iteration = int.TryParse(f[1], NumberStyles.None, CultureInfo.InvariantCulture, out int i) ? i : throw new FormatException($"iteration '{f[1]}' is not a whole number, 0 or more");
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

    private static double JsonNumber(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.String => ParseNumber(element.GetString()!),
        JsonValueKind.Number => element.GetDouble(),
        JsonValueKind.Null => double.NaN,
        _ => throw new FormatException($"a {element.ValueKind.ToString().ToLowerInvariant()} where a number belongs"),
    };

    private static double ParseNumber(string text) => text switch
    {
        "NaN" => double.NaN,
        "Infinity" => double.PositiveInfinity,
        "-Infinity" => double.NegativeInfinity,
        _ => double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) ? value : throw new FormatException($"'{Printable.Value(text)}' is not a number"),
    };

    /// <summary>Round-trip digits; NaN and infinities as words (CSV) or strings (JSON has no such numbers).</summary>
    private string Number(double value) =>
        double.IsFinite(value) ? value.ToString("R", CultureInfo.InvariantCulture) : _json ? $"\"{value.ToString(CultureInfo.InvariantCulture)}\"" : value.ToString(CultureInfo.InvariantCulture);
}

/// <summary>One run's metrics: its name (the file's), every step's loss and every evaluation.</summary>
internal sealed record RunMetrics(
    string Name, IReadOnlyList<(int Iteration, double Loss)> Steps,
    IReadOnlyList<(int Iteration, string Epoch, double Loss, double Train, double Test)> Evaluations);
