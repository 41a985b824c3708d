using Doorman.Matrix.Rooms;

namespace Doorman.Access;

/// <summary>Who may do what to whom. Pure functions of room state, configuration and time.</summary>
public static class AccessRules
{
    /// <summary>
    /// The new expiry after paying for <paramref name="period"/>: it runs from the later of now and the current
    /// expiry, so paying early never loses days (DESIGN rule 3); paid within the room's <paramref name="grace"/> after
    /// the end, it runs from that end, so grace gives no free days and loses none. A lifetime plan (null period) or a
    /// current lifetime subscription gives null (never expires).
    /// Total: it never throws. A sum past the last instant a <see cref="DateTimeOffset"/> holds saturates at
    /// <see cref="DateTimeOffset.MaxValue"/> (9999-12-31), so a settlement is always applied. Orders do not get
    /// near that: <see cref="OrderLimits.BeyondReach"/> refuses, at order time, one that would take paid time more
    /// than <see cref="OrderLimits.MaxPaidAhead"/> ahead.
    /// </summary>
    public static DateTimeOffset? Extend(DateTimeOffset? currentExpiry, bool hasSubscription, TimeSpan? period, DateTimeOffset now,
        TimeSpan grace = default)
    {
        if (period is null || (hasSubscription && currentExpiry is null))
            return null;
        var from = hasSubscription && currentExpiry is { } current && Instants.AddSaturating(current, grace) > now ? current : now;
        return Instants.AddSaturating(from, period.Value);
    }

    /// <summary>
    /// When to remind a member before <paramref name="expiresAt"/>: the owner's lead (<c>remind</c>), never more than
    /// half the <paramref name="period"/> just added, else <see cref="ReminderLead"/>. Null, no reminder: lifetime,
    /// the owner said <c>remind off</c> (a zero lead), or the member said <c>reminders off</c>.
    /// </summary>
    public static DateTimeOffset? RemindAt(DateTimeOffset? expiresAt, TimeSpan? period, TimeSpan? ownerLead, bool remindersOff)
    {
        if (expiresAt is not { } end || remindersOff || ownerLead == TimeSpan.Zero)
            return null;
        var lead = ownerLead is { } chosen
            ? period is { } p && chosen > p / 2 ? p / 2 : chosen
            : ReminderLead(period);
        return lead is { } l && l > TimeSpan.Zero ? Instants.AddSaturating(end, -l) : null;
    }

    /// <summary>
    /// Whether a member may start the room's free trial: the room offers one, and the member has neither taken it
    /// before nor ever paid for the room.
    /// </summary>
    public static TrialRefusal? MayStartTrial(Gate gate, bool tookTrial, bool paidBefore, Subscription? current, DateTimeOffset now) =>
        gate.Trial is null ? TrialRefusal.NotOffered
        : tookTrial ? TrialRefusal.TakenBefore
        : paidBefore ? TrialRefusal.PaidBefore
        : current is { IsActive: true } && (current.ExpiresAt is null || current.ExpiresAt > now) ? TrialRefusal.HasAccess
        : null;

    /// <summary>
    /// How long before the end of a period the member is reminded to renew: three days for periods of a week or
    /// more, a tenth of the period for shorter ones down to an hour, and no reminder for shorter periods (a
    /// reminder seconds before the end is noise) or lifetime plans.
    /// </summary>
    public static TimeSpan? ReminderLead(TimeSpan? period) => period switch
    {
        null => null,
        { } p when p >= TimeSpan.FromDays(7) => TimeSpan.FromDays(3),
        { } p when p >= TimeSpan.FromHours(1) => p / 10,
        _ => null,
    };

    /// <summary>
    /// An owner may configure the room: an operator, a creator (room version 12 creators outrank everyone), or a
    /// user whose level meets what <c>m.room.power_levels</c> itself requires. Read from live state (rule 6).
    /// </summary>
    public static bool IsOwner(string userId, RoomPower power, IReadOnlyCollection<string> operators) =>
        operators.Contains(userId, StringComparer.Ordinal)
        || (power.Creation.CreatorsHaveInfinitePower && power.IsCreator(userId))
        || power.CanChangePowerLevels(userId);

    /// <summary>
    /// Whether the expiry may remove <paramref name="userId"/> (DESIGN rule 5), and if not, why not. Never: the bot
    /// itself, a room creator, anyone at or above the protected level (default: above <c>users_default</c>), an
    /// exempt user, or anyone with time left.
    /// </summary>
    public static RemovalDecision MayRemove(string userId, string botUserId, RoomPower power, bool exempt,
        DateTimeOffset? expiresAt, bool hasSubscription, TimeSpan grace, DateTimeOffset now, long? protectedLevel = null)
    {
        if (userId == botUserId)
            return RemovalDecision.No("it is the bot itself");
        if (power.IsCreator(userId))
            return RemovalDecision.No("they created the room");
        var level = power.LevelOf(userId);
        var threshold = protectedLevel ?? power.UsersDefault + 1;
        if (level >= threshold)
            return RemovalDecision.No($"their power level {level} is at or above the protected level {threshold}");
        if (exempt)
            return RemovalDecision.No("they are exempt");
        if (hasSubscription && (expiresAt is null || expiresAt.Value + grace > now))
            return RemovalDecision.No("they have time left");
        return RemovalDecision.Yes;
    }
}

/// <summary>Why a member may not start a free trial.</summary>
public enum TrialRefusal
{
    NotOffered,
    TakenBefore,
    PaidBefore,
    /// <summary>They have time in the room already: a trial would add nothing.</summary>
    HasAccess,
}

public sealed record RemovalDecision(bool Allowed, string? WhyNot)
{
    public static readonly RemovalDecision Yes = new(true, null);

    public static RemovalDecision No(string why) => new(false, why);
}
