using System.Globalization;
using Humanizer;

namespace Doorman.Access;

/// <summary>Parsing and showing the amounts and durations owners type. Pure functions.</summary>
public static class Quantities
{
    /// <summary>21 million bitcoin in sats: no price may exceed all the bitcoin there will ever be.</summary>
    public const long MaxSats = 21_000_000L * 100_000_000L;

    /// <summary>Ten years: longer periods are almost certainly typos ("30y" for "30d").</summary>
    public static readonly TimeSpan MaxPeriod = TimeSpan.FromDays(3653);

    /// <summary>
    /// A positive whole number of sats, at most <see cref="MaxSats"/>. Digits, optionally grouped by commas or
    /// underscores in threes ("1,000", "21_000"). Returns null and an error for the member otherwise.
    /// </summary>
    public static long? ParseSats(string text, out string? error)
    {
        error = null;
        var digits = text.Replace(",", "", StringComparison.Ordinal).Replace("_", "", StringComparison.Ordinal);
        var grouped = text.Contains(',', StringComparison.Ordinal) || text.Contains('_', StringComparison.Ordinal);
        if (digits.Length == 0 || !digits.All(char.IsAsciiDigit) || (grouped && !IsGroupedInThrees(text)))
        {
            error = text.StartsWith('-') ? $"“{text}” is negative: a price is a positive whole number of sats."
                : text.Contains('.', StringComparison.Ordinal) ? $"“{text}” has a fraction: a price is a whole number of sats."
                : $"“{text}” is not a number of sats (a positive whole number, like 1000).";
            return null;
        }
        if (digits.TrimStart('0').Length > 19 || !long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var sats) || sats > MaxSats)
        {
            error = $"{text} sats is more than 21 million bitcoin ({MaxSats.ToString("N0", CultureInfo.InvariantCulture)} sats).";
            return null;
        }
        if (sats == 0)
        {
            error = "The price must be at least 1 sat.";
            return null;
        }
        return sats;
    }

    private static bool IsGroupedInThrees(string text)
    {
        var groups = text.Split(',', '_');
        return groups[0].Length is >= 1 and <= 3 && groups.Skip(1).All(g => g.Length == 3);
    }

    /// <summary>
    /// An integer and a unit: <c>s</c>, <c>m</c>, <c>h</c>, <c>d</c>, <c>w</c> (<c>90s</c>, <c>30d</c>), positive and at
    /// most <see cref="MaxPeriod"/>.
    /// </summary>
    public static TimeSpan? ParseDuration(string text, out string? error)
    {
        error = null;
        var unit = text.Length > 0 ? char.ToLowerInvariant(text[^1]) : '\0';
        var number = text.Length > 0 ? text[..^1] : "";
        long seconds = unit switch { 's' => 1, 'm' => 60, 'h' => 3600, 'd' => 86400, 'w' => 604800, _ => 0 };
        if (seconds == 0 || number.Length == 0 || !number.All(char.IsAsciiDigit))
        {
            error = $"“{text}” is not a duration: write a whole number and a unit (s, m, h, d or w), like 30d or 90s.";
            return null;
        }
        if (number.TrimStart('0').Length > 12 || !long.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out var count)
            || count * seconds > (long)MaxPeriod.TotalSeconds)
        {
            error = $"{text} is longer than the longest period, {FormatDuration(MaxPeriod)}.";
            return null;
        }
        if (count == 0)
        {
            error = "A period must be longer than zero.";
            return null;
        }
        return TimeSpan.FromSeconds(count * seconds);
    }

    /// <summary>"1,000 sats", "1 sat".</summary>
    public static string FormatSats(long sats) =>
        sats == 1 ? "1 sat" : sats.ToString("N0", CultureInfo.InvariantCulture) + " sats";

    /// <summary>In the largest unit that divides it exactly: "30 days", "2 weeks", "90 seconds", "1 hour".</summary>
    public static string FormatDuration(TimeSpan duration)
    {
        var seconds = (long)duration.TotalSeconds;
        (long Size, string Name)[] units = [(604800, "week"), (86400, "day"), (3600, "hour"), (60, "minute"), (1, "second")];
        foreach (var (size, name) in units)
        {
            if (seconds >= size && seconds % size == 0)
            {
                var count = seconds / size;
                return count.ToString("N0", CultureInfo.InvariantCulture) + " " + name + (count == 1 ? "" : "s");
            }
        }
        return "0 seconds";
    }

    /// <summary>An instant as members read it: "2026-12-25 18:30 UTC".</summary>
    public static string FormatTime(DateTimeOffset time) =>
        time.ToUniversalTime().ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture);

    /// <summary>
    /// An instant and how far it is from <paramref name="now"/>: "2026-12-25 18:30 UTC (3 days from now)",
    /// "2026-12-01 10:00 UTC (2 days ago)". In English whatever the machine's culture: the invariant culture takes
    /// Humanizer's neutral (English) words.
    /// </summary>
    public static string FormatWhen(DateTimeOffset time, DateTimeOffset now) =>
        $"{FormatTime(time)} ({time.Humanize(dateToCompareAgainst: now, culture: CultureInfo.InvariantCulture)})";
}
