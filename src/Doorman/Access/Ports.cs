namespace Doorman.Access;

// What the core needs from the world, owned by the core (STYLE.md, "Dependencies point inward"). Storage implements
// the stores, Messaging the notices, Scheduling the deadline signal; Payments/Lnd and Payments/BtcPay the payment
// backend (PaymentBackend.cs).

/// <summary>An open transaction (or, for reads, a connection). Only the storage that made it knows what is inside.</summary>
public interface ITx;

/// <summary>Runs work in one transaction: all of it is committed, or none of it.</summary>
public interface IDatabase
{
    /// <summary>Runs <paramref name="work"/> in one write transaction and commits it; rolls back if it throws.</summary>
    Task<T> WriteAsync<T>(Func<ITx, Task<T>> work, CancellationToken cancellationToken);

    /// <summary>Runs <paramref name="work"/> without a transaction (single reads).</summary>
    Task<T> ReadAsync<T>(Func<ITx, Task<T>> work, CancellationToken cancellationToken);
}

public interface IGateStore
{
    Task<Gate?> GetAsync(ITx tx, string roomId);

    /// <summary>The room's plans, the default first, then by name.</summary>
    Task<IReadOnlyList<Plan>> GetPlansAsync(ITx tx, string roomId);
}

public interface IExemptionStore
{
    Task<bool> IsExemptAsync(ITx tx, string roomId, string userId);
}

public interface IOrderStore
{
    Task InsertAsync(ITx tx, Order order);

    Task<Order?> FindAsync(ITx tx, string backend, string reference);

    /// <summary>The member's open orders in every room: pending, with an invoice expiring after <paramref name="now"/>.</summary>
    Task<IReadOnlyList<Order>> OpenForMemberAsync(ITx tx, string userId, DateTimeOffset now);

    /// <summary>Moves a pending order to a final status; false if it was no longer pending (someone else decided first).</summary>
    Task<bool> FinishAsync(ITx tx, string id, OrderStatus status, long? paidMsat, DateTimeOffset now);

    /// <summary>Marks an order applied from pending or expired; false if it was neither (applied already).</summary>
    Task<bool> MarkAppliedAsync(ITx tx, string id, long paidMsat, DateTimeOffset now);

    /// <summary>Whether the member has ever paid for the room (an applied order).</summary>
    Task<bool> HasPaidAsync(ITx tx, string roomId, string userId);
}

public interface ISubscriptionStore
{
    Task<Subscription?> GetAsync(ITx tx, string roomId, string userId);

    /// <summary>
    /// Sets the member's term (creating the subscription); clears the sweep's marks so the new deadlines are acted on.
    /// The member's <c>reminders off</c> is kept.
    /// </summary>
    Task SetTermAsync(ITx tx, string roomId, string userId, Term term, DateTimeOffset now);

    /// <summary>Subscriptions whose expiry plus their room's grace has passed and that the sweep has not handled yet.</summary>
    Task<IReadOnlyList<DueSubscription>> DueAsync(ITx tx, DateTimeOffset now, int limit);

    /// <summary>Claims a due subscription for removal, once, and only if its expiry is still the one seen.</summary>
    Task<bool> ClaimExpiryAsync(ITx tx, DueSubscription due, DateTimeOffset now);

    /// <summary>Subscriptions whose reminder time has come, still running and not yet reminded.</summary>
    Task<IReadOnlyList<DueSubscription>> RemindersDueAsync(ITx tx, DateTimeOffset now, int limit);

    /// <summary>Claims a reminder once, and only for the expiry seen.</summary>
    Task<bool> ClaimReminderAsync(ITx tx, DueSubscription due, DateTimeOffset now);

    /// <summary>Subscriptions in rooms with grace whose time has ended, not yet told so, not yet claimed for removal.</summary>
    Task<IReadOnlyList<DueSubscription>> EndsDueAsync(ITx tx, DateTimeOffset now, int limit);

    /// <summary>Claims the end-of-time notice once, and only for the expiry seen.</summary>
    Task<bool> ClaimEndAsync(ITx tx, DueSubscription due, DateTimeOffset now);

    /// <summary>Whether the member has taken the room's free trial.</summary>
    Task<bool> TookTrialAsync(ITx tx, string roomId, string userId);

    /// <summary>Records that the member took the room's free trial; false if they had already.</summary>
    Task<bool> RecordTrialAsync(ITx tx, string roomId, string userId, DateTimeOffset now);

