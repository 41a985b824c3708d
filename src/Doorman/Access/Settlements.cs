namespace Doorman.Access;

/// <summary>What applying an invoice update did.</summary>
public enum SettlementOutcome
{
    /// <summary>Not one of our invoices (another app on the same node), or not final yet.</summary>
    Ignored,
    /// <summary>Applied now: order applied, subscription extended, invite queued.</summary>
    Applied,
    /// <summary>Seen before: nothing done (a replayed stream event, a duplicate webhook, a reconcile).</summary>
    AlreadyDone,
    Underpaid,
    Expired,
}

/// <summary>
/// Applies payments exactly once (DESIGN rule 1): one transaction marks the order applied, extends the
/// subscription from the later of now and its current expiry (rule 3), queues the invite and advances the feed
/// cursor. A second application of the same settlement finds the order applied and changes nothing.
/// </summary>
public sealed partial class Settlements(
    IDatabase database,
    IOrderStore orders,
    IGateStore gates,
    ISubscriptionStore subscriptions,
    Terms terms,
    IMembershipActions actions,
    ICursorStore cursors,
    IMemberNotices notices,
    OutboxSignals signals,
    IDeadlineSignal deadlines,
    IAccessMetrics metrics,
    TimeProvider time,
    ILogger<Settlements> logger)
{
    public async Task<SettlementOutcome> ApplyAsync(string backend, InvoiceUpdate update, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        DateTimeOffset? newExpiry = null;
        var outcome = await database.WriteAsync(async tx =>
        {
            var result = await ApplyInTransactionAsync(tx, backend, update, now);
            if (update.Cursor is not null)
                await cursors.SetAsync(tx, CursorNames.PaymentFeed(backend), update.Cursor);
            newExpiry = result.NewExpiry;
            return result.Outcome;
        }, cancellationToken);

        if (outcome is SettlementOutcome.Applied or SettlementOutcome.Underpaid or SettlementOutcome.Expired)
        {
            metrics.Settled(backend, outcome, update.PaidMsat);
            signals.Membership.Set();
            signals.Messages.Set();
        }
        if (outcome == SettlementOutcome.Applied && newExpiry is { } expiry)
            await deadlines.ScheduleAtAsync(expiry, cancellationToken);
        return outcome;
    }

    private async Task<(SettlementOutcome Outcome, DateTimeOffset? NewExpiry)> ApplyInTransactionAsync(ITx tx, string backend, InvoiceUpdate update, DateTimeOffset now)
    {
        var order = await orders.FindAsync(tx, backend, update.Reference);
        if (order is null)
            return (SettlementOutcome.Ignored, null);
        if (order.Status == OrderStatus.Applied)
            return (SettlementOutcome.AlreadyDone, null);

        switch (update.State)
        {
            case InvoiceState.Settled when update.PaidMsat >= order.AmountMsat:
            {
                if (!await orders.MarkAppliedAsync(tx, order.Id, update.PaidMsat, now))
                    return (SettlementOutcome.AlreadyDone, null);
                // The member was told the invoice expired unpaid: tell them the payment came late and still counts.
                if (order.Status == OrderStatus.Expired)
                {
                    await notices.PaidLateAsync(tx, order, now);
                    LogPaidLate(order.Id, order.ExpiresAt);
                }
                // Paid within the room's grace, the time runs from the member's end: no free days, none lost.
                var gate = await gates.GetAsync(tx, order.RoomId) ?? new Gate(order.RoomId, order.RoomId, true, TimeSpan.Zero, order.AmountMsat, order.Period);
                var term = await terms.AddAsync(tx, gate, order.UserId, SubscriptionSource.Paid, order.PlanName, order.Period, gate.Grace, "order:" + order.Id, now);
                var expiry = term.ExpiresAt;
                if (update.PaidMsat > order.AmountMsat)
                    LogOverpaid(order.Id, update.PaidMsat - order.AmountMsat);
                LogApplied(order.Id, order.UserId, order.RoomId, expiry);
                return (SettlementOutcome.Applied, expiry);
            }
            case InvoiceState.Settled:
            {
                // Only the amount asked for counts (rule 4). LND refuses underpayments; other backends may not.
                if (!await orders.FinishAsync(tx, order.Id, OrderStatus.Underpaid, update.PaidMsat, now))
                    return (SettlementOutcome.AlreadyDone, null);
                await notices.UnderpaidAsync(tx, order, update.PaidMsat, now);
                LogUnderpaid(order.Id, update.PaidMsat, order.AmountMsat);
                return (SettlementOutcome.Underpaid, null);
            }
            case InvoiceState.Canceled or InvoiceState.NotFound when order.Status == OrderStatus.Pending:
            case InvoiceState.Open when order.Status == OrderStatus.Pending && order.ExpiresAt <= now:
            {
                if (!await orders.FinishAsync(tx, order.Id, OrderStatus.Expired, null, now))
                    return (SettlementOutcome.AlreadyDone, null);
                await notices.InvoiceExpiredAsync(tx, order, now);
                // A knock is declined by kicking the knocker (CS API §"Knocking on rooms": a kick rejects the knock);
                // the membership worker does it only while they are still knocking.
                if (order.Origin == OrderOrigin.Knock && await subscriptions.GetAsync(tx, order.RoomId, order.UserId) is not { IsActive: true })
                    await actions.EnqueueAsync(tx, order.RoomId, order.UserId, MembershipActionKind.Kick, null, MembershipCauses.DeclineKnock(order.Id), now);
                return (SettlementOutcome.Expired, null);
            }
            default:
                return (SettlementOutcome.Ignored, null);
        }
    }

    [LoggerMessage(LogLevel.Information, "Order {OrderId} paid: {UserId} in {RoomId} until {Expiry}")]
    private partial void LogApplied(string orderId, string userId, string roomId, DateTimeOffset? expiry);

    [LoggerMessage(LogLevel.Information, "Order {OrderId} was paid after it had been given up as expired (invoice expiry {ExpiresAt}); applied, and the member told")]
    private partial void LogPaidLate(string orderId, DateTimeOffset expiresAt);

    [LoggerMessage(LogLevel.Information, "Order {OrderId} was overpaid by {ExtraMsat} msat; recorded")]
    private partial void LogOverpaid(string orderId, long extraMsat);

    [LoggerMessage(LogLevel.Warning, "Order {OrderId} underpaid: {PaidMsat} of {AmountMsat} msat; nothing granted")]
    private partial void LogUnderpaid(string orderId, long paidMsat, long amountMsat);
}
