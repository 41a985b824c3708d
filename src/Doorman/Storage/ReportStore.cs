using Doorman.Access;

namespace Doorman.Storage;

/// <summary>One person with access to a room, as <c>members</c> and <c>export</c> show them.</summary>
/// <param name="Source"><c>paid</c>, <c>grant</c>, <c>trial</c> or <c>exempt</c> (an exemption shows over any subscription).</param>
/// <param name="ExpiresAt">Null: lifetime, or exempt without a subscription.</param>
public sealed record MemberReport(string UserId, string Source, string? Plan, DateTimeOffset? StartedAt, DateTimeOffset? ExpiresAt,
    long PaidMsatTotal, DateTimeOffset? LastPaymentAt);

/// <summary>A room's figures for <c>stats</c>.</summary>
public sealed record RoomStats(
    long PaidOrders, long PaidMsat, long PaidOrders30Days, long PaidMsat30Days,
    IReadOnlyDictionary<string, long> ActiveBySource, long ExpiringWithin7Days, long Churned30Days, long OpenInvoices);

/// <summary>An owner action from the audit log.</summary>
public sealed record AuditEntry(DateTimeOffset At, string Actor, string Action, string? Detail);

/// <summary>Read-only queries for the owners' reports: <c>members</c>, <c>stats</c>, <c>export</c>, <c>log</c>.</summary>
public sealed class ReportStore
{
    /// <summary>Everyone with access (not yet claimed for removal) or exempt, soonest end first, lifetime and exempt last.</summary>
    public async Task<IReadOnlyList<MemberReport>> MembersAsync(ITx tx, string roomId) =>
        (await tx.QueryAsync<MemberRow>(
            """
            WITH people AS (
                SELECT user_id FROM subscriptions WHERE room_id = @roomId AND expired_at IS NULL
                UNION SELECT user_id FROM exemptions WHERE room_id = @roomId)
            SELECT p.user_id AS UserId,
                   CASE WHEN e.user_id IS NOT NULL THEN 'exempt' ELSE s.source END AS Source,
                   CASE WHEN s.expired_at IS NULL THEN s.plan_name END AS PlanName,
                   COALESCE(s.created_at, e.created_at) AS StartedAt,
                   CASE WHEN s.expired_at IS NULL THEN s.expires_at END AS ExpiresAt,
                   CAST(COALESCE((SELECT SUM(o.paid_msat) FROM orders o WHERE o.room_id = @roomId AND o.user_id = p.user_id AND o.status = 'applied'), 0) AS BIGINT) AS PaidMsatTotal,
                   (SELECT MAX(o.applied_at) FROM orders o WHERE o.room_id = @roomId AND o.user_id = p.user_id AND o.status = 'applied') AS LastPaymentAt
            FROM people p
            LEFT JOIN subscriptions s ON s.room_id = @roomId AND s.user_id = p.user_id
            LEFT JOIN exemptions e ON e.room_id = @roomId AND e.user_id = p.user_id
            ORDER BY e.user_id IS NOT NULL, s.expires_at IS NULL, s.expires_at, p.user_id
            """, new { roomId })).Select(r => r.ToReport()).ToList();

    public async Task<RoomStats> StatsAsync(ITx tx, string roomId, DateTimeOffset now)
    {
        var at = UnixMs.From(now);
        var monthAgo = UnixMs.From(now - TimeSpan.FromDays(30));
        var sales = await tx.QuerySingleOrDefaultAsync<SalesRow>(
            """
            SELECT COUNT(*) AS Orders, CAST(COALESCE(SUM(paid_msat), 0) AS BIGINT) AS Msat,
                   COUNT(CASE WHEN applied_at >= @monthAgo THEN 1 END) AS Orders30,
                   CAST(COALESCE(SUM(CASE WHEN applied_at >= @monthAgo THEN paid_msat END), 0) AS BIGINT) AS Msat30
            FROM orders WHERE room_id = @roomId AND status = 'applied'
            """, new { roomId, monthAgo });
        var bySource = (await tx.QueryAsync<SourceRow>(
            """
            SELECT CASE WHEN e.user_id IS NOT NULL THEN 'exempt' ELSE s.source END AS Source, COUNT(*) AS Count
            FROM (SELECT user_id, source FROM subscriptions WHERE room_id = @roomId AND expired_at IS NULL
                  UNION SELECT user_id, NULL FROM exemptions WHERE room_id = @roomId AND user_id NOT IN
                      (SELECT user_id FROM subscriptions WHERE room_id = @roomId AND expired_at IS NULL)) s
            LEFT JOIN exemptions e ON e.room_id = @roomId AND e.user_id = s.user_id
            GROUP BY 1 ORDER BY 1
            """, new { roomId })).ToDictionary(r => r.Source, r => r.Count, StringComparer.Ordinal);
        var expiring = await tx.ExecuteScalarAsync<long>(
            "SELECT COUNT(*) FROM subscriptions WHERE room_id = @roomId AND expired_at IS NULL AND expires_at > @at AND expires_at <= @weekAhead",
            new { roomId, at, weekAhead = UnixMs.From(now + TimeSpan.FromDays(7)) });
        var churned = await tx.ExecuteScalarAsync<long>(
            "SELECT COUNT(*) FROM subscriptions WHERE room_id = @roomId AND expired_at IS NOT NULL AND expired_at >= @monthAgo", new { roomId, monthAgo });
        var open = await tx.ExecuteScalarAsync<long>(
            "SELECT COUNT(*) FROM orders WHERE room_id = @roomId AND status = 'pending' AND expires_at > @at", new { roomId, at });
        return new RoomStats(sales!.Orders, sales.Msat, sales.Orders30, sales.Msat30, bySource, expiring, churned, open);
    }

