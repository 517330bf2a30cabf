using System.Globalization;

namespace Simd.Cli;

/// <summary>Number and duration formatting shared by the commands (invariant culture: output is the same everywhere).</summary>
internal static class Format
{
    public static string Number(double value) => value.ToString("G", CultureInfo.InvariantCulture);

    public static string Scientific(double value) => value.ToString("0.00e+00", CultureInfo.InvariantCulture);

    /// <summary>Seconds in the most readable unit: "812 ns", "53.2 µs", "1.23 ms", "40.5 s".</summary>
    public static string Duration(double seconds) => seconds switch
    {
        < 1e-6 => (seconds * 1e9).ToString("F0", CultureInfo.InvariantCulture) + " ns",
        < 1e-3 => (seconds * 1e6).ToString("F1", CultureInfo.InvariantCulture) + " µs",
        < 1 => (seconds * 1e3).ToString("F2", CultureInfo.InvariantCulture) + " ms",
        _ => seconds.ToString("F2", CultureInfo.InvariantCulture) + " s",
    };

    /// <summary>"12,345".</summary>
    public static string Count(double value) => value.ToString("N0", CultureInfo.InvariantCulture);
}

/// <summary>JSON has no NaN or infinity: such a number is written as null (the README says so), never an exception.</summary>
internal static class JsonNumbers
{
    public static void Write(System.Text.Json.Utf8JsonWriter writer, string name, double value)
    {
        if (double.IsFinite(value))
        {
            writer.WriteNumber(name, value);
        }
        else
        {
            writer.WriteNull(name);
        }
    }

    public static void WriteValue(System.Text.Json.Utf8JsonWriter writer, double value)
    {
        if (double.IsFinite(value))
        {
            writer.WriteNumberValue(value);
        }
        else
        {
            writer.WriteNullValue();
        }
    }
}
