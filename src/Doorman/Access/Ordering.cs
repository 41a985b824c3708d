using Microsoft.Extensions.Options;

namespace Doorman.Access;

/// <summary>A member asks for access to a room (<c>join</c>, <c>renew</c>, a knock).</summary>
/// <param name="RequestRoomId">The member's DM where they asked, if they asked in one.</param>
public sealed record OrderRequest(string RoomId, string UserId, string? RequestRoomId);

/// <summary>What asking for access came to.</summary>
public abstract record OrderResult;

/// <summary>An invoice was issued and the order recorded.</summary>
/// <param name="CurrentExpiry">The member's running time, which paying extends; null when they have none.</param>
public sealed record OrderPlaced(Order Order, Gate Gate, DateTimeOffset? CurrentExpiry) : OrderResult;

/// <summary>No invoice, and why.</summary>
/// <param name="Facts">The room as the homeserver showed it, when that was the reason.</param>
public sealed record OrderRefused(OrderRefusal Why, Gate? Gate, RoomFacts? Facts = null) : OrderResult;

public enum OrderRefusal
{
    /// <summary>The room is not gated: there is nothing to buy.</summary>
    NotGated,
    /// <summary>The owners stopped selling.</summary>
    Paused,
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
/// handled). The backend is asked outside the transaction: a slow node never holds the database. Before any invoice
/// the room is checked live (<see cref="IRoomFacts"/>): a member who could not be invited after paying is told so
/// instead, and nothing is written.
/// </summary>
public sealed partial class Ordering(
    IDatabase database,
    IGateStore gates,
    ISubscriptionStore subscriptions,
    IOrderStore orders,
    IPaymentBackend payments,
    IRoomFacts rooms,
    IOptions<PaymentsOptions> options,
    TimeProvider time,
    ILogger<Ordering> logger)
{
    /// <param name="record">
    /// Runs in the order's transaction, before the order is written; returning false abandons the order (for example
    /// when the request turns out to have been handled already).
    /// </param>
    public async Task<OrderResult> PlaceAsync(OrderRequest request, Func<ITx, OrderPlaced, Task<bool>> record, CancellationToken cancellationToken)
    {
        var (gate, subscription) = await database.ReadAsync(async tx =>
            (await gates.GetAsync(tx, request.RoomId), await subscriptions.GetAsync(tx, request.RoomId, request.UserId)), cancellationToken);
        if (gate is null)
            return new OrderRefused(OrderRefusal.NotGated, null);
        if (!gate.Enabled)
            return new OrderRefused(OrderRefusal.Paused, gate);
        if (subscription is { ExpiresAt: null, ExpiredAt: null })
            return new OrderRefused(OrderRefusal.Lifetime, gate);
        var facts = await rooms.ForOrderAsync(request.RoomId, request.UserId, cancellationToken);
        if (OrderLimits.RoomRefusal(facts) is { } roomRefusal)
        {
            LogRoomRefused(request.UserId, request.RoomId, roomRefusal);
            return new OrderRefused(roomRefusal, gate, facts);
        }

        var now = time.GetUtcNow();
        var orderId = Ulid.New(now);
        CreatedInvoice invoice;
        try
        {
            invoice = await payments.CreateInvoiceAsync(new InvoiceRequest(orderId, gate.PriceMsat, Memo(gate), options.Value.InvoiceExpiry), cancellationToken);
        }
        catch (PaymentBackendException e)
        {
            LogInvoiceFailed(e, request.UserId, request.RoomId, e.Message);
            return new OrderRefused(OrderRefusal.PaymentsUnavailable, gate);
        }

        var order = new Order(orderId, request.RoomId, request.UserId, Plans.Default, gate.PriceMsat, gate.Period, payments.Name,
            invoice.Reference, invoice.Bolt11, invoice.PaymentHash, OrderStatus.Pending, null, now, invoice.ExpiresAt, null, request.RequestRoomId);
        var placed = new OrderPlaced(order, gate, subscription is { ExpiredAt: null } ? subscription.ExpiresAt : null);
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

    /// <summary>What the member's wallet shows: "VIP lounge: 30 days of access (1,000 sats)".</summary>
    private static string Memo(Gate gate) =>
        $"{gate.RoomName}: {(gate.Period is { } p ? Quantities.FormatDuration(p) : "lifetime")} of access ({Quantities.FormatSats(gate.PriceMsat / 1000)})";

    [LoggerMessage(LogLevel.Information, "Order {OrderId}: {UserId} asked for {RoomId} at {AmountMsat} msat")]
    private partial void LogOrdered(string orderId, string userId, string roomId, long amountMsat);

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
