namespace Doorman.Access;

/// <summary>Arithmetic on instants that cannot throw. Pure functions.</summary>
public static class Instants
{
    /// <summary>
    /// <paramref name="time"/> plus <paramref name="span"/>, in UTC, saturating: a sum past the last instant
    /// <see cref="DateTimeOffset"/> can hold (9999-12-31) is <see cref="DateTimeOffset.MaxValue"/>, one before the
    /// first is <see cref="DateTimeOffset.MinValue"/>. <c>+</c> would throw instead, and a throw in the middle of
    /// applying a payment would leave the money received and nothing granted.
    /// </summary>
    public static DateTimeOffset AddSaturating(DateTimeOffset time, TimeSpan span)
    {
        var ticks = time.UtcTicks;
        if (span.Ticks > 0 && span.Ticks > DateTimeOffset.MaxValue.UtcTicks - ticks)
            return DateTimeOffset.MaxValue;
        if (span.Ticks < 0 && span.Ticks < DateTimeOffset.MinValue.UtcTicks - ticks)
            return DateTimeOffset.MinValue;
        return new DateTimeOffset(ticks + span.Ticks, TimeSpan.Zero);
    }
}
