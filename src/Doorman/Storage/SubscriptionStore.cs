using Doorman.Access;

namespace Doorman.Storage;

public sealed class SubscriptionStore : ISubscriptionStore
{
    private const string Columns =
        """
        room_id AS RoomId, user_id AS UserId, expires_at AS ExpiresAt, source AS Source, expired_at AS ExpiredAt,
        plan_name AS PlanName, reminders_off AS RemindersOff
        """;

    private const string DueColumns = "s.room_id AS RoomId, s.user_id AS UserId, s.expires_at AS ExpiresAt, s.source AS Source, s.plan_name AS PlanName";

    public async Task<Subscription?> GetAsync(ITx tx, string roomId, string userId) =>
        (await tx.QuerySingleOrDefaultAsync<Row>($"SELECT {Columns} FROM subscriptions WHERE room_id = @roomId AND user_id = @userId",
            new { roomId, userId }))?.ToSubscription();

    public async Task<IReadOnlyList<Subscription>> ForMemberAsync(ITx tx, string userId) =>
        (await tx.QueryAsync<Row>($"SELECT {Columns} FROM subscriptions WHERE user_id = @userId ORDER BY room_id", new { userId }))
            .Select(r => r.ToSubscription()).ToList();

    /// <summary>The room's subscriptions not yet claimed for removal (running, lifetime, or in grace), soonest end first.</summary>
    public async Task<IReadOnlyList<Subscription>> ActiveInRoomAsync(ITx tx, string roomId) =>
        (await tx.QueryAsync<Row>(
            $"SELECT {Columns} FROM subscriptions WHERE room_id = @roomId AND expired_at IS NULL ORDER BY expires_at IS NULL, expires_at, user_id",
            new { roomId })).Select(r => r.ToSubscription()).ToList();

    public Task SetTermAsync(ITx tx, string roomId, string userId, Term term, DateTimeOffset now) =>
        tx.ExecuteAsync(
            """
            INSERT INTO subscriptions (room_id, user_id, expires_at, source, plan_name, period_seconds, remind_at, created_at, updated_at)
            VALUES (@roomId, @userId, @expiresAt, @source, @planName, @periodSeconds, @remindAt, @now, @now)
            ON CONFLICT (room_id, user_id) DO UPDATE SET
                expires_at = excluded.expires_at, source = excluded.source, plan_name = excluded.plan_name,
                period_seconds = excluded.period_seconds, remind_at = excluded.remind_at,
                reminded_at = NULL, ended_at = NULL, expired_at = NULL, updated_at = excluded.updated_at
            """,
            new
            {
                roomId, userId, expiresAt = UnixMs.From(term.ExpiresAt), source = DbText.Of(term.Source), planName = term.PlanName,
                periodSeconds = (long?)term.Period?.TotalSeconds, remindAt = UnixMs.From(term.RemindAt), now = UnixMs.From(now),
            });

    /// <summary>
    /// <c>revoke</c>: the member's time ends now and removal is claimed at once (the caller queues the kick), so the
    /// sweep neither reminds nor removes them again. False when they have no subscription.
    /// </summary>
    public async Task<bool> EndNowAsync(ITx tx, string roomId, string userId, DateTimeOffset now) =>
        await tx.ExecuteAsync(
            """
            UPDATE subscriptions SET expires_at = @now, remind_at = NULL, expired_at = @now, updated_at = @now
            WHERE room_id = @roomId AND user_id = @userId
            """, new { roomId, userId, now = UnixMs.From(now) }) == 1;

    /// <summary><c>reminders off|on</c>: the member's choice, and the reminder time that follows from it. False: no subscription.</summary>
    public async Task<bool> SetRemindersAsync(ITx tx, string roomId, string userId, bool off, DateTimeOffset? remindAt, DateTimeOffset now) =>
        await tx.ExecuteAsync(
            """
            UPDATE subscriptions SET reminders_off = @off, remind_at = @remindAt, updated_at = @now
            WHERE room_id = @roomId AND user_id = @userId
            """, new { roomId, userId, off = off ? 1 : 0, remindAt = UnixMs.From(remindAt), now = UnixMs.From(now) }) == 1;