    /// <summary>The room's last <paramref name="limit"/> owner actions, newest first.</summary>
    public async Task<IReadOnlyList<AuditEntry>> LogAsync(ITx tx, string roomId, int limit) =>
        (await tx.QueryAsync<AuditRow>(
            "SELECT at AS At, actor AS Actor, action AS Action, detail AS Detail FROM audit WHERE room_id = @roomId ORDER BY id DESC LIMIT @limit",
            new { roomId, limit })).Select(r => new AuditEntry(UnixMs.To(r.At), r.Actor, r.Action, r.Detail)).ToList();

    /// <summary>Everyone who gave an owner command in the room: they hear the room's alerts.</summary>
    public Task<IReadOnlyList<string>> OwnersWhoActedAsync(ITx tx, string roomId) =>
        tx.QueryAsync<string>("SELECT DISTINCT actor FROM audit WHERE room_id = @roomId ORDER BY actor", new { roomId });

    public Task<IReadOnlyList<string>> AllOwnersWhoActedAsync(ITx tx) =>
        tx.QueryAsync<string>("SELECT DISTINCT actor FROM audit WHERE room_id IS NOT NULL ORDER BY actor");

    /// <summary>
    /// Set by property, not by constructor: the computed columns have no declared type, so SQLite reports a NULL in the
    /// first row as a blob, and Dapper would find no constructor matching that row.
    /// </summary>
    private sealed class MemberRow
    {
        public string UserId { get; init; } = "";
        public string Source { get; init; } = "";
        public string? PlanName { get; init; }
        public long? StartedAt { get; init; }
        public long? ExpiresAt { get; init; }
        public long PaidMsatTotal { get; init; }
        public long? LastPaymentAt { get; init; }

        public MemberReport ToReport() => new(UserId, Source, PlanName, UnixMs.To(StartedAt), UnixMs.To(ExpiresAt), PaidMsatTotal, UnixMs.To(LastPaymentAt));
    }

    private sealed record SalesRow(long Orders, long Msat, long Orders30, long Msat30);

    private sealed record SourceRow(string Source, long Count);

    private sealed record AuditRow(long At, string Actor, string Action, string? Detail);
}

/// <summary>
/// What the bot could not do, told once per incident: <see cref="OpenAsync"/> is true only for the first report of an
/// incident, <see cref="ResolveAsync"/> only when one was open.
/// </summary>
public sealed class AlertStore
{
    /// <summary>The incident of the whole bot (the payment backend), not of one room.</summary>
    public const string Everywhere = "";

    public async Task<bool> OpenAsync(ITx tx, string roomId, string kind, string detail, DateTimeOffset now) =>
        await tx.ExecuteAsync(
            """
            INSERT INTO alerts (room_id, kind, detail, opened_at) VALUES (@roomId, @kind, @detail, @now)
            ON CONFLICT (room_id, kind) WHERE resolved_at IS NULL DO NOTHING
            """, new { roomId, kind, detail, now = UnixMs.From(now) }) == 1;

    public async Task<bool> ResolveAsync(ITx tx, string roomId, string kind, DateTimeOffset now) =>
        await tx.ExecuteAsync("UPDATE alerts SET resolved_at = @now WHERE room_id = @roomId AND kind = @kind AND resolved_at IS NULL",
            new { roomId, kind, now = UnixMs.From(now) }) == 1;

    /// <summary>The incidents open in the room, and those of the whole bot.</summary>
    public async Task<IReadOnlyList<(string Kind, string Detail, DateTimeOffset OpenedAt)>> ListOpenAsync(ITx tx, string roomId) =>
        (await tx.QueryAsync<OpenRow>(
            "SELECT kind AS Kind, detail AS Detail, opened_at AS OpenedAt FROM alerts WHERE resolved_at IS NULL AND room_id IN (@roomId, '') ORDER BY opened_at",
            new { roomId })).Select(r => (r.Kind, r.Detail, UnixMs.To(r.OpenedAt))).ToList();

    private sealed record OpenRow(string Kind, string Detail, long OpenedAt);
}
