using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Doorman.Replay;

/// <summary>One run of one bot on the replay stream.</summary>
public sealed record RunResult
{
    public static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public required string Bot { get; init; }
    public required string Mode { get; init; }
    public required string Machine { get; init; }

    /// <summary>The 1-minute load average when the run started: above ~0.5 on two cores, someone else was busy.</summary>
    public double Load { get; init; }

    /// <summary>How busy the CPUs were (%, all processes) in the second before the bot started.</summary>
    public double Busy { get; init; }

    public string? Failure { get; init; }
    public int Batches { get; init; }
    public int EventsPerBatch { get; init; }
    public int Events { get; init; }
    public int Commands { get; init; }

    /// <summary>From serving the first batch to the last reply (replies) or to the request after the last batch (sync-only).</summary>
    public double Seconds { get; init; }

    public double EventsPerSecond { get; init; }

    /// <summary>From serving the first batch to the bot asking for the one after the last: it has handled them all.</summary>
    public double SyncSeconds { get; init; }

    public double SyncEventsPerSecond { get; init; }

    /// <summary>From starting the process to serving it the first batch: start, whoami, filter, first sync.</summary>
    public double StartupSeconds { get; init; }

    public int Answered { get; init; }
    public int Missing { get; init; }
    public int Wrong { get; init; }
    public int Duplicates { get; init; }

    /// <summary>Sends repeated with the same transaction id (a retry): harmless, counted once.</summary>
    public int Retransmissions { get; init; }

    public double P50Ms { get; init; }
    public double P99Ms { get; init; }
    public double MaxMs { get; init; }
    public double? IdleRssMiB { get; init; }
    public bool? InLongPollWhenIdle { get; init; }
    public double PeakRssMiB { get; init; }

    /// <summary>CPU time (user + system, all threads) the bot used between its first sync and the end of the stream.</summary>
    public double CpuSeconds { get; init; }

    /// <summary>The slowest replies as "ms@batch" (batches count from 1).</summary>
    public IReadOnlyList<string> Slowest { get; init; } = [];

    public IReadOnlyList<string> Problems { get; init; } = [];
    public IReadOnlyList<string> Unrecognized { get; init; } = [];

    public string Summary()
    {
        var text = new StringBuilder().Append(CultureInfo.InvariantCulture, $"{Bot} [{Mode}] ");
        if (Failure is not null)
            text.Append(CultureInfo.InvariantCulture, $"FAILED ({Failure}) ");
        text.Append(CultureInfo.InvariantCulture, $"{Events} events in {Seconds:F3} s = {EventsPerSecond:F0} events/s");
        if (Mode == "replies")
        {
            text.Append(CultureInfo.InvariantCulture, $" (sync done at {SyncSeconds:F3} s); {Answered}/{Commands} answered, {Missing} missing, {Wrong} wrong, ");
            text.Append(CultureInfo.InvariantCulture, $"{Duplicates} duplicate, {Retransmissions} retransmitted; latency p50 {P50Ms:F2} ms, p99 {P99Ms:F2} ms, max {MaxMs:F2} ms");
        }
        text.Append(CultureInfo.InvariantCulture, $"; RSS idle {IdleRssMiB?.ToString("F1", CultureInfo.InvariantCulture) ?? "-"} MiB");
        text.Append(CultureInfo.InvariantCulture, $" (in long-poll: {InLongPollWhenIdle?.ToString() ?? "-"}), peak {PeakRssMiB:F1} MiB; CPU {CpuSeconds:F2} s; startup {StartupSeconds:F2} s; load {Load:F2}, busy before {Busy:F0} %");
        if (Slowest.Count > 0)
            text.Append("; slowest ms@batch: ").AppendJoin(" ", Slowest);
        if (Unrecognized.Count > 0)
            text.Append("; unrecognized: ").AppendJoin(", ", Unrecognized);
        if (Problems.Count > 0)
            text.Append("; problems: ").AppendJoin(" | ", Problems);
        return text.ToString();
    }
}

/// <summary>The side-by-side table: medians over the runs with their range, and each bot's ratio to the baseline.</summary>
public static class Report
{
    private sealed record Row(string Label, string Mode, Func<RunResult, double?> Value, string Format, string Goal);

