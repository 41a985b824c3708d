using Doorman.Access;

namespace Doorman.Storage;

/// <summary>What an outgoing message's <c>content</c> holds. Stored as lowercase text (<c>outgoing_messages.kind</c>).</summary>
public enum MessageKind
{
    /// <summary>An <c>m.room.message</c> content object.</summary>
    Message,

    /// <summary><c>{"data": …, "body": …}</c>: render a QR code of data, upload it, send an <c>m.image</c>.</summary>
    Qr,

    /// <summary><c>{"fileName": …, "mimeType": …, "body": …, "data": base64}</c>: upload data, send an <c>m.file</c>.</summary>
    File,
}

/// <param name="RoomId">Null for a DM whose room is found or made when sending.</param>
public sealed record OutgoingMessage(long Id, string? RoomId, string? UserId, string TxnId, MessageKind Kind, string Content, long Attempts);

/// <summary>
/// The outbox of chat messages. Replies are queued in the same transaction as the decision they report, with
/// the transaction id chosen now, so a crash between deciding and sending neither loses nor doubles a message.
/// </summary>
public sealed class MessageStore
{
    private const string Columns =
        "id AS Id, room_id AS RoomId, user_id AS UserId, txn_id AS TxnId, kind AS Kind, content AS Content, attempts AS Attempts";

    public Task EnqueueAsync(ITx tx, string? roomId, string? userId, MessageKind kind, string content, DateTimeOffset now) =>
        tx.ExecuteAsync(
            """
            INSERT INTO outgoing_messages (room_id, user_id, txn_id, kind, content, status, next_attempt_at, created_at, updated_at)
            VALUES (@roomId, @userId, @txnId, @kind, @content, 'pending', @now, @now, @now)
            """, new { roomId, userId, txnId = "doorman." + Ulid.New(now), kind = DbText.Of(kind), content, now = UnixMs.From(now) });

    /// <summary>
    /// The next message to send for each destination (room, or DM peer), oldest first: messages to one
    /// destination go out strictly in order, and a message waiting on a retry holds back only its own destination.
    /// </summary>
    public async Task<IReadOnlyList<OutgoingMessage>> NextPerDestinationAsync(ITx tx, DateTimeOffset now, int limit) =>
        (await tx.QueryAsync<Row>(
            $"""
            SELECT {Columns} FROM outgoing_messages m
            WHERE m.status = 'pending' AND m.next_attempt_at <= @now
              AND NOT EXISTS (SELECT 1 FROM outgoing_messages e WHERE e.status = 'pending' AND e.id < m.id
                              AND COALESCE(e.user_id, e.room_id) = COALESCE(m.user_id, m.room_id))
            ORDER BY m.id LIMIT @limit
            """, new { now = UnixMs.From(now), limit })).Select(r => r.ToMessage()).ToList();

    public Task MarkSentAsync(ITx tx, long id, string eventId, DateTimeOffset now) =>
        tx.ExecuteAsync("UPDATE outgoing_messages SET status = 'sent', event_id = @eventId, attempts = attempts + 1, updated_at = @now WHERE id = @id",
            new { id, eventId, now = UnixMs.From(now) });

    public Task MarkFailedAsync(ITx tx, long id, string error, DateTimeOffset now) =>
        tx.ExecuteAsync("UPDATE outgoing_messages SET status = 'failed', last_error = @error, attempts = attempts + 1, updated_at = @now WHERE id = @id",
            new { id, error, now = UnixMs.From(now) });

    public Task RetryLaterAsync(ITx tx, long id, string error, DateTimeOffset at, DateTimeOffset now) =>
        tx.ExecuteAsync("UPDATE outgoing_messages SET attempts = attempts + 1, last_error = @error, next_attempt_at = @at, updated_at = @now WHERE id = @id",
            new { id, error, at = UnixMs.From(at), now = UnixMs.From(now) });

    /// <summary>Forgets messages sent or given up before <paramref name="olderThan"/>; pending ones are never pruned.</summary>
    public Task<int> PruneAsync(ITx tx, DateTimeOffset olderThan) =>
        tx.ExecuteAsync("DELETE FROM outgoing_messages WHERE status <> 'pending' AND updated_at < @at", new { at = UnixMs.From(olderThan) });

    private sealed record Row(long Id, string? RoomId, string? UserId, string TxnId, string Kind, string Content, long Attempts)
    {
        public OutgoingMessage ToMessage() => new(Id, RoomId, UserId, TxnId, DbText.Parse<MessageKind>(Kind), Content, Attempts);
    }
}
