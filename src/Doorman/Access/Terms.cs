namespace Doorman.Access;

/// <summary>
/// Adds time to a member's subscription — a payment, a grant, a trial — and queues their invite, in the caller's
/// transaction. The one place the new end and the reminder time are worked out (<see cref="AccessRules.Extend"/>,
/// <see cref="AccessRules.RemindAt"/>).
/// </summary>
public sealed class Terms(ISubscriptionStore subscriptions, IMembershipActions actions)
{
    /// <param name="period">Time to add; null: lifetime.</param>
    /// <param name="grace">Within this long after the member's end, time is added from that end, not from now.</param>
    /// <param name="planName">The plan paid for; null keeps the plan the member had (grants and trials pay for none).</param>
    /// <param name="cause">What the invite is for: <c>order:&lt;id&gt;</c>, <c>grant</c>, <c>trial</c>.</param>
    public async Task<Term> AddAsync(ITx tx, Gate gate, string userId, SubscriptionSource source, string? planName, TimeSpan? period,
        TimeSpan grace, string cause, DateTimeOffset now)
    {
        var current = await subscriptions.GetAsync(tx, gate.RoomId, userId);
        var active = current is { IsActive: true };
        var expiry = AccessRules.Extend(current?.ExpiresAt, active, period, now, grace);
        var remindAt = AccessRules.RemindAt(expiry, period, gate.RemindLead, current?.RemindersOff ?? false);
        var term = new Term(expiry, source, planName ?? current?.PlanName, period, remindAt);
        await subscriptions.SetTermAsync(tx, gate.RoomId, userId, term, now);
        await actions.EnqueueAsync(tx, gate.RoomId, userId, MembershipActionKind.Invite, null, cause, now);
        return term;
    }
}
