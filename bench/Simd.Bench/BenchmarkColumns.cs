using System.Globalization;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using Simd.Kernels;

namespace Simd.Bench;

/// <summary>A benchmark whose work is a known number of floating-point operations on one ISA path.</summary>
public interface IFlopBenchmark
{
    /// <summary>Floating-point operations per invocation (a multiply-add counts 2) for this case's parameters.</summary>
    double FlopsFor(BenchmarkCase benchmarkCase);

    /// <summary>The ISA path, element type and cores of the case, to find the peak it is compared with.</summary>
    (IsaPath Isa, bool Double, int Cores) PathFor(BenchmarkCase benchmarkCase);
}

/// <summary>The three columns every floating-point benchmark shows: GFLOP/s, and that as a fraction of the peaks.</summary>
public sealed class FlopColumn : IColumn
{
    private readonly Kind _kind;

    private FlopColumn(Kind kind) => _kind = kind;

    private enum Kind
    {
        Gflops,
        PathPeak,
        MachinePeak,
    }

    public static IColumn[] All { get; } = [new FlopColumn(Kind.Gflops), new FlopColumn(Kind.PathPeak), new FlopColumn(Kind.MachinePeak)];

    public string Id => nameof(FlopColumn) + _kind;

    public string ColumnName => _kind switch
    {
        Kind.Gflops => "GFLOP/s",
        Kind.PathPeak => "% path peak",
        _ => "% machine peak",
    };

    public bool AlwaysShow => true;

    public ColumnCategory Category => ColumnCategory.Custom;

    public int PriorityInCategory => (int)_kind;

    public bool IsNumeric => true;

    public UnitType UnitType => UnitType.Dimensionless;

    public string Legend => _kind switch
    {
        Kind.Gflops => "Floating-point operations per second from the mean time (a multiply-add counts 2)",
        Kind.PathPeak => "GFLOP/s over the FMA peak of the cores used, on the same ISA path and precision, measured in this run with those cores busy at once (MachinePeak: 24 independent FMA chains per core)",
        _ => "GFLOP/s over the FMA peak of the cores used on the widest path this machine has, same precision",
    };

    public bool IsAvailable(Summary summary) => true;

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        if (summary[benchmarkCase]?.ResultStatistics is not { } stats
            || Activator.CreateInstance(benchmarkCase.Descriptor.Type) is not IFlopBenchmark benchmark)
        {
            return "-";
        }

        double flops = benchmark.FlopsFor(benchmarkCase);
        if (flops <= 0)
        {
            return "-";
        }

        double gflops = flops / stats.Mean; // flop per ns = GFLOP/s
        if (_kind == Kind.Gflops)
        {
            return gflops.ToString("F1", CultureInfo.InvariantCulture);
        }

        (IsaPath isa, bool isDouble, int cores) = benchmark.PathFor(benchmarkCase);
        isa = IsaJobs.Limit(benchmarkCase.Job, isa);
        IsaPath peakPath = _kind == Kind.PathPeak ? isa : Isa.Best;
        double peak = isDouble ? MachinePeak.GigaflopsPerSecond<double>(peakPath, cores) : MachinePeak.GigaflopsPerSecond<float>(peakPath, cores);
        return (100 * gflops / peak).ToString("F0", CultureInfo.InvariantCulture) + "%";
    }
}