    /// <summary>What the room's reminder times are computed from, for <c>remind</c> to recompute them.</summary>
    public async Task<IReadOnlyList<ReminderInput>> ReminderInputsAsync(ITx tx, string roomId) =>
        (await tx.QueryAsync<ReminderRow>(
            """
            SELECT user_id AS UserId, expires_at AS ExpiresAt, period_seconds AS PeriodSeconds, reminders_off AS RemindersOff
            FROM subscriptions WHERE room_id = @roomId AND expired_at IS NULL AND reminded_at IS NULL
            """, new { roomId }))
            .Select(r => new ReminderInput(r.UserId, UnixMs.To(r.ExpiresAt), r.PeriodSeconds is { } s ? TimeSpan.FromSeconds(s) : null, r.RemindersOff != 0)).ToList();

    public Task SetRemindAtAsync(ITx tx, string roomId, string userId, DateTimeOffset? remindAt) =>
        tx.ExecuteAsync("UPDATE subscriptions SET remind_at = @remindAt WHERE room_id = @roomId AND user_id = @userId",
            new { roomId, userId, remindAt = UnixMs.From(remindAt) });

    /// <summary>Subscriptions whose expiry plus their room's grace has passed and that the sweep has not handled yet.</summary>
    public async Task<IReadOnlyList<DueSubscription>> DueAsync(ITx tx, DateTimeOffset now, int limit) =>
        (await tx.QueryAsync<DueRow>(
            $"""
            SELECT {DueColumns}
            FROM subscriptions s JOIN gates g ON g.room_id = s.room_id
            WHERE s.expired_at IS NULL AND s.expires_at IS NOT NULL AND s.expires_at + g.grace_seconds * 1000 <= @now
            ORDER BY s.expires_at LIMIT @limit
            """, new { now = UnixMs.From(now), limit })).Select(r => r.ToDue()).ToList();

    /// <summary>
    /// Claims a due subscription for removal: a conditional update that succeeds once, and only if the expiry
    /// is still the one we saw (a renewal in between moves it and makes the claim fail).
    /// </summary>
    public async Task<bool> ClaimExpiryAsync(ITx tx, DueSubscription due, DateTimeOffset now) =>
        await tx.ExecuteAsync(
            """
            UPDATE subscriptions SET expired_at = @now, updated_at = @now
            WHERE room_id = @RoomId AND user_id = @UserId AND expired_at IS NULL AND expires_at = @expiresAt
            """, new { due.RoomId, due.UserId, expiresAt = UnixMs.From(due.ExpiresAt), now = UnixMs.From(now) }) == 1;

    /// <summary>Subscriptions whose reminder time has come, still running and not yet reminded.</summary>
    public async Task<IReadOnlyList<DueSubscription>> RemindersDueAsync(ITx tx, DateTimeOffset now, int limit) =>
        (await tx.QueryAsync<DueRow>(
            $"""
            SELECT {DueColumns}
            FROM subscriptions s
            WHERE s.reminded_at IS NULL AND s.expired_at IS NULL AND s.remind_at IS NOT NULL AND s.remind_at <= @now AND s.expires_at > @now
            ORDER BY s.remind_at LIMIT @limit
            """, new { now = UnixMs.From(now), limit })).Select(r => r.ToDue()).ToList();

    /// <summary>Claims a reminder once, and only for the expiry we saw (a renewal in between makes a new one due later).</summary>
    public async Task<bool> ClaimReminderAsync(ITx tx, DueSubscription due, DateTimeOffset now) =>
        await tx.ExecuteAsync(
            """
            UPDATE subscriptions SET reminded_at = @now, updated_at = @now
            WHERE room_id = @RoomId AND user_id = @UserId AND reminded_at IS NULL AND expires_at = @expiresAt
            """, new { due.RoomId, due.UserId, expiresAt = UnixMs.From(due.ExpiresAt), now = UnixMs.From(now) }) == 1;

    public async Task<IReadOnlyList<DueSubscription>> EndsDueAsync(ITx tx, DateTimeOffset now, int limit) =>
        (await tx.QueryAsync<DueRow>(
            $"""
            SELECT {DueColumns}
            FROM subscriptions s JOIN gates g ON g.room_id = s.room_id
            WHERE s.ended_at IS NULL AND s.expired_at IS NULL AND s.expires_at IS NOT NULL AND g.grace_seconds > 0
              AND s.expires_at <= @now AND s.expires_at + g.grace_seconds * 1000 > @now
            ORDER BY s.expires_at LIMIT @limit
            """, new { now = UnixMs.From(now), limit })).Select(r => r.ToDue()).ToList();

