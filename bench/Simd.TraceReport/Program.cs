using System.Globalization;
using Microsoft.Diagnostics.Tracing;

namespace Simd.TraceReport;

/// <summary>
/// Reads a .nettrace file and prints the events of the "Simd-Training" EventSource, one line each:
/// run start, one line per evaluation (the table `simd train` prints), run stop. Exit code 1 when the
/// trace holds none of them.
/// </summary>
public static class Program
{
    private const string Provider = "Simd-Training";

    public static int Main(string[] args)
    {
        if (args.Length != 1 || !File.Exists(args[0]))
        {
            Console.Error.WriteLine("usage: Simd.TraceReport <file.nettrace>");
            return 2;
        }

        int count = 0;
        using (var source = new EventPipeEventSource(args[0]))
        {
            source.Dynamic.All += e =>
            {
                if (e.ProviderName != Provider)
                {
                    return;
                }

                count++;
                var fields = e.PayloadNames.Select((name, i) => $"{name}={Format(e.PayloadValue(i))}");
                Console.WriteLine($"{e.TimeStampRelativeMSec,10:F1} ms  {e.EventName,-9} {string.Join(' ', fields)}");
            };
            source.Process();
        }

        if (count == 0)
        {
            Console.Error.WriteLine($"no {Provider} events in {args[0]}");
            return 1;
        }

        return 0;
    }

    private static string Format(object value) => value switch
    {
        double d => d.ToString("0.######", CultureInfo.InvariantCulture),
        _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "",
    };
}
