using Doorman.Access;

namespace Doorman.Storage;

/// <summary>
/// The outbox of invites and kicks (DESIGN §3 "Outbox"): rows are written in the same transaction as the
/// decision, then carried out by <c>MembershipWorker</c>; a row not carried out before a crash is carried out after.
/// </summary>
public sealed class MembershipActionStore : IMembershipActions
{
    public Task EnqueueAsync(ITx tx, string roomId, string userId, MembershipActionKind action, string? reason, string cause, DateTimeOffset now) =>
        tx.ExecuteAsync(
            """
            INSERT INTO membership_actions (room_id, user_id, action, reason, cause, status, next_attempt_at, created_at, updated_at)
            VALUES (@roomId, @userId, @action, @reason, @cause, 'pending', @now, @now, @now)
            """, new { roomId, userId, action = DbText.Of(action), reason, cause, now = UnixMs.From(now) });

    public async Task<IReadOnlyList<MembershipAction>> DueAsync(ITx tx, DateTimeOffset now, int limit) =>
        (await tx.QueryAsync<Row>(
            """
            SELECT id AS Id, room_id AS RoomId, user_id AS UserId, action AS Action, reason AS Reason, cause AS Cause, attempts AS Attempts
            FROM membership_actions WHERE status = 'pending' AND next_attempt_at <= @now ORDER BY id LIMIT @limit
            """, new { now = UnixMs.From(now), limit }))
            .Select(r => new MembershipAction(r.Id, r.RoomId, r.UserId, DbText.Parse<MembershipActionKind>(r.Action), r.Reason, r.Cause, r.Attempts)).ToList();

    /// <summary>Final outcome: done, skipped (nothing to do, with why) or failed (cannot be done, with why).</summary>
    public Task FinishAsync(ITx tx, long id, MembershipActionStatus status, string? note, DateTimeOffset now) =>
        tx.ExecuteAsync("UPDATE membership_actions SET status = @status, last_error = @note, attempts = attempts + 1, updated_at = @now WHERE id = @id AND status = 'pending'",
            new { id, status = DbText.Of(status), note, now = UnixMs.From(now) });

    public Task RetryLaterAsync(ITx tx, long id, string error, DateTimeOffset at, DateTimeOffset now) =>
        tx.ExecuteAsync("UPDATE membership_actions SET attempts = attempts + 1, last_error = @error, next_attempt_at = @at, updated_at = @now WHERE id = @id AND status = 'pending'",
            new { id, error, at = UnixMs.From(at), now = UnixMs.From(now) });

    /// <summary>Forgets actions finished before <paramref name="olderThan"/> (orders and subscriptions stay: they are the record); pending ones are never pruned.</summary>
    public Task<int> PruneAsync(ITx tx, DateTimeOffset olderThan) =>
        tx.ExecuteAsync("DELETE FROM membership_actions WHERE status <> 'pending' AND updated_at < @at", new { at = UnixMs.From(olderThan) });

    private sealed record Row(long Id, string RoomId, string UserId, string Action, string? Reason, string Cause, long Attempts);
}
