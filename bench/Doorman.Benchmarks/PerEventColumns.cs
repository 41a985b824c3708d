using System.Globalization;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace Doorman.Benchmarks;

/// <summary>Per-event figures from a benchmark whose parameter <c>Events</c> is the batch's event count.</summary>
public sealed class PerEventColumn(string name, string legend, Func<Summary, BenchmarkCase, int, string> value) : IColumn
{
    public static readonly IColumn EventsPerSecond = new PerEventColumn("Events/s", "Timeline events handled per second (Events ÷ Mean)",
        (summary, benchmark, events) => summary[benchmark]?.ResultStatistics is { } stats
            ? (events / (stats.Mean / 1e9)).ToString("N0", CultureInfo.InvariantCulture)
            : "?");

    public static readonly IColumn AllocatedPerEvent = new PerEventColumn("Alloc/event", "Managed bytes allocated per timeline event (Allocated ÷ Events)",
        (summary, benchmark, events) => summary[benchmark]?.GcStats is { } gc && gc.GetBytesAllocatedPerOperation(benchmark) is { } bytes
            ? (bytes / (double)events).ToString("N0", CultureInfo.InvariantCulture) + " B"
            : "?");

    public string Id => nameof(PerEventColumn) + "." + ColumnName;

    public string ColumnName => name;

    public bool AlwaysShow => true;

    public ColumnCategory Category => ColumnCategory.Custom;

    public int PriorityInCategory => 0;

    public bool IsNumeric => true;

    public UnitType UnitType => UnitType.Dimensionless;

    public string Legend => legend;

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    public bool IsAvailable(Summary summary) => true;

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style) =>
        benchmarkCase.Parameters["Events"] is int events ? value(summary, benchmarkCase, events) : "-";

    public override string ToString() => ColumnName;
}
