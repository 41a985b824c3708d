using Doorman.Access;
using Microsoft.Extensions.Time.Testing;

namespace Doorman.Tests.Access;

/// <summary>The token bucket behind the command limit, on a controlled clock.</summary>
public sealed class CommandRateTests
{
    private static readonly CommandRate Default = new(PerMinute: 10, Burst: 5);
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero));
    private RateBucket _bucket = RateBucket.Full;

    private RateDecision Take()
    {
        var decision = _bucket.Take(_time.GetUtcNow(), Default);
        _bucket = decision.Bucket;
        return decision;
    }

    [Fact]
    public void Five_in_a_row_are_accepted_and_the_sixth_is_refused_until_a_token_is_back()
    {
        for (var i = 0; i < 5; i++)
            Assert.True(Take().Allowed);

        var refused = Take();

        Assert.False(refused.Allowed);
        Assert.Equal(_time.GetUtcNow() + TimeSpan.FromSeconds(6), refused.RetryAt);
        _time.Advance(TimeSpan.FromSeconds(6) - TimeSpan.FromTicks(1));
        Assert.False(Take().Allowed);
        _time.Advance(TimeSpan.FromTicks(1));
        Assert.True(Take().Allowed);
        Assert.False(Take().Allowed);
    }

    [Fact]
    public void A_refused_command_takes_nothing()
    {
        for (var i = 0; i < 5; i++)
            Take();
        var retryAt = Take().RetryAt;
        for (var i = 0; i < 100; i++)
            Assert.Equal(retryAt, Take().RetryAt);
        _time.Advance(TimeSpan.FromSeconds(6));
        Assert.True(Take().Allowed);
    }

    [Fact]
    public void One_command_every_six_seconds_is_never_refused()
    {
        for (var i = 0; i < 100; i++)
        {
            Assert.True(Take().Allowed);
            _time.Advance(TimeSpan.FromSeconds(6));
        }
    }

    [Fact]
    public void A_minute_of_flooding_gets_the_burst_and_one_token_every_six_seconds()
    {
        var accepted = 0;
        for (var i = 0; i < 600; i++)
        {
            if (Take().Allowed)
                accepted++;
            _time.Advance(TimeSpan.FromMilliseconds(100));
        }
        Assert.Equal(5 + 9, accepted); // tokens come back at 6, 12, …, 54 s
    }

    [Fact]
    public void The_bucket_is_full_again_after_thirty_quiet_seconds()
    {
        for (var i = 0; i < 5; i++)
            Take();
        _time.Advance(TimeSpan.FromSeconds(30) - TimeSpan.FromTicks(1));
        Assert.False(_bucket.IsFull(_time.GetUtcNow()));
        _time.Advance(TimeSpan.FromTicks(1));
        Assert.True(_bucket.IsFull(_time.GetUtcNow()));
        for (var i = 0; i < 5; i++)
            Assert.True(Take().Allowed);
    }

    [Fact]
    public void The_person_is_told_once_per_flood()
    {
        for (var i = 0; i < 5; i++)
            Take();
        Assert.True(Take().MustTell);
        _bucket = _bucket.Tell();
        Assert.False(Take().MustTell);
        Assert.False(Take().MustTell);

        _time.Advance(TimeSpan.FromSeconds(6));
        Assert.True(Take().Allowed); // accepted again: a new flood is told again
        Assert.True(Take().MustTell);
    }

    [Fact]
    public void The_clock_at_its_end_does_not_throw()
    {
        var last = DateTimeOffset.MaxValue - TimeSpan.FromSeconds(1);
        var bucket = RateBucket.Full;
        var error = Record.Exception(() =>
        {
            for (var i = 0; i < 10; i++)
                bucket = bucket.Take(last, Default).Bucket;
        });
        Assert.Null(error);
    }
}