    /// <summary>The earliest deadline not yet acted on — a removal (expiry plus grace) or a reminder — if any.</summary>
    Task<DateTimeOffset?> NextDeadlineAsync(ITx tx);
}

/// <summary>The outbox of invites and kicks: written in the decision's transaction, carried out after commit.</summary>
public interface IMembershipActions
{
    Task EnqueueAsync(ITx tx, string roomId, string userId, MembershipActionKind action, string? reason, string cause, DateTimeOffset now);

    /// <summary>Queues again, due now, the room's invites that wait for the bot's power; returns how many.</summary>
    Task<int> RequeueAwaitingPowerAsync(ITx tx, string roomId, DateTimeOffset now);
}

/// <summary>Named positions in outside streams (the payment feed's cursor), stored with the effects they cover.</summary>
public interface ICursorStore
{
    Task<string?> GetAsync(ITx tx, string name);

    Task SetAsync(ITx tx, string name, string? value);
}

/// <summary>
/// What members are told when the core decides something about them. Queued in the decision's transaction (so a
/// crash neither loses nor doubles it); the wording is Messaging's.
/// </summary>
public interface IMemberNotices
{
    Task UnderpaidAsync(ITx tx, Order order, long paidMsat, DateTimeOffset now);

    Task InvoiceExpiredAsync(ITx tx, Order order, DateTimeOffset now);

    /// <summary>
    /// A payment for an order the bot had already given up as expired (and said so) arrived after all, and was applied:
    /// the member hears that it came late, that it counts, and that they are in.
    /// </summary>
    Task PaidLateAsync(ITx tx, Order order, DateTimeOffset now);

    /// <summary>The member's time ends soon: how to renew, with <paramref name="invoice"/> when one could be made.</summary>
    Task ReminderAsync(ITx tx, DueSubscription due, Order? invoice, DateTimeOffset now);

    /// <summary>
    /// The member's time (or trial) ended and the room has grace: until when they can still renew, with
    /// <paramref name="invoice"/> when one could be made.
    /// </summary>
    Task TimeEndedAsync(ITx tx, DueSubscription due, DateTimeOffset removalAt, Order? invoice, DateTimeOffset now);
}

/// <summary>
/// Room facts read live from the homeserver when a member asks for access (Rooms implements it): the room's state
/// changes under us (bans, power levels), so nothing here is cached.
/// </summary>
public interface IRoomFacts
{
    /// <summary>
    /// What decides whether <paramref name="userId"/> can be sold access to the room now; null when the bot cannot
    /// read the room (it is not in it, or the room is gone).
    /// </summary>
    Task<RoomFacts?> ForOrderAsync(string roomId, string userId, CancellationToken cancellationToken);
}

/// <param name="MemberBanned">The member's membership in the room is <c>ban</c>: an invite would be refused.</param>
/// <param name="BotCanInvite">The bot's power level reaches the room's <c>invite</c> level.</param>
public sealed record RoomFacts(bool MemberBanned, bool BotCanInvite, long BotLevel, long InviteLevel);

/// <summary>What kind of thing the bot could not do, for <see cref="IOwnerAlerts"/>.</summary>
public enum AlertKind
{
    /// <summary>An invite or a kick in a room was refused (no power, the room gone) or kept failing.</summary>
    Membership,
    /// <summary>The payment backend has not answered for more than five minutes.</summary>
    Payments,
}

/// <summary>
/// Tells owners what the bot could not do, once per incident and once when it is over: by DM to the room's owners who
/// gave commands there and to the operators (Messaging words it). Written in the caller's transaction.
/// </summary>
public interface IOwnerAlerts
{
    /// <summary>Opens the incident; only the first report of an open incident tells anyone.</summary>
    /// <param name="roomId">Null: an incident of the whole bot, told to every owner.</param>
    Task<bool> RaiseAsync(ITx tx, string? roomId, AlertKind kind, string detail, DateTimeOffset now);

    /// <summary>Closes the incident, telling the same people, if one was open.</summary>
    Task<bool> ClearAsync(ITx tx, string? roomId, AlertKind kind, DateTimeOffset now);
}

/// <summary>"A deadline changed": the sweep must run at that deadline, unless it already runs earlier.</summary>
public interface IDeadlineSignal
{
    Task ScheduleAtAsync(DateTimeOffset deadline, CancellationToken cancellationToken);
}

/// <summary>Names of the cursors the core keeps.</summary>
public static class CursorNames
{
    /// <summary>The payment backend's settlement feed position (LND: <c>settle_index</c>).</summary>
    public static string PaymentFeed(string backend) => $"payments.{backend}.cursor";
}
