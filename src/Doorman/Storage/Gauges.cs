namespace Doorman.Storage;

/// <summary>A queue's pending items and when the oldest was queued (Unix ms; null when empty).</summary>
public sealed record QueueDepth(string Queue, long Depth, long? OldestCreatedAt);

/// <summary>The numbers <c>/metrics</c> reads from the database at each scrape (Hosting/MetricsSampler.cs).</summary>
public static class Gauges
{
    /// <summary>The pending items of the three queues: messages to send, invites and kicks to do, inbox items to handle.</summary>
    public static async Task<IReadOnlyList<QueueDepth>> QueuesAsync(Tx tx)
    {
        var rows = await tx.QueryAsync<(string Queue, long Depth, long? OldestCreatedAt)>("""
            SELECT 'messages', COUNT(*), MIN(created_at) FROM outgoing_messages WHERE status = 'pending'
            UNION ALL
            SELECT 'membership', COUNT(*), MIN(created_at) FROM membership_actions WHERE status = 'pending'
            UNION ALL
            SELECT 'inbox', COUNT(*), MIN(created_at) FROM inbox WHERE status = 'pending'
            """);
        return [.. rows.Select(r => new QueueDepth(r.Queue, r.Depth, r.OldestCreatedAt))];
    }

    /// <summary>Subscriptions not yet claimed for removal (running, or in their grace), by source: paid, grant, trial.</summary>
    public static async Task<IReadOnlyDictionary<string, long>> ActiveSubscriptionsAsync(Tx tx)
    {
        var rows = await tx.QueryAsync<(string Source, long Count)>("SELECT source, COUNT(*) FROM subscriptions WHERE expired_at IS NULL GROUP BY source");
        return rows.ToDictionary(r => r.Source, r => r.Count, StringComparer.Ordinal);
    }
}
