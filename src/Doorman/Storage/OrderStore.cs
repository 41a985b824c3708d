using Doorman.Access;

namespace Doorman.Storage;

public sealed class OrderStore : IOrderStore
{
    private const string Columns =
        """
        id AS Id, room_id AS RoomId, user_id AS UserId, plan_name AS PlanName, amount_msat AS AmountMsat,
        period_seconds AS PeriodSeconds, backend AS Backend, reference AS Reference, bolt11 AS Bolt11,
        payment_hash AS PaymentHash, status AS Status, paid_msat AS PaidMsat, created_at AS CreatedAt,
        expires_at AS ExpiresAt, applied_at AS AppliedAt, request_room_id AS RequestRoomId, origin AS Origin
        """;

    public Task InsertAsync(ITx tx, Order order) =>
        tx.ExecuteAsync(
            """
            INSERT INTO orders (id, room_id, user_id, plan_name, amount_msat, period_seconds, backend, reference, bolt11,
                                payment_hash, status, created_at, expires_at, request_room_id, origin)
            VALUES (@Id, @RoomId, @UserId, @PlanName, @AmountMsat, @PeriodSeconds, @Backend, @Reference, @Bolt11,
                    @PaymentHash, @Status, @CreatedAt, @ExpiresAt, @RequestRoomId, @Origin)
            """,
            new
            {
                order.Id, order.RoomId, order.UserId, order.PlanName, order.AmountMsat,
                PeriodSeconds = (long?)order.Period?.TotalSeconds, order.Backend, order.Reference, order.Bolt11,
                order.PaymentHash, Status = DbText.Of(order.Status), CreatedAt = UnixMs.From(order.CreatedAt), ExpiresAt = UnixMs.From(order.ExpiresAt),
                order.RequestRoomId, Origin = DbText.Of(order.Origin),
            });

