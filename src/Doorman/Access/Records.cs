namespace Doorman.Access;

/// <summary>A gated room and its default plan.</summary>
/// <param name="RoomName">How members are told the room's name: its alias when it has one, else its id.</param>
/// <param name="Period">Null: lifetime access.</param>
public sealed record Gate(string RoomId, string RoomName, bool Enabled, TimeSpan Grace, long PriceMsat, TimeSpan? Period);

/// <summary>Where an order is in its life. Stored as lowercase text (<c>orders.status</c>).</summary>
public enum OrderStatus
{
    /// <summary>The invoice is out and unpaid.</summary>
    Pending,
    /// <summary>Paid in full and applied to the subscription (DESIGN rule 1: once).</summary>
    Applied,
    /// <summary>The invoice expired (or was canceled) unpaid. A payment that still arrives is applied (rule 2).</summary>
    Expired,
    /// <summary>Paid less than asked: recorded, grants nothing (rule 4).</summary>
    Underpaid,
}

/// <summary>An order: a member asked for access, an invoice was issued.</summary>
/// <param name="Period">Copied from the plan when ordered; null: lifetime.</param>
/// <param name="Reference">The backend's invoice id (LND: payment hash hex).</param>
/// <param name="RequestRoomId">The member's DM where they asked, if they asked in one.</param>
public sealed record Order(
    string Id, string RoomId, string UserId, string PlanName, long AmountMsat, TimeSpan? Period,
    string Backend, string Reference, string Bolt11, string PaymentHash, OrderStatus Status, long? PaidMsat,
    DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt, DateTimeOffset? AppliedAt, string? RequestRoomId);

/// <summary>Orders still pending with a backend that is not the configured one.</summary>
public sealed record PendingElsewhere(string Backend, long Count, DateTimeOffset LatestExpiry);

/// <summary>Where a member's time in a room came from. Stored as lowercase text (<c>subscriptions.source</c>).</summary>
public enum SubscriptionSource
{
    Paid,
    Grant,
}

/// <param name="ExpiresAt">Null: lifetime.</param>
/// <param name="ExpiredAt">When the sweep decided removal for the current expiry; null while active.</param>
public sealed record Subscription(string RoomId, string UserId, DateTimeOffset? ExpiresAt, SubscriptionSource Source, DateTimeOffset? ExpiredAt);

/// <summary>A subscription whose reminder or removal has come due.</summary>
public sealed record DueSubscription(string RoomId, string UserId, DateTimeOffset ExpiresAt);

/// <summary>What the membership outbox does to a member. Stored as lowercase text (<c>membership_actions.action</c>).</summary>
public enum MembershipActionKind
{
    Invite,
    Kick,
}

/// <summary>Where a membership action is. Stored as lowercase text (<c>membership_actions.status</c>).</summary>
public enum MembershipActionStatus
{
    Pending,
    /// <summary>Carried out.</summary>
    Done,
    /// <summary>Nothing to do, with why (already in the room; protected from removal).</summary>
    Skipped,
    /// <summary>Cannot be done, with why (the room is gone; the member is banned; the homeserver kept failing).</summary>
    Failed,
    /// <summary>
    /// An invite that failed because the bot lacked the power to invite (reported once): it waits for the bot's power in
    /// the room to change, then is queued again (<see cref="InvitesAwaitingPower"/>). Stored as <c>awaiting_power</c>.
    /// </summary>
    AwaitingPower,
}

/// <summary>An invite or kick the decision queued, to be carried out by the membership worker.</summary>
/// <param name="Cause">What decided it: <c>order:&lt;id&gt;</c>, <c>sweep</c>.</param>
/// <param name="ReportedAt">When the room and the member were told it failed (it then waited for power); null if never.</param>
public sealed record MembershipAction(long Id, string RoomId, string UserId, MembershipActionKind Action, string? Reason, string Cause, long Attempts,
    DateTimeOffset? ReportedAt = null);