    public async Task<bool> ClaimEndAsync(ITx tx, DueSubscription due, DateTimeOffset now) =>
        await tx.ExecuteAsync(
            """
            UPDATE subscriptions SET ended_at = @now, reminded_at = COALESCE(reminded_at, @now), updated_at = @now
            WHERE room_id = @RoomId AND user_id = @UserId AND ended_at IS NULL AND expired_at IS NULL AND expires_at = @expiresAt
            """, new { due.RoomId, due.UserId, expiresAt = UnixMs.From(due.ExpiresAt), now = UnixMs.From(now) }) == 1;

    /// <summary>The earliest deadline not yet acted on — a removal (expiry plus grace), a reminder, an end of time — if any.</summary>
    public async Task<DateTimeOffset?> NextDeadlineAsync(ITx tx) =>
        UnixMs.To(await tx.ExecuteScalarAsync<long?>(
            """
            SELECT MIN(deadline) FROM (
                SELECT s.expires_at + g.grace_seconds * 1000 AS deadline
                FROM subscriptions s JOIN gates g ON g.room_id = s.room_id
                WHERE s.expired_at IS NULL AND s.expires_at IS NOT NULL
                UNION ALL
                SELECT s.remind_at FROM subscriptions s
                WHERE s.reminded_at IS NULL AND s.expired_at IS NULL AND s.remind_at IS NOT NULL
                UNION ALL
                SELECT s.expires_at
                FROM subscriptions s JOIN gates g ON g.room_id = s.room_id
                WHERE s.ended_at IS NULL AND s.expired_at IS NULL AND s.expires_at IS NOT NULL AND g.grace_seconds > 0) AS deadlines
            """));

    public async Task<bool> TookTrialAsync(ITx tx, string roomId, string userId) =>
        await tx.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM trials WHERE room_id = @roomId AND user_id = @userId", new { roomId, userId }) > 0;

    public async Task<bool> RecordTrialAsync(ITx tx, string roomId, string userId, DateTimeOffset now) =>
        await tx.ExecuteAsync("INSERT INTO trials (room_id, user_id, started_at) VALUES (@roomId, @userId, @now) ON CONFLICT DO NOTHING",
            new { roomId, userId, now = UnixMs.From(now) }) == 1;

    private sealed record Row(string RoomId, string UserId, long? ExpiresAt, string Source, long? ExpiredAt, string? PlanName, long RemindersOff)
    {
        public Subscription ToSubscription() =>
            new(RoomId, UserId, UnixMs.To(ExpiresAt), DbText.Parse<SubscriptionSource>(Source), UnixMs.To(ExpiredAt), PlanName, RemindersOff != 0);
    }

    private sealed record ReminderRow(string UserId, long? ExpiresAt, long? PeriodSeconds, long RemindersOff);

    private sealed record DueRow(string RoomId, string UserId, long ExpiresAt, string Source, string? PlanName)
    {
        public DueSubscription ToDue() => new(RoomId, UserId, UnixMs.To(ExpiresAt), DbText.Parse<SubscriptionSource>(Source), PlanName);
    }
}

/// <summary>What a member's reminder time is computed from (<see cref="AccessRules.RemindAt"/>).</summary>
public sealed record ReminderInput(string UserId, DateTimeOffset? ExpiresAt, TimeSpan? Period, bool RemindersOff);

/// <summary><c>exempt</c>: users the expiry never removes and reminders never reach.</summary>
public sealed class ExemptionStore : IExemptionStore
{
    public async Task<bool> IsExemptAsync(ITx tx, string roomId, string userId) =>
        await tx.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM exemptions WHERE room_id = @roomId AND user_id = @userId", new { roomId, userId }) > 0;

    /// <summary>False when the user was exempt already.</summary>
    public async Task<bool> AddAsync(ITx tx, string roomId, string userId, string actor, DateTimeOffset now) =>
        await tx.ExecuteAsync(
            "INSERT INTO exemptions (room_id, user_id, created_by, created_at) VALUES (@roomId, @userId, @actor, @now) ON CONFLICT DO NOTHING",
            new { roomId, userId, actor, now = UnixMs.From(now) }) == 1;

    /// <summary>False when the user was not exempt.</summary>
    public async Task<bool> RemoveAsync(ITx tx, string roomId, string userId) =>
        await tx.ExecuteAsync("DELETE FROM exemptions WHERE room_id = @roomId AND user_id = @userId", new { roomId, userId }) == 1;

    public Task<IReadOnlyList<string>> InRoomAsync(ITx tx, string roomId) =>
        tx.QueryAsync<string>("SELECT user_id FROM exemptions WHERE room_id = @roomId ORDER BY user_id", new { roomId });
}
