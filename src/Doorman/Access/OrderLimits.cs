namespace Doorman.Access;

/// <summary>
/// What must hold before an invoice is issued, and the bounds on what one member can ask for. Pure functions of
/// what the stores and the homeserver say, and of time.
/// </summary>
public static class OrderLimits
{
    /// <summary>
    /// An open invoice with at least this long left is sent again rather than a new one made. One closer to its
    /// expiry could run out while the member pays, so they get a fresh one instead.
    /// </summary>
    public static readonly TimeSpan MinimumInvoiceLeft = TimeSpan.FromMinutes(5);

    /// <summary>Open (unpaid, unexpired) orders one member may hold across all rooms: each one costs an invoice on the node.</summary>
    public const int MaxOpenOrders = 3;

    /// <summary>
    /// How far ahead of now a member's paid time may reach: <see cref="Quantities.MaxPeriod"/>, ten years, the longest
    /// period an owner can set. One such period from now fits; renewing on top of it waits until it has run down.
    /// Hundreds of renewals of a short period meet the same bound, so expiries stay far from where time arithmetic ends.
    /// </summary>
    public static TimeSpan MaxPaidAhead => Quantities.MaxPeriod;

    /// <summary>An order still waiting for payment: pending, and its invoice not yet expired.</summary>
    public static bool IsOpen(Order order, DateTimeOffset now) => order.Status == OrderStatus.Pending && order.ExpiresAt > now;

    /// <summary>
    /// The invoice to send again instead of making one: the member's open order for the gate's room at its current
    /// price and period, from the backend in use, with at least <see cref="MinimumInvoiceLeft"/> left to pay it (the
    /// one that lasts longest, if several). Null: a new one is needed.
    /// </summary>
    public static Order? Reusable(IEnumerable<Order> memberOrders, Gate gate, string backend, DateTimeOffset now)
    {
        var payableUntil = Instants.AddSaturating(now, MinimumInvoiceLeft);
        return memberOrders
            .Where(o => IsOpen(o, now) && o.RoomId == gate.RoomId && o.Backend == backend && o.AmountMsat == gate.PriceMsat
                && o.Period == gate.Period && o.ExpiresAt >= payableUntil)
            .MaxBy(o => o.ExpiresAt);
    }

    /// <summary>Whether the member may open one more order: fewer than <see cref="MaxOpenOrders"/> are open across all rooms.</summary>
    public static bool MayOpenAnother(IEnumerable<Order> memberOrders, DateTimeOffset now) =>
        memberOrders.Count(o => IsOpen(o, now)) < MaxOpenOrders;

    /// <summary>
    /// Where paying one more <paramref name="period"/> would take the member's paid time in the room, counting the
    /// orders still open for it (each may yet be paid); null when that is within <see cref="MaxPaidAhead"/> of now
    /// (or lifetime). Uses the settlement's own rule, <see cref="AccessRules.Extend"/>.
    /// </summary>
    public static PaidReach? BeyondReach(Subscription? subscription, IEnumerable<Order> memberOrders, string roomId, TimeSpan? period, DateTimeOffset now)
    {
        var active = subscription is { ExpiredAt: null };
        var until = active ? subscription!.ExpiresAt : null;
        foreach (var order in memberOrders.Where(o => IsOpen(o, now) && o.RoomId == roomId).OrderBy(o => o.Id, StringComparer.Ordinal))
        {
            until = AccessRules.Extend(until, active, order.Period, now);
            active = true;
            if (until is null)
                return null; // lifetime
        }
        if (AccessRules.Extend(until, active, period, now) is not { } reach)
            return null;
        var limit = Instants.AddSaturating(now, MaxPaidAhead);
        if (reach <= limit)
            return null;
        return new PaidReach(until is { } u && u > now ? u : null, reach, limit, Instants.AddSaturating(reach, -MaxPaidAhead));
    }

    /// <summary>
    /// Whether the room, as the homeserver shows it now, can take the member once they have paid: the bot can read
    /// it, the member is not banned, and the bot has the power to invite. Null: it can.
    /// </summary>
    public static OrderRefusal? RoomRefusal(RoomFacts? facts) => facts switch
    {
        null => OrderRefusal.BotNotInRoom,
        { MemberBanned: true } => OrderRefusal.Banned,
        { BotCanInvite: false } => OrderRefusal.BotCannotInvite,
        _ => null,
    };
}

/// <summary>How far paying would take a member's time, when that is too far.</summary>
/// <param name="PaidUntil">Where their paid time runs to now, counting open orders for the room; null if it has run out.</param>
/// <param name="WouldReach">Where paying one more period would take it.</param>
/// <param name="Limit">The furthest it may reach: now plus <see cref="OrderLimits.MaxPaidAhead"/>.</param>
/// <param name="AskAgainFrom">From when one more period fits (if nothing else changes).</param>
public sealed record PaidReach(DateTimeOffset? PaidUntil, DateTimeOffset WouldReach, DateTimeOffset Limit, DateTimeOffset AskAgainFrom);
