namespace Doorman.Sandbox.Homeserver;

/// <summary>
/// Synapse's <c>rc_message</c> limiter (synapse/api/ratelimiting.py): a leaky bucket per user that drains at
/// <see cref="RateLimit.PerSecond"/> and holds at most <see cref="RateLimit.Burst"/> actions. A refused action
/// is not counted. The wait it reports is when the bucket next has room, as Synapse computes it.
/// Not thread-safe on its own: only used under the engine lock.
/// </summary>
internal sealed class MessageRateLimiter(TimeProvider time, RateLimit? limit)
{
    private readonly Dictionary<string, Bucket> _buckets = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Queue<TimeSpan>> _forced = new(StringComparer.Ordinal);
    private readonly HashSet<string> _exempt = new(StringComparer.Ordinal);

    /// <summary>Null when the action may go ahead (and is counted); otherwise how long to wait, in milliseconds.</summary>
    public long? TryAcquire(string userId)
    {
        if (_forced.TryGetValue(userId, out var forced) && forced.TryDequeue(out var retryAfter))
        {
            return (long)retryAfter.TotalMilliseconds;
        }

        if (limit is null || _exempt.Contains(userId))
        {
            return null;
        }

        var now = time.GetUtcNow().ToUnixTimeMilliseconds() / 1000.0;
        var bucket = _buckets.GetValueOrDefault(userId) ?? new Bucket(0, now);

        // Tokens leak from the moment the bucket was last empty; an empty bucket restarts the clock.
        var held = bucket.Count - ((now - bucket.Start) * limit.PerSecond);
        if (held <= 0)
        {
            bucket = new Bucket(0, now);
            held = 0;
        }

        if (held > limit.Burst - 1)
        {
            var allowedAt = bucket.Start + ((bucket.Count - limit.Burst + 1) / limit.PerSecond);
            return Math.Max(0, (long)(1000 * (allowedAt - now)));
        }

        _buckets[userId] = bucket with { Count = bucket.Count + 1 };
        return null;
    }

    /// <summary>The next <paramref name="count"/> limited actions of the user are refused with this wait, whatever the bucket says.</summary>
    public void ForceNext(string userId, int count, TimeSpan retryAfter)
    {
        if (!_forced.TryGetValue(userId, out var queue))
        {
            queue = new Queue<TimeSpan>();
            _forced[userId] = queue;
        }

        for (var i = 0; i < count; i++)
        {
            queue.Enqueue(retryAfter);
        }
    }

    /// <summary>The user's actions are never limited, as after Synapse's <c>override_ratelimit</c> with zeros.</summary>
    public void Exempt(string userId) => _exempt.Add(userId);

    private sealed record Bucket(double Count, double Start);
}
