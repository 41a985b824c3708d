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
            SELECT id AS Id, room_id AS RoomId, user_id AS UserId, action AS Action, reason AS Reason, cause AS Cause, attempts AS Attempts,
                   reported_at AS ReportedAt
            FROM membership_actions WHERE status = 'pending' AND next_attempt_at <= @now ORDER BY id LIMIT @limit
            """, new { now = UnixMs.From(now), limit }))
            .Select(r => new MembershipAction(r.Id, r.RoomId, r.UserId, DbText.Parse<MembershipActionKind>(r.Action), r.Reason, r.Cause, r.Attempts,
                UnixMs.To(r.ReportedAt))).ToList();

    /// <summary>
    /// Outcome: done, skipped (nothing to do, with why), failed (cannot be done, with why) or awaiting power (an invite
    /// the bot lacked the power for). The last two mark the failure reported, the first time.
    /// </summary>
    public Task FinishAsync(ITx tx, long id, MembershipActionStatus status, string? note, DateTimeOffset now) =>
        tx.ExecuteAsync(
            """
            UPDATE membership_actions SET status = @status, last_error = @note, attempts = attempts + 1, updated_at = @now,
                   reported_at = CASE WHEN @status IN ('failed', 'awaiting_power') THEN COALESCE(reported_at, @now) ELSE reported_at END
            WHERE id = @id AND status = 'pending'
            """, new { id, status = DbText.Of(status), note, now = UnixMs.From(now) });

    /// <summary>
    /// Queues the room's invites that wait for power again, with a fresh retry budget. Invites still pending are stamped
    /// too, so one whose attempt failed for lack of power just before the change does not go back to waiting.
    /// </summary>
    public async Task<int> RequeueAwaitingPowerAsync(ITx tx, string roomId, DateTimeOffset now)
    {
        var at = UnixMs.From(now);
        await tx.ExecuteAsync("UPDATE membership_actions SET power_changed_at = @at WHERE room_id = @roomId AND action = 'invite' AND status = 'pending'",
            new { roomId, at });
        return await tx.ExecuteAsync(
            """
            UPDATE membership_actions SET status = 'pending', attempts = 0, next_attempt_at = @at, power_changed_at = @at, updated_at = @at
            WHERE room_id = @roomId AND action = 'invite' AND status = 'awaiting_power'
            """, new { roomId, at });
    }

    /// <summary>
    /// An invite failed because the bot lacked power: it waits for power (marked reported, the first time) — unless the
    /// room's power levels changed since <paramref name="attemptStarted"/>, when it is due again at once. True if it waits.
    /// </summary>
    public async Task<bool> AwaitPowerAsync(ITx tx, long id, string note, DateTimeOffset attemptStarted, DateTimeOffset now) =>
        await tx.ExecuteScalarAsync<string>(
            """
            UPDATE membership_actions
            SET status = CASE WHEN COALESCE(power_changed_at, 0) < @started THEN 'awaiting_power' ELSE 'pending' END,
                attempts = attempts + 1, next_attempt_at = @now, last_error = @note, updated_at = @now,
                reported_at = COALESCE(reported_at, @now)
            WHERE id = @id AND status = 'pending'
            RETURNING status
            """, new { id, note, started = UnixMs.From(attemptStarted), now = UnixMs.From(now) }) == "awaiting_power";

    public Task RetryLaterAsync(ITx tx, long id, string error, DateTimeOffset at, DateTimeOffset now) =>
        tx.ExecuteAsync("UPDATE membership_actions SET attempts = attempts + 1, last_error = @error, next_attempt_at = @at, updated_at = @now WHERE id = @id AND status = 'pending'",
            new { id, error, at = UnixMs.From(at), now = UnixMs.From(now) });

    /// <summary>
    /// Forgets actions finished before <paramref name="olderThan"/> (orders and subscriptions stay: they are the record).
    /// Pending ones, and invites waiting for power, are never pruned.
    /// </summary>
    public Task<int> PruneAsync(ITx tx, DateTimeOffset olderThan) =>
        tx.ExecuteAsync("DELETE FROM membership_actions WHERE status IN ('done', 'skipped', 'failed') AND updated_at < @at", new { at = UnixMs.From(olderThan) });

    private sealed record Row(long Id, string RoomId, string UserId, string Action, string? Reason, string Cause, long Attempts, long? ReportedAt);
}
