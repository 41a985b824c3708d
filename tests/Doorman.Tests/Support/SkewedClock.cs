namespace Doorman.Tests.Support;

/// <summary>
/// The real clock, moved forward by <see cref="Ahead"/>: a bot whose clock runs ahead of its payment node's (or jumps, as
/// after a long sleep). Timers and delays still run in real time, so everything else in the bot keeps moving.
/// </summary>
public sealed class SkewedClock : TimeProvider
{
    private long _aheadTicks;

    public TimeSpan Ahead
    {
        get => TimeSpan.FromTicks(Interlocked.Read(ref _aheadTicks));
        set => Interlocked.Exchange(ref _aheadTicks, value.Ticks);
    }

    public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + Ahead;
}
