namespace Doorman.Storage;

/// <summary>The one time convention of the database: Unix milliseconds, UTC.</summary>
public static class UnixMs
{
    private static readonly long Min = DateTimeOffset.MinValue.ToUnixTimeMilliseconds();
    private static readonly long Max = DateTimeOffset.MaxValue.ToUnixTimeMilliseconds();

    public static long From(DateTimeOffset time) => time.ToUnixTimeMilliseconds();

    public static long? From(DateTimeOffset? time) => time?.ToUnixTimeMilliseconds();

    /// <summary>
    /// Saturating, like the core's time arithmetic (<c>Instants.AddSaturating</c>): SQL may add a grace period to
    /// an expiry already at <see cref="DateTimeOffset.MaxValue"/>, and reading that back must not throw.
    /// </summary>
    public static DateTimeOffset To(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(Math.Clamp(ms, Min, Max));

    public static DateTimeOffset? To(long? ms) => ms is { } v ? To(v) : null;
}
