using Doorman.Access;

namespace Doorman.Storage;

public sealed class SubscriptionStore : ISubscriptionStore
{
    private const string Columns =
        "room_id AS RoomId, user_id AS UserId, expires_at AS ExpiresAt, source AS Source, expired_at AS ExpiredAt";

    public async Task<Subscription?> GetAsync(ITx tx, string roomId, string userId) =>
        (await tx.QuerySingleOrDefaultAsync<Row>($"SELECT {Columns} FROM subscriptions WHERE room_id = @roomId AND user_id = @userId",
            new { roomId, userId }))?.ToSubscription();

    public async Task<IReadOnlyList<Subscription>> ForMemberAsync(ITx tx, string userId) =>
        (await tx.QueryAsync<Row>($"SELECT {Columns} FROM subscriptions WHERE user_id = @userId ORDER BY room_id", new { userId }))
            .Select(r => r.ToSubscription()).ToList();

    /// <summary>Sets the expiry (creating the subscription); clears the sweep's marks so the new deadline is acted on.</summary>
    public Task SetExpiryAsync(ITx tx, string roomId, string userId, DateTimeOffset? expiresAt, SubscriptionSource source, DateTimeOffset now) =>
        tx.ExecuteAsync(
            """
            INSERT INTO subscriptions (room_id, user_id, expires_at, source, created_at, updated_at)
            VALUES (@roomId, @userId, @expiresAt, @source, @now, @now)
            ON CONFLICT (room_id, user_id) DO UPDATE SET
                expires_at = excluded.expires_at, source = excluded.source, reminded_at = NULL, expired_at = NULL,
                updated_at = excluded.updated_at
            """, new { roomId, userId, expiresAt = expiresAt is { } e ? UnixMs.From(e) : (long?)null, source = DbText.Of(source), now = UnixMs.From(now) });

    /// <summary>Subscriptions whose expiry plus their room's grace has passed and that the sweep has not handled yet.</summary>
    public async Task<IReadOnlyList<DueSubscription>> DueAsync(ITx tx, DateTimeOffset now, int limit) =>
        (await tx.QueryAsync<DueRow>(
            """
            SELECT s.room_id AS RoomId, s.user_id AS UserId, s.expires_at AS ExpiresAt
            FROM subscriptions s JOIN gates g ON g.room_id = s.room_id
            WHERE s.expired_at IS NULL AND s.expires_at IS NOT NULL AND s.expires_at + g.grace_seconds * 1000 <= @now
            ORDER BY s.expires_at LIMIT @limit
            """, new { now = UnixMs.From(now), limit })).Select(r => new DueSubscription(r.RoomId, r.UserId, UnixMs.To(r.ExpiresAt))).ToList();

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

    /// <summary>Subscriptions whose reminder time (expiry minus the room's lead) has come, still running and not yet reminded.</summary>
    public async Task<IReadOnlyList<DueSubscription>> RemindersDueAsync(ITx tx, DateTimeOffset now, int limit) =>
        (await tx.QueryAsync<DueRow>(
            """
            SELECT s.room_id AS RoomId, s.user_id AS UserId, s.expires_at AS ExpiresAt
            FROM subscriptions s JOIN gates g ON g.room_id = s.room_id
            WHERE s.reminded_at IS NULL AND s.expired_at IS NULL AND s.expires_at IS NOT NULL AND g.remind_seconds IS NOT NULL
              AND s.expires_at - g.remind_seconds * 1000 <= @now AND s.expires_at > @now
            ORDER BY s.expires_at LIMIT @limit
            """, new { now = UnixMs.From(now), limit })).Select(r => new DueSubscription(r.RoomId, r.UserId, UnixMs.To(r.ExpiresAt))).ToList();

    /// <summary>Claims a reminder once, and only for the expiry we saw (a renewal in between makes a new one due later).</summary>
    public async Task<bool> ClaimReminderAsync(ITx tx, DueSubscription due, DateTimeOffset now) =>
        await tx.ExecuteAsync(
            """
            UPDATE subscriptions SET reminded_at = @now, updated_at = @now
            WHERE room_id = @RoomId AND user_id = @UserId AND reminded_at IS NULL AND expires_at = @expiresAt
            """, new { due.RoomId, due.UserId, expiresAt = UnixMs.From(due.ExpiresAt), now = UnixMs.From(now) }) == 1;

    /// <summary>The earliest deadline not yet acted on — a removal (expiry plus grace) or a reminder — if any.</summary>
    public async Task<DateTimeOffset?> NextDeadlineAsync(ITx tx) =>
        UnixMs.To(await tx.ExecuteScalarAsync<long?>(
            """
            SELECT MIN(deadline) FROM (
                SELECT s.expires_at + g.grace_seconds * 1000 AS deadline
                FROM subscriptions s JOIN gates g ON g.room_id = s.room_id
                WHERE s.expired_at IS NULL AND s.expires_at IS NOT NULL
                UNION ALL
                SELECT s.expires_at - g.remind_seconds * 1000
                FROM subscriptions s JOIN gates g ON g.room_id = s.room_id
                WHERE s.reminded_at IS NULL AND s.expired_at IS NULL AND s.expires_at IS NOT NULL AND g.remind_seconds IS NOT NULL)
            """));

    private sealed record Row(string RoomId, string UserId, long? ExpiresAt, string Source, long? ExpiredAt)
    {
        public Subscription ToSubscription() => new(RoomId, UserId, UnixMs.To(ExpiresAt), DbText.Parse<SubscriptionSource>(Source), UnixMs.To(ExpiredAt));
    }

    private sealed record DueRow(string RoomId, string UserId, long ExpiresAt);
}

public sealed class ExemptionStore
{
    public async Task<bool> IsExemptAsync(ITx tx, string roomId, string userId) =>
        await tx.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM exemptions WHERE room_id = @roomId AND user_id = @userId", new { roomId, userId }) > 0;
}