    private static readonly Row[] Rows =
    [
        new("events/s, 1 % commands (first batch → last reply)", "replies", r => r.EventsPerSecond, "N0", "≥ 3 × baseline"),
        new("events/s, sync only (no commands)", "sync-only", r => r.SyncEventsPerSecond, "N0", ""),
        new("reply latency p50, ms", "replies", r => r.P50Ms, "F2", ""),
        new("reply latency p99, ms", "replies", r => r.P99Ms, "F2", "≤ 5 ms"),
        new("reply latency max, ms", "replies", r => r.MaxMs, "F2", ""),
        new("replies missing + wrong (of 1,000)", "replies", r => r.Missing + r.Wrong, "N0", "0"),
        new("RSS idle (long-poll, 10 s after), MiB", "replies", r => r.IdleRssMiB, "F1", "≤ 45 MB"),
        new("RSS peak, MiB", "replies", r => r.PeakRssMiB, "F1", ""),
        new("bot CPU time for the stream, s", "replies", r => r.CpuSeconds, "F2", ""),
        new("startup to first batch, s", "replies", r => r.StartupSeconds, "F2", ""),
    ];

    public static string Table(IReadOnlyList<RunResult> results, string baseline)
    {
        var bots = results.Select(r => r.Bot).Distinct().OrderBy(b => b == baseline ? 1 : 0).ThenBy(b => b, StringComparer.Ordinal).ToList();
        var text = new StringBuilder();
        var machines = results.Select(r => r.Machine).Distinct().ToList();
        text.AppendLine(CultureInfo.InvariantCulture, $"Machine: {string.Join(" / ", machines)}");
        foreach (var bot in bots)
        {
            var mine = results.Where(r => r.Bot == bot).ToList();
            text.AppendLine(CultureInfo.InvariantCulture,
                $"{bot}: {mine.Count(r => r.Mode == "replies")} runs with replies, {mine.Count(r => r.Mode == "sync-only")} sync-only; " +
                $"{mine.Count(r => r.Failure is not null)} failed; CPUs busy in the second before each run {mine.Min(r => r.Busy):F0}–{mine.Max(r => r.Busy):F0} %");
        }
        text.AppendLine("Cells: median (min–max) over the runs. Ratio: the bot's median ÷ the baseline's.");
        text.AppendLine();
        text.Append("| metric |");
        foreach (var bot in bots)
            text.Append(CultureInfo.InvariantCulture, $" {bot} |");
        foreach (var bot in bots.Where(b => b != baseline))
            text.Append(CultureInfo.InvariantCulture, $" {bot} ÷ {baseline} |");
        text.AppendLine(" goal |");
        text.Append("|---|");
        text.Append(string.Concat(Enumerable.Repeat("---:|", bots.Count + bots.Count(b => b != baseline))));
        text.AppendLine("---|");

        foreach (var row in Rows)
        {
            var medians = new Dictionary<string, double>();
            text.Append(CultureInfo.InvariantCulture, $"| {row.Label} |");
            foreach (var bot in bots)
            {
                var values = results.Where(r => r.Bot == bot && r.Mode == row.Mode && r.Failure is null)
                    .Select(row.Value).OfType<double>().Where(v => !double.IsNaN(v)).Order().ToList();
                if (values.Count == 0)
                {
                    text.Append(" – |");
                    continue;
                }
                medians[bot] = Median(values);
                text.Append(CultureInfo.InvariantCulture,
                    $" {F(medians[bot], row.Format)} ({F(values[0], row.Format)}–{F(values[^1], row.Format)}) |");
            }
            foreach (var bot in bots.Where(b => b != baseline))
            {
                text.Append(medians.TryGetValue(bot, out var mine) && medians.TryGetValue(baseline, out var theirs) && theirs != 0
                    ? string.Create(CultureInfo.InvariantCulture, $" {mine / theirs:F2} |")
                    : " – |");
            }
            text.AppendLine(CultureInfo.InvariantCulture, $" {row.Goal} |");
        }
        return text.ToString();
    }

    private static double Median(List<double> sorted) =>
        sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;

    private static string F(double value, string format) => value.ToString(format, CultureInfo.InvariantCulture);
}
