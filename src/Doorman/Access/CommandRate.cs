namespace Doorman.Access;

/// <summary>How fast one person may send the bot commands: <see cref="PerMinute"/> on average, <see cref="Burst"/> in a row.</summary>
public sealed record CommandRate(int PerMinute, int Burst)
{
    /// <summary>How long one token takes to come back.</summary>
    public TimeSpan Interval => TimeSpan.FromTicks(TimeSpan.TicksPerMinute / PerMinute);

    /// <summary>How long an empty bucket takes to fill.</summary>
    public TimeSpan Window => TimeSpan.FromTicks(Interval.Ticks * Burst);
}

/// <summary>
/// One person's token bucket: it holds up to <see cref="CommandRate.Burst"/> tokens and gains one every
/// <see cref="CommandRate.Interval"/>; each command takes one, and a command that finds none is refused and takes
/// nothing. Kept as the instant the bucket will be full again (tokens now = Burst − (FullAt − now) / Interval), so
/// the arithmetic is on whole ticks, nothing needs updating while the person is quiet, and a full bucket is the same
/// as none at all. Pure: the caller passes <c>now</c>.
/// </summary>
/// <param name="Told">
/// Since their last accepted command, the person has been told when to try again: further refusals are silent.
/// </param>
public readonly record struct RateBucket(DateTimeOffset FullAt, bool Told)
{
    /// <summary>A bucket nobody has taken from.</summary>
    public static RateBucket Full => new(DateTimeOffset.MinValue, false);

    /// <summary>Full again: keeping it or forgetting it makes no difference.</summary>
    public bool IsFull(DateTimeOffset now) => FullAt <= now;

    /// <summary>Takes a token for one command at <paramref name="now"/>, if there is one.</summary>
    public RateDecision Take(DateTimeOffset now, CommandRate rate)
    {
        var from = FullAt > now ? FullAt : now;
        var fullAfter = Instants.AddSaturating(from, rate.Interval);
        if (fullAfter - now <= rate.Window)
            return new RateDecision(true, new RateBucket(fullAfter, Told: false), now);
        // Refused: unchanged. A token is back once the bucket is within one window of full.
        return new RateDecision(false, this, Instants.AddSaturating(fullAfter, -rate.Window));
    }

    /// <summary>The person has now been told when to try again.</summary>
    public RateBucket Tell() => this with { Told = true };
}

/// <param name="Allowed">The command may go ahead.</param>
/// <param name="Bucket">The bucket after this command.</param>
/// <param name="RetryAt">When refused: the first instant a command would be accepted.</param>
public readonly record struct RateDecision(bool Allowed, RateBucket Bucket, DateTimeOffset RetryAt)
{
    /// <summary>Refused, and the person has not been told yet since their last accepted command.</summary>
    public bool MustTell => !Allowed && !Bucket.Told;
}
