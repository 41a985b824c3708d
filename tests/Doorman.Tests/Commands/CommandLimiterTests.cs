using Doorman.Commands;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Doorman.Tests.Commands;

public sealed class CommandLimiterTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero));

    private CommandLimiter Limiter(int perMinute = 10, int burst = 5) =>
        new(Options.Create(new LimitsOptions { CommandsPerMinute = perMinute, CommandBurst = burst }), _time);

    [Fact]
    public void Each_person_has_their_own_bucket()
    {
        var limiter = Limiter();
        for (var i = 0; i < 5; i++)
            Assert.True(limiter.Take("@flood:hs").Allowed);
        Assert.False(limiter.Take("@flood:hs").Allowed);
        Assert.True(limiter.Take("@other:hs").Allowed);
    }

    [Fact]
    public void A_flooder_is_told_once_until_a_command_is_accepted_again()
    {
        var limiter = Limiter(burst: 1);
        Assert.True(limiter.Take("@flood:hs").Allowed);
        Assert.False(limiter.Take("@flood:hs").Allowed);
        Assert.True(limiter.Tell("@flood:hs"));
        Assert.False(limiter.Take("@flood:hs").Allowed);
        Assert.False(limiter.Tell("@flood:hs"));

        _time.Advance(TimeSpan.FromSeconds(6));
        Assert.True(limiter.Take("@flood:hs").Allowed);
        Assert.False(limiter.Take("@flood:hs").Allowed);
        Assert.True(limiter.Tell("@flood:hs"));
    }

    [Fact]
    public void The_configured_rate_applies()
    {
        var limiter = Limiter(perMinute: 60, burst: 2);
        Assert.True(limiter.Take("@a:hs").Allowed);
        Assert.True(limiter.Take("@a:hs").Allowed);
        Assert.Equal(_time.GetUtcNow() + TimeSpan.FromSeconds(1), limiter.Take("@a:hs").RetryAt);
    }

    [Fact]
    public void The_defaults_are_ten_a_minute_five_in_a_row()
    {
        var options = new LimitsOptions();
        Assert.Equal(10, options.CommandsPerMinute);
        Assert.Equal(5, options.CommandBurst);
    }

    [Fact]
    public void Bad_limits_are_all_reported_by_key()
    {
        var result = new LimitsOptionsValidator().Validate(null, new LimitsOptions { CommandsPerMinute = 0, CommandBurst = -1 });
        Assert.True(result.Failed);
        var all = string.Join("\n", result.Failures!);
        Assert.Contains("Limits:CommandsPerMinute", all, StringComparison.Ordinal);
        Assert.Contains("Limits:CommandBurst", all, StringComparison.Ordinal);
    }

    [Fact]
    public void The_defaults_are_valid() => Assert.True(new LimitsOptionsValidator().Validate(null, new LimitsOptions()).Succeeded);
}
