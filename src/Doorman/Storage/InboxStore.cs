using Doorman.Access;

namespace Doorman.Storage;

/// <summary>What an inbox item is. Stored as lowercase text (<c>inbox.kind</c>).</summary>
public enum InboxKind
{
    /// <summary>The bot was invited to a room; the payload is the invite's member event (stripped state).</summary>
    Invite,
    /// <summary>A room event to act on (a command, a knock, an encrypted message, a membership or power change).</summary>
    Event,
    /// <summary>Look up the knocks pending on a gated room (after a fresh session, or a gap).</summary>
    Knocks,
    /// <summary>A sync left events out of a room's timeline: fetch them (<c>/messages</c>) and add them in their place.</summary>
    Gap,
}

public sealed record InboxItem(long Id, string RoomId, double Position, InboxKind Kind, string? EventId, string Payload, long Attempts);

/// <summary>
/// The inbox (migration 0005): items written with the sync token that brought them, handled one by one, in order
/// within a room; each is done, or retried later, or quarantined with its error.
/// </summary>
public sealed class InboxStore
{
    private const string Columns =
        "id AS Id, room_id AS RoomId, position AS Position, kind AS Kind, event_id AS EventId, payload AS Payload, attempts AS Attempts";

    /// <summary>Adds an item at the end of its room; false when it is there already (the same event, a pending invite or scan).</summary>
    public async Task<bool> AddAsync(ITx tx, string roomId, InboxKind kind, string? eventId, string payload, DateTimeOffset now)
    {
        var id = await tx.ExecuteScalarAsync<long?>(
            """
            INSERT INTO inbox (room_id, position, kind, event_id, payload, status, next_attempt_at, created_at, updated_at)
            VALUES (@roomId, 0, @kind, @eventId, @payload, 'pending', @now, @now, @now)
            ON CONFLICT DO NOTHING
            RETURNING id
            """, new { roomId, kind = DbText.Of(kind), eventId, payload, now = UnixMs.From(now) });
        if (id is not { } added)
            return false;
        await tx.ExecuteAsync("UPDATE inbox SET position = id WHERE id = @added", new { added });
        return true;
    }

    /// <summary>Adds an event fetched from a gap, between the gap's item and whatever came after it in the room.</summary>
    public async Task<bool> InsertAtAsync(ITx tx, string roomId, double position, string eventId, string payload, DateTimeOffset now) =>
        await tx.ExecuteAsync(
            """
            INSERT INTO inbox (room_id, position, kind, event_id, payload, status, next_attempt_at, created_at, updated_at)
            VALUES (@roomId, @position, 'event', @eventId, @payload, 'pending', @now, @now, @now)
            ON CONFLICT DO NOTHING
            """, new { roomId, position, eventId, payload, now = UnixMs.From(now) }) == 1;

    /// <summary>The first pending item of each room, when it is due: a room's items are handled strictly in order.</summary>
    public async Task<IReadOnlyList<InboxItem>> NextPerRoomAsync(ITx tx, DateTimeOffset now, int limit) =>
        (await tx.QueryAsync<Row>(
            $"""
            SELECT {Columns} FROM inbox i
            WHERE i.status = 'pending' AND i.next_attempt_at <= @now
              AND NOT EXISTS (SELECT 1 FROM inbox e WHERE e.status = 'pending' AND e.room_id = i.room_id AND e.position < i.position)
            ORDER BY i.id LIMIT @limit
            """, new { now = UnixMs.From(now), limit })).Select(r => r.ToItem()).ToList();

    public Task DoneAsync(ITx tx, long id, DateTimeOffset now) =>
        tx.ExecuteAsync("UPDATE inbox SET status = 'done', attempts = attempts + 1, updated_at = @now WHERE id = @id AND status = 'pending'",
            new { id, now = UnixMs.From(now) });

    public Task RetryLaterAsync(ITx tx, long id, string error, DateTimeOffset at, DateTimeOffset now) =>
        tx.ExecuteAsync("UPDATE inbox SET attempts = attempts + 1, last_error = @error, next_attempt_at = @at, updated_at = @now WHERE id = @id AND status = 'pending'",
            new { id, error, at = UnixMs.From(at), now = UnixMs.From(now) });

    public Task QuarantineAsync(ITx tx, long id, string error, DateTimeOffset now) =>
        tx.ExecuteAsync("UPDATE inbox SET status = 'quarantined', attempts = attempts + 1, last_error = @error, updated_at = @now WHERE id = @id AND status = 'pending'",
            new { id, error, now = UnixMs.From(now) });

    /// <summary>Forgets finished items: done ones after <paramref name="doneBefore"/>, quarantined ones after <paramref name="quarantinedBefore"/>.</summary>
    public Task<int> PruneAsync(ITx tx, DateTimeOffset doneBefore, DateTimeOffset quarantinedBefore) =>
        tx.ExecuteAsync("DELETE FROM inbox WHERE (status = 'done' AND updated_at < @done) OR (status = 'quarantined' AND updated_at < @quarantined)",
            new { done = UnixMs.From(doneBefore), quarantined = UnixMs.From(quarantinedBefore) });

    private sealed record Row(long Id, string RoomId, double Position, string Kind, string? EventId, string Payload, long Attempts)
    {
        public InboxItem ToItem() => new(Id, RoomId, Position, DbText.Parse<InboxKind>(Kind), EventId, Payload, Attempts);
    }
}
