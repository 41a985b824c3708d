using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace Doorman.Access;

/// <summary>A member asks for access to a room (<c>join</c>, <c>renew</c>, a knock), or a reminder offers a renewal.</summary>
/// <param name="RequestRoomId">The member's DM where they asked, if they asked in one.</param>
/// <param name="Plan">The plan asked for; null: for a renewal the member's current plan, else the room's default.</param>
/// <param name="Renewal">Extends the member's time (<c>renew</c>, a reminder): an omitted plan means the one they are on.</param>
/// <param name="Validity">How long the invoice stays payable; null: <c>Payments:InvoiceExpiry</c>.</param>
public sealed record OrderRequest(string RoomId, string UserId, string? RequestRoomId, string? Plan = null, bool Renewal = false,
    OrderOrigin Origin = OrderOrigin.Command, TimeSpan? Validity = null);

/// <summary>What asking for access came to.</summary>
public abstract record OrderResult;

/// <summary>An invoice was issued and the order recorded.</summary>
/// <param name="Gate">The room, with the price and period of the plan ordered.</param>
/// <param name="CurrentExpiry">The member's running time, which paying extends; null when they have none.</param>
/// <param name="Resent">
/// The member's open invoice for the room, sent again: no new order, no call to the payment backend
/// (<see cref="OrderLimits.Reusable"/>).
/// </param>
public sealed record OrderPlaced(Order Order, Gate Gate, DateTimeOffset? CurrentExpiry, bool Resent = false) : OrderResult;

/// <summary>No invoice, and why.</summary>
/// <param name="Facts">The room as the homeserver showed it, when that was the reason.</param>
public sealed record OrderRefused(OrderRefusal Why, Gate? Gate, RoomFacts? Facts = null) : OrderResult;

/// <summary>No invoice: the member already holds <see cref="OrderLimits.MaxOpenOrders"/> open orders.</summary>
/// <param name="Open">Those orders, oldest first.</param>
public sealed record TooManyOpenOrders(Gate Gate, IReadOnlyList<Order> Open) : OrderResult;

/// <summary>No invoice: paying it would take the member's paid time further ahead than <see cref="OrderLimits.MaxPaidAhead"/>.</summary>
public sealed record TooFarAhead(Gate Gate, PaidReach Reach) : OrderResult;

public enum OrderRefusal
{
    /// <summary>The room is not gated: there is nothing to buy.</summary>
    NotGated,
    /// <summary>The owners stopped selling (<c>off</c>), and the member has no time to renew.</summary>
    Paused,
    /// <summary>The room has no plan by the name asked for.</summary>
    UnknownPlan,
    /// <summary>The member already has lifetime access.</summary>
    Lifetime,
    /// <summary>The payment backend could not make an invoice (down, or refused us).</summary>
    PaymentsUnavailable,
    /// <summary>The member is banned from the room: the invite after payment would be refused.</summary>
    Banned,
    /// <summary>The bot lacks the power to invite in the room: the member would pay and wait for nothing.</summary>
    BotCannotInvite,
    /// <summary>The bot cannot read the room (it is not in it, or the room is gone), so it could not invite either.</summary>
    BotNotInRoom,
}

