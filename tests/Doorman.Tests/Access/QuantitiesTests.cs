using Doorman.Access;

namespace Doorman.Tests.Access;

public sealed class QuantitiesTests
{
    [Theory]
    [InlineData("1", 1)]
    [InlineData("1000", 1000)]
    [InlineData("1,000", 1000)]
    [InlineData("21_000", 21000)]
    [InlineData("2100000000000000", 2_100_000_000_000_000)]
    [InlineData("007", 7)]
    public void Whole_positive_sats_are_accepted(string text, long expected)
    {
        Assert.Equal(expected, Quantities.ParseSats(text, out var error));
        Assert.Null(error);
    }

    [Theory]
    [InlineData("0", "at least 1 sat")]
    [InlineData("-5", "negative")]
    [InlineData("1.5", "fraction")]
    [InlineData("abc", "not a number")]
    [InlineData("", "not a number")]
    [InlineData("1,00", "not a number")]
    [InlineData("1e6", "not a number")]
    [InlineData("2100000000000001", "more than 21 million bitcoin")]
    [InlineData("99999999999999999999999999", "more than 21 million bitcoin")]
    [InlineData("１０", "not a number")]
    public void Bad_amounts_are_refused_with_a_reason(string text, string reason)
    {
        Assert.Null(Quantities.ParseSats(text, out var error));
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("90s", 90)]
    [InlineData("5m", 300)]
    [InlineData("2h", 7200)]
    [InlineData("30d", 2_592_000)]
    [InlineData("1w", 604_800)]
    [InlineData("30D", 2_592_000)]
    [InlineData("3653d", 315_619_200)]
    public void Durations_are_an_integer_and_a_unit(string text, long seconds)
    {
        Assert.Equal(TimeSpan.FromSeconds(seconds), Quantities.ParseDuration(text, out var error));
        Assert.Null(error);
    }

    [Theory]
    [InlineData("0d", "longer than zero")]
    [InlineData("30", "not a duration")]
    [InlineData("d", "not a duration")]
    [InlineData("1.5d", "not a duration")]
    [InlineData("-1d", "not a duration")]
    [InlineData("30y", "not a duration")]
    [InlineData("3654d", "longer than the longest period")]
    [InlineData("99999999999999999999w", "longer than the longest period")]
    public void Bad_durations_are_refused_with_a_reason(string text, string reason)
    {
        Assert.Null(Quantities.ParseDuration(text, out var error));
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1, "1 sat")]
    [InlineData(1000, "1,000 sats")]
    [InlineData(2_100_000_000_000_000, "2,100,000,000,000,000 sats")]
    public void Sats_are_shown_with_thousands_separators(long sats, string shown) => Assert.Equal(shown, Quantities.FormatSats(sats));

    [Theory]
    [InlineData(2_592_000, "30 days")]
    [InlineData(1_209_600, "2 weeks")]
    [InlineData(90, "90 seconds")]
    [InlineData(3600, "1 hour")]
    [InlineData(86_400, "1 day")]
    public void Durations_are_shown_in_the_largest_exact_unit(long seconds, string shown) =>
        Assert.Equal(shown, Quantities.FormatDuration(TimeSpan.FromSeconds(seconds)));

    private static readonly DateTimeOffset Now = new(2026, 12, 22, 18, 30, 0, TimeSpan.Zero);

    [Theory]
    [InlineData(3 * 86_400.0, "2026-12-25 18:30 UTC (3 days from now)")]
    [InlineData(25 * 3600.0, "2026-12-23 19:30 UTC (tomorrow)")]
    [InlineData(2 * 3600.0, "2026-12-22 20:30 UTC (2 hours from now)")]
    [InlineData(14 * 86_400.0, "2027-01-05 18:30 UTC (14 days from now)")]
    public void Future_times_say_how_far_ahead_they_are(double seconds, string shown) =>
        Assert.Equal(shown, Quantities.FormatWhen(Now.AddSeconds(seconds), Now));

    [Theory]
    [InlineData(-(2 * 86_400.0 + 8.5 * 3600), "2026-12-20 10:00 UTC (2 days ago)")]
    [InlineData(-5 * 60.0, "2026-12-22 18:25 UTC (5 minutes ago)")]
    [InlineData(-25 * 3600.0, "2026-12-21 17:30 UTC (yesterday)")]
    public void Past_times_say_how_long_ago_they_were(double seconds, string shown) =>
        Assert.Equal(shown, Quantities.FormatWhen(Now.AddSeconds(seconds), Now));

    [Theory]
    [InlineData(0.0, "2026-12-22 18:30 UTC (now)")]
    [InlineData(0.2, "2026-12-22 18:30 UTC (now)")]
    [InlineData(-0.2, "2026-12-22 18:29 UTC (now)")]
    public void A_time_within_half_a_second_is_now(double seconds, string shown) =>
        Assert.Equal(shown, Quantities.FormatWhen(Now.AddSeconds(seconds), Now));

    [Fact]
    public void Times_years_away_are_counted_in_years()
    {
        Assert.Equal("2029-12-22 18:30 UTC (3 years from now)", Quantities.FormatWhen(Now.AddYears(3), Now));
        Assert.Equal("2016-12-22 18:30 UTC (10 years ago)", Quantities.FormatWhen(Now.AddYears(-10), Now));
    }

    [Fact]
    public void A_time_given_in_another_offset_is_shown_in_UTC_and_compared_as_the_same_instant()
    {
        var inBerlin = new DateTimeOffset(2026, 12, 25, 19, 30, 0, TimeSpan.FromHours(1));
        var nowInTokyo = Now.ToOffset(TimeSpan.FromHours(9));
        Assert.Equal("2026-12-25 18:30 UTC (3 days from now)", Quantities.FormatWhen(inBerlin, nowInTokyo));
    }
}