    public async Task<bool> HasPaidAsync(ITx tx, string roomId, string userId) =>
        await tx.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM orders WHERE room_id = @roomId AND user_id = @userId AND status = 'applied'",
            new { roomId, userId }) > 0;

    public async Task<Order?> FindAsync(ITx tx, string backend, string reference) =>
        (await tx.QuerySingleOrDefaultAsync<OrderRow>($"SELECT {Columns} FROM orders WHERE backend = @backend AND reference = @reference",
            new { backend, reference }))?.ToOrder();

    public async Task<Order?> GetAsync(ITx tx, string id) =>
        (await tx.QuerySingleOrDefaultAsync<OrderRow>($"SELECT {Columns} FROM orders WHERE id = @id", new { id }))?.ToOrder();

    public async Task<IReadOnlyList<Order>> PendingAsync(ITx tx, string backend) =>
        (await tx.QueryAsync<OrderRow>($"SELECT {Columns} FROM orders WHERE status = 'pending' AND backend = @backend ORDER BY id", new { backend }))
            .Select(r => r.ToOrder()).ToList();

    /// <summary>Pending orders issued by backends other than <paramref name="backend"/>: how many, and when the last invoice expires, per backend.</summary>
    public async Task<IReadOnlyList<PendingElsewhere>> PendingWithOtherBackendsAsync(ITx tx, string backend) =>
        (await tx.QueryAsync<(string Backend, long Count, long LatestExpiry)>(
            "SELECT backend, COUNT(*), MAX(expires_at) FROM orders WHERE status = 'pending' AND backend <> @backend GROUP BY backend ORDER BY backend",
            new { backend }))
            .Select(r => new PendingElsewhere(r.Backend, r.Count, UnixMs.To(r.LatestExpiry))).ToList();

    public async Task<IReadOnlyList<Order>> PendingForMemberAsync(ITx tx, string userId) =>
        (await tx.QueryAsync<OrderRow>($"SELECT {Columns} FROM orders WHERE status = 'pending' AND user_id = @userId ORDER BY id", new { userId }))
            .Select(r => r.ToOrder()).ToList();

    public async Task<IReadOnlyList<Order>> OpenForMemberAsync(ITx tx, string userId, DateTimeOffset now) =>
        (await tx.QueryAsync<OrderRow>($"SELECT {Columns} FROM orders WHERE user_id = @userId AND status = 'pending' AND expires_at > @now ORDER BY id",
            new { userId, now = UnixMs.From(now) }))
            .Select(r => r.ToOrder()).ToList();

    /// <summary>Moves a pending order to a final status; false if it was no longer pending (someone else decided first).</summary>
    public async Task<bool> FinishAsync(ITx tx, string id, OrderStatus status, long? paidMsat, DateTimeOffset now) =>
        await tx.ExecuteAsync(
            """
            UPDATE orders SET status = @status, paid_msat = COALESCE(@paidMsat, paid_msat),
                              applied_at = CASE WHEN @status = 'applied' THEN @now ELSE applied_at END
            WHERE id = @id AND status = 'pending'
            """, new { id, status = DbText.Of(status), paidMsat, now = UnixMs.From(now) }) == 1;

    /// <summary>
    /// Marks an order applied from pending or expired: a payment that settles after we gave the invoice up
    /// (its expiry raced our clock) is still money received and still grants (DESIGN rule 2).
    /// </summary>
    public async Task<bool> MarkAppliedAsync(ITx tx, string id, long paidMsat, DateTimeOffset now) =>
        await tx.ExecuteAsync(
            "UPDATE orders SET status = 'applied', paid_msat = @paidMsat, applied_at = @now WHERE id = @id AND status IN ('pending', 'expired')",
            new { id, paidMsat, now = UnixMs.From(now) }) == 1;

    /// <summary>
    /// Orders of <paramref name="backend"/> given up as expired whose invoice expired less than <paramref name="window"/>
    /// ago and whose next look-up is due (the first a minute after the invoice's expiry), with how many were made.
    /// </summary>
    public async Task<IReadOnlyList<(Order Order, long Lookups)>> LateLookupsDueAsync(ITx tx, string backend, DateTimeOffset now, TimeSpan window, int limit) =>
        (await tx.QueryAsync<LateRow>(
            $"""
            SELECT {Columns}, late_lookups AS LateLookups FROM orders
            WHERE status = 'expired' AND backend = @backend AND expires_at > @since
              AND COALESCE(next_lookup_at, expires_at + 60000) <= @now
            ORDER BY expires_at LIMIT @limit
            """, new { backend, since = UnixMs.From(now - window), now = UnixMs.From(now), limit }))
            .Select(r => (new OrderRow(r.Id, r.RoomId, r.UserId, r.PlanName, r.AmountMsat, r.PeriodSeconds, r.Backend, r.Reference, r.Bolt11,
                r.PaymentHash, r.Status, r.PaidMsat, r.CreatedAt, r.ExpiresAt, r.AppliedAt, r.RequestRoomId, r.Origin).ToOrder(), r.LateLookups)).ToList();

    /// <summary>Records a look-up of an expired order that found nothing new, and when to look again.</summary>
    public Task LateLookupDoneAsync(ITx tx, string id, DateTimeOffset next) =>
        tx.ExecuteAsync("UPDATE orders SET late_lookups = late_lookups + 1, next_lookup_at = @next WHERE id = @id AND status = 'expired'",
            new { id, next = UnixMs.From(next) });

    private sealed record LateRow(
        string Id, string RoomId, string UserId, string PlanName, long AmountMsat, long? PeriodSeconds, string Backend,
        string Reference, string Bolt11, string PaymentHash, string Status, long? PaidMsat, long CreatedAt, long ExpiresAt,
        long? AppliedAt, string? RequestRoomId, string Origin, long LateLookups);

    private sealed record OrderRow(
        string Id, string RoomId, string UserId, string PlanName, long AmountMsat, long? PeriodSeconds, string Backend,
        string Reference, string Bolt11, string PaymentHash, string Status, long? PaidMsat, long CreatedAt, long ExpiresAt,
        long? AppliedAt, string? RequestRoomId, string Origin)
    {
        public Order ToOrder() => new(Id, RoomId, UserId, PlanName, AmountMsat, PeriodSeconds is { } s ? TimeSpan.FromSeconds(s) : null,
            Backend, Reference, Bolt11, PaymentHash, DbText.Parse<OrderStatus>(Status), PaidMsat, UnixMs.To(CreatedAt), UnixMs.To(ExpiresAt), UnixMs.To(AppliedAt), RequestRoomId,
            DbText.Parse<OrderOrigin>(Origin));
    }
}
