namespace Doorman.Storage;

public static class MembershipActionKind
{
    public const string Invite = "invite";
    public const string Kick = "kick";
}

public sealed record MembershipAction(long Id, string RoomId, string UserId, string Action, string? Reason, string Cause, long Attempts);

/// <summary>
/// The outbox of invites and kicks (DESIGN §3 "Outbox"): rows are written in the same transaction as the
/// decision, then carried out by <c>MembershipWorker</c>; a row not carried out before a crash is carried out after.
/// </summary>
public sealed class MembershipActionStore
{
    public Task EnqueueAsync(Tx tx, string roomId, string userId, string action, string? reason, string cause, DateTimeOffset now) =>
        tx.ExecuteAsync(
            """
            INSERT INTO membership_actions (room_id, user_id, action, reason, cause, status, next_attempt_at, created_at, updated_at)
            VALUES (@roomId, @userId, @action, @reason, @cause, 'pending', @now, @now, @now)
            """, new { roomId, userId, action, reason, cause, now = UnixMs.From(now) });

    public Task<IReadOnlyList<MembershipAction>> DueAsync(Tx tx, DateTimeOffset now, int limit) =>
        tx.QueryAsync<MembershipAction>(
            """
            SELECT id AS Id, room_id AS RoomId, user_id AS UserId, action AS Action, reason AS Reason, cause AS Cause, attempts AS Attempts
            FROM membership_actions WHERE status = 'pending' AND next_attempt_at <= @now ORDER BY id LIMIT @limit
            """, new { now = UnixMs.From(now), limit });

    /// <summary>When the next pending row falls due, if any.</summary>
    public async Task<DateTimeOffset?> NextDueAsync(Tx tx) =>
        UnixMs.To(await tx.ExecuteScalarAsync<long?>("SELECT MIN(next_attempt_at) FROM membership_actions WHERE status = 'pending'"));

    /// <summary>Final outcome: 'done', 'skipped' (nothing to do, with why) or 'failed' (cannot be done, with why).</summary>
    public Task FinishAsync(Tx tx, long id, string status, string? note, DateTimeOffset now) =>
        tx.ExecuteAsync("UPDATE membership_actions SET status = @status, last_error = @note, attempts = attempts + 1, updated_at = @now WHERE id = @id AND status = 'pending'",
            new { id, status, note, now = UnixMs.From(now) });

    public Task RetryLaterAsync(Tx tx, long id, string error, DateTimeOffset at, DateTimeOffset now) =>
        tx.ExecuteAsync("UPDATE membership_actions SET attempts = attempts + 1, last_error = @error, next_attempt_at = @at, updated_at = @now WHERE id = @id AND status = 'pending'",
            new { id, error, at = UnixMs.From(at), now = UnixMs.From(now) });

    public Task<IReadOnlyList<MembershipActionRecord>> AllAsync(Tx tx, string roomId, string userId) =>
        tx.QueryAsync<MembershipActionRecord>(
            "SELECT id AS Id, action AS Action, status AS Status, last_error AS LastError FROM membership_actions WHERE room_id = @roomId AND user_id = @userId ORDER BY id",
            new { roomId, userId });
}

public sealed record MembershipActionRecord(long Id, string Action, string Status, string? LastError);
