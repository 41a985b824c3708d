using Doorman.Access;

namespace Doorman.Storage;

/// <summary>Event ids already acted on (DESIGN rule 7): a repeated sync batch never runs a command twice.</summary>
public sealed class HandledEvents
{
    public async Task<bool> IsHandledAsync(ITx tx, string eventId) =>
        await tx.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM handled_events WHERE event_id = @eventId", new { eventId }) > 0;

    /// <summary>Records the event; false if it was already recorded (another handler got there first).</summary>
    public async Task<bool> MarkAsync(ITx tx, string eventId, string roomId, DateTimeOffset now) =>
        await tx.ExecuteAsync("INSERT INTO handled_events (event_id, room_id, handled_at) VALUES (@eventId, @roomId, @at) ON CONFLICT DO NOTHING",
            new { eventId, roomId, at = UnixMs.From(now) }) == 1;

    /// <summary>Forgets old ids: a sync never repeats events older than its stored token.</summary>
    public Task<int> PruneAsync(ITx tx, DateTimeOffset olderThan) =>
        tx.ExecuteAsync("DELETE FROM handled_events WHERE handled_at < @at", new { at = UnixMs.From(olderThan) });
}
