namespace Doorman.Access;

/// <summary>A gated room and its default plan.</summary>
/// <param name="RoomName">How members are told the room's name: its alias when it has one, else its id.</param>
/// <param name="Enabled">Selling (<c>on</c>); members keep their time and may renew either way.</param>
/// <param name="Grace">How long a member whose time ended stays before removal.</param>
/// <param name="PriceMsat">The default plan's price.</param>
/// <param name="Period">The default plan's period; null: lifetime access.</param>
/// <param name="Trial">The free trial's length; null: no trial.</param>
/// <param name="RemindLead">What the owner chose with <c>remind</c>: null follows <see cref="AccessRules.ReminderLead"/>, zero is off.</param>
/// <param name="DefaultPlan">The default plan's name.</param>
public sealed record Gate(string RoomId, string RoomName, bool Enabled, TimeSpan Grace, long PriceMsat, TimeSpan? Period,
    TimeSpan? Trial = null, TimeSpan? RemindLead = null, string DefaultPlan = Plans.Default);

/// <summary>A way to pay for a room: a price for a period (null: lifetime).</summary>
public sealed record Plan(string Name, long PriceMsat, TimeSpan? Period, bool IsDefault);

/// <summary>Where an order came from. Stored as lowercase text (<c>orders.origin</c>).</summary>
public enum OrderOrigin
{
    /// <summary>A member's <c>join</c> or <c>renew</c>.</summary>
    Command,
    /// <summary>A knock on the room: declined (the knocker kicked) when the invoice expires unpaid.</summary>
    Knock,
    /// <summary>Sent with a reminder, or with the notice that the member's time ended.</summary>
    Reminder,
}

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
    DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt, DateTimeOffset? AppliedAt, string? RequestRoomId,
    OrderOrigin Origin = OrderOrigin.Command);

/// <summary>Orders still pending with a backend that is not the configured one.</summary>
public sealed record PendingElsewhere(string Backend, long Count, DateTimeOffset LatestExpiry);

/// <summary>Where a member's time in a room came from. Stored as lowercase text (<c>subscriptions.source</c>).</summary>
public enum SubscriptionSource
{
    Paid,
    /// <summary>Complimentary time from an owner (<c>grant</c>).</summary>
    Grant,
    /// <summary>The room's free trial (<c>join &lt;room&gt; trial</c>).</summary>
    Trial,
}

/// <param name="ExpiresAt">Null: lifetime.</param>
/// <param name="ExpiredAt">When the sweep decided removal for the current expiry; null while active.</param>
/// <param name="PlanName">The plan last paid for; null for grants and trials.</param>
/// <param name="RemindersOff">The member said <c>reminders off</c> for this room.</param>
public sealed record Subscription(string RoomId, string UserId, DateTimeOffset? ExpiresAt, SubscriptionSource Source, DateTimeOffset? ExpiredAt,
    string? PlanName = null, bool RemindersOff = false)
{
    /// <summary>Not yet claimed for removal: running, or in its grace.</summary>
    public bool IsActive => ExpiredAt is null;
}

/// <summary>Time added to a member's subscription: by a payment, a grant or a trial.</summary>
/// <param name="ExpiresAt">The new end; null: lifetime.</param>
/// <param name="Period">How much was added (reminder leads are at most half of it); null: lifetime.</param>
/// <param name="RemindAt">When to remind the member (<see cref="AccessRules.RemindAt"/>); null: no reminder.</param>
public sealed record Term(DateTimeOffset? ExpiresAt, SubscriptionSource Source, string? PlanName, TimeSpan? Period, DateTimeOffset? RemindAt);

/// <summary>A subscription whose reminder or removal has come due.</summary>
/// <param name="PlanName">The plan last paid for (renewals offer it); null for grants and trials (they are offered the default).</param>
public sealed record DueSubscription(string RoomId, string UserId, DateTimeOffset ExpiresAt, SubscriptionSource Source = SubscriptionSource.Paid,
    string? PlanName = null);

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

/// <summary>What decided a membership action (<c>membership_actions.cause</c>).</summary>
public static class MembershipCauses
{
    private const string KnockPrefix = "knock:";

    /// <summary>An owner's <c>revoke</c>.</summary>
    public const string Revoke = "revoke";

    /// <summary>An owner's <c>grant</c>.</summary>
    public const string Grant = "grant";

    /// <summary>A member's free trial.</summary>
    public const string Trial = "trial";

    /// <summary>The knock's invoice expired unpaid: the kick declines the knock, and is skipped if they are no longer knocking.</summary>
    public static string DeclineKnock(string orderId) => KnockPrefix + orderId;

    public static bool IsKnockDecline(string cause) => cause.StartsWith(KnockPrefix, StringComparison.Ordinal);
}

/// <summary>An invite or kick the decision queued, to be carried out by the membership worker.</summary>
/// <param name="Cause">What decided it: <c>order:&lt;id&gt;</c>, <c>sweep</c>.</param>
/// <param name="ReportedAt">When the room and the member were told it failed (it then waited for power); null if never.</param>
public sealed record MembershipAction(long Id, string RoomId, string UserId, MembershipActionKind Action, string? Reason, string Cause, long Attempts,
    DateTimeOffset? ReportedAt = null);