/// <summary>
/// Places orders: checks that the room sells and the member can buy, asks the payment backend for an invoice, and
/// records the order in one transaction with whatever the caller records alongside (its reply, the event it
/// handled). The backend is asked outside the transaction: a slow node never holds the database.
/// Abuse is bounded (<see cref="OrderLimits"/>): a member asking again while their invoice for the room is open gets
/// that invoice again; nobody holds more than <see cref="OrderLimits.MaxOpenOrders"/> open orders; no order may take
/// paid time more than <see cref="OrderLimits.MaxPaidAhead"/> ahead; and the room is checked live
/// (<see cref="IRoomFacts"/>), so nobody pays for an invite that could not happen. A refusal writes nothing and
/// never reaches the backend.
/// </summary>
public sealed partial class Ordering(
    IDatabase database,
    IGateStore gates,
    ISubscriptionStore subscriptions,
    IOrderStore orders,
    IPaymentBackend payments,
    IRoomFacts rooms,
    IOptions<PaymentsOptions> options,
    IAccessMetrics metrics,
    TimeProvider time,
    ILogger<Ordering> logger)
{
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _members = new(StringComparer.Ordinal);

    /// <param name="record">
    /// Runs in the order's transaction, before the order is written; returning false abandons the order (for example
    /// when the request turns out to have been handled already).
    /// </param>
    public async Task<OrderResult> PlaceAsync(OrderRequest request, Func<ITx, OrderPlaced, Task<bool>> record, CancellationToken cancellationToken)
    {
        // One member's requests are placed one at a time, whichever rooms they come from (the inbox works on several
        // rooms at once): the bounds read below still hold when the order is written.
        var member = _members.GetOrAdd(request.UserId, _ => new SemaphoreSlim(1, 1));
        await member.WaitAsync(cancellationToken);
        try
        {
            return await PlaceAloneAsync(request, record, cancellationToken);
        }
        finally
        {
            member.Release();
        }
    }

    private async Task<OrderResult> PlaceAloneAsync(OrderRequest request, Func<ITx, OrderPlaced, Task<bool>> record, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var (room, plans, subscription, open) = await database.ReadAsync(async tx =>
            (await gates.GetAsync(tx, request.RoomId), await gates.GetPlansAsync(tx, request.RoomId),
                await subscriptions.GetAsync(tx, request.RoomId, request.UserId), await orders.OpenForMemberAsync(tx, request.UserId, now)), cancellationToken);
        if (room is null)
            return new OrderRefused(OrderRefusal.NotGated, null);
        // Sales off: nobody new, but members keep their time and may renew it.
        if (!room.Enabled && subscription is not { IsActive: true })
            return new OrderRefused(OrderRefusal.Paused, room);
        if (ChoosePlan(request, room, plans, subscription) is not { } plan)
            return new OrderRefused(OrderRefusal.UnknownPlan, room);
        var gate = room with { PriceMsat = plan.PriceMsat, Period = plan.Period };
        if (subscription is { ExpiresAt: null, ExpiredAt: null })
            return new OrderRefused(OrderRefusal.Lifetime, gate);
        var currentExpiry = subscription is { ExpiredAt: null } ? subscription.ExpiresAt : null;

        // Asking again while an invoice is open gets that invoice again: no new order, nothing asked of the backend.
        // Otherwise the bounds, first the ones the database answers, then the room's live state.
        var again = OrderLimits.Reusable(open, gate, payments.Name, now);
        if (again is null)
        {
            if (!OrderLimits.MayOpenAnother(open, now))
            {
                LogTooManyOpen(request.UserId, open.Count);
                return new TooManyOpenOrders(gate, open);
            }
            if (OrderLimits.BeyondReach(subscription, open, request.RoomId, gate.Period, now) is { } reach)
            {
                LogTooFar(request.UserId, request.RoomId, reach.WouldReach);
                return new TooFarAhead(gate, reach);
            }
        }
        // Even an invoice already made is not sent again to someone the room would not take now.
        var facts = await rooms.ForOrderAsync(request.RoomId, request.UserId, cancellationToken);
        if (OrderLimits.RoomRefusal(facts) is { } roomRefusal)
        {
            LogRoomRefused(request.UserId, request.RoomId, roomRefusal);
            return new OrderRefused(roomRefusal, gate, facts);
        }
        if (again is not null)
        {
            var resent = new OrderPlaced(again, gate, currentExpiry, Resent: true);
            if (await database.WriteAsync(tx => record(tx, resent), cancellationToken))
                LogResent(again.Id, request.UserId, request.RoomId);
            return resent;
        }

        var orderId = Ulid.New(now);
        CreatedInvoice invoice;
        try
        {
            invoice = await payments.CreateInvoiceAsync(
                new InvoiceRequest(orderId, gate.PriceMsat, Memo(gate), request.Validity ?? options.Value.InvoiceExpiry), cancellationToken);
        }
        catch (PaymentBackendException e)
        {
            LogInvoiceFailed(e, request.UserId, request.RoomId, e.Message);
            return new OrderRefused(OrderRefusal.PaymentsUnavailable, gate);
        }
        metrics.InvoiceCreated(payments.Name);

        var order = new Order(orderId, request.RoomId, request.UserId, plan.Name, gate.PriceMsat, gate.Period, payments.Name,
            invoice.Reference, invoice.Bolt11, invoice.PaymentHash, OrderStatus.Pending, null, now, invoice.ExpiresAt, null, request.RequestRoomId,
            request.Origin);
        var placed = new OrderPlaced(order, gate, currentExpiry);
        var recorded = await database.WriteAsync(async tx =>
        {
            if (!await record(tx, placed))
                return false;
            await orders.InsertAsync(tx, order);
            return true;
        }, cancellationToken);
        if (recorded)
            LogOrdered(orderId, request.UserId, request.RoomId, gate.PriceMsat);
        return placed;
    }

    /// <summary>
    /// The plan asked for by name; else, for a renewal, the plan the member is on (if the room still has it); else the
    /// default. Null: the name asked for is not one of the room's plans.
    /// </summary>
    private static Plan? ChoosePlan(OrderRequest request, Gate gate, IReadOnlyList<Plan> plans, Subscription? subscription)
    {
        if (request.Plan is { } asked)
            return plans.FirstOrDefault(p => p.Name.Equals(asked, StringComparison.OrdinalIgnoreCase));
        if (request.Renewal && subscription?.PlanName is { } current && plans.FirstOrDefault(p => p.Name == current) is { } same)
            return same;
        return plans.FirstOrDefault(p => p.Name == gate.DefaultPlan);
    }

    /// <summary>What the member's wallet shows: "VIP lounge: 30 days of access (1,000 sats)".</summary>
    private static string Memo(Gate gate) =>
        $"{gate.RoomName}: {(gate.Period is { } p ? Quantities.FormatDuration(p) : "lifetime")} of access ({Quantities.FormatSats(gate.PriceMsat / 1000)})";

    [LoggerMessage(LogLevel.Information, "Order {OrderId}: {UserId} asked for {RoomId} at {AmountMsat} msat")]
    private partial void LogOrdered(string orderId, string userId, string roomId, long amountMsat);

    [LoggerMessage(LogLevel.Information, "Order {OrderId}: sent its open invoice to {UserId} again for {RoomId}")]
    private partial void LogResent(string orderId, string userId, string roomId);

    [LoggerMessage(LogLevel.Information, "No invoice for {UserId}: {Count} orders open already")]
    private partial void LogTooManyOpen(string userId, int count);

    [LoggerMessage(LogLevel.Information, "No invoice for {UserId} in {RoomId}: paying would reach {Reach}, too far ahead")]
    private partial void LogTooFar(string userId, string roomId, DateTimeOffset reach);

    [LoggerMessage(LogLevel.Information, "No invoice for {UserId} in {RoomId}: {Refusal}")]
    private partial void LogRoomRefused(string userId, string roomId, OrderRefusal refusal);

    [LoggerMessage(LogLevel.Warning, "Could not create an invoice for {UserId} in {RoomId}: {Reason}")]
    private partial void LogInvoiceFailed(Exception exception, string userId, string roomId, string reason);
}

/// <summary>Plan names.</summary>
public static class Plans
{
    /// <summary>The plan <c>set</c> makes.</summary>
    public const string Default = "default";
}
