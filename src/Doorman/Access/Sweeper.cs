namespace Doorman.Access;

/// <summary>
/// Decides what deadlines bring (DESIGN §3 "Scheduler"): every subscription whose expiry plus grace has passed is
/// claimed with a conditional update — so each deadline is acted on once, even by overlapping sweeps — and its
/// removal queued in the same transaction. Reminders, and in rooms with grace the notice that time has ended, carry a
/// renewal invoice: it is asked of the payment backend first, then the claim and the notice are written together
/// with the order (<see cref="Ordering"/>). Returns the next deadline, so the next sweep can run right at it.
/// </summary>
public sealed partial class Sweeper(
    IDatabase database,
    IGateStore gates,
    ISubscriptionStore subscriptions,
    IExemptionStore exemptions,
    IMembershipActions actions,
    IMemberNotices notices,
    Ordering ordering,
    OutboxSignals signals,
    IAccessMetrics metrics,
    TimeProvider time,
    ILogger<Sweeper> logger)
{
    private const int Batch = 200;

    /// <summary>The longest a renewal invoice stays payable.</summary>
    public static readonly TimeSpan MaxRenewalValidity = TimeSpan.FromDays(7);

    /// <summary>Below this much time left, a renewal invoice gets the usual validity (<c>Payments:InvoiceExpiry</c>).</summary>
    private static readonly TimeSpan MinRenewalValidity = TimeSpan.FromHours(1);

    public async Task<DateTimeOffset?> SweepAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        int claimed;
        do
        {
            claimed = await database.WriteAsync(async tx =>
            {
                var count = 0;
                var due = await subscriptions.DueAsync(tx, now, Batch);
                foreach (var subscription in due)
                {
                    if (!await subscriptions.ClaimExpiryAsync(tx, subscription, now))
                        continue;
                    await actions.EnqueueAsync(tx, subscription.RoomId, subscription.UserId, MembershipActionKind.Kick, null, "sweep", now);
                    LogExpired(subscription.UserId, subscription.RoomId, subscription.ExpiresAt);
                    count++;
                }
                return due.Count == Batch ? Math.Max(count, 1) : 0;
            }, cancellationToken);
            if (claimed > 0)
                signals.Membership.Set();
        }
        while (claimed > 0);

        var ends = await database.ReadAsync(tx => subscriptions.EndsDueAsync(tx, now, Batch), cancellationToken);
        foreach (var due in ends)
            await NotifyAsync(due, ended: true, cancellationToken);
        var reminders = await database.ReadAsync(tx => subscriptions.RemindersDueAsync(tx, now, Batch), cancellationToken);
        foreach (var due in reminders)
            await NotifyAsync(due, ended: false, cancellationToken);
        if (ends.Count + reminders.Count > 0)
            signals.Messages.Set();
        return await database.ReadAsync(tx => subscriptions.NextDeadlineAsync(tx), cancellationToken);
    }

    /// <summary>
    /// A reminder (the member's time ends soon) or, when <paramref name="ended"/>, the notice that it has ended and
    /// until when they can still renew: once per expiry, with a renewal invoice valid until then (at most
    /// <see cref="MaxRenewalValidity"/>) when the backend makes one. Exempt members are not reminded.
    /// </summary>
    private async Task NotifyAsync(DueSubscription due, bool ended, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var (gate, exempt) = await database.ReadAsync(async tx =>
            (await gates.GetAsync(tx, due.RoomId), await exemptions.IsExemptAsync(tx, due.RoomId, due.UserId)), cancellationToken);
        var removalAt = Instants.AddSaturating(due.ExpiresAt, gate?.Grace ?? TimeSpan.Zero);
        if (exempt || gate is null)
        {
            await database.WriteAsync(tx => ClaimAsync(tx), cancellationToken);
            return;
        }

        var told = false; // set in the transaction that queues the notice; counted once it has committed
        var left = (ended ? removalAt : due.ExpiresAt) - now;
        var request = new OrderRequest(due.RoomId, due.UserId, null, Renewal: true, Origin: OrderOrigin.Reminder,
            Validity: left >= MinRenewalValidity ? (left < MaxRenewalValidity ? left : MaxRenewalValidity) : null);
        var result = await ordering.PlaceAsync(request, async (tx, placed) => await ClaimAsync(tx) && await TellAsync(tx, placed.Order), cancellationToken);
        if (result is not OrderPlaced)
        {
            // No invoice (the backend is down, the bot lost its power to invite…): the notice goes out without one,
            // and says how to ask for one.
            LogNoInvoice(due.UserId, due.RoomId, result);
            await database.WriteAsync(async tx => await ClaimAsync(tx) && await TellAsync(tx, null), cancellationToken);
        }
        if (told && !ended)
            metrics.ReminderQueued();

        Task<bool> ClaimAsync(ITx tx) => ended ? subscriptions.ClaimEndAsync(tx, due, now) : subscriptions.ClaimReminderAsync(tx, due, now);

        async Task<bool> TellAsync(ITx tx, Order? invoice)
        {
            if (ended)
                await notices.TimeEndedAsync(tx, due, removalAt, invoice, now);
            else
                await notices.ReminderAsync(tx, due, invoice, now);
            told = true;
            return true;
        }
    }

    [LoggerMessage(LogLevel.Information, "{UserId}'s time in {RoomId} ran out at {ExpiresAt}; removal queued")]
    private partial void LogExpired(string userId, string roomId, DateTimeOffset expiresAt);

    [LoggerMessage(LogLevel.Warning, "No renewal invoice for {UserId} in {RoomId} ({Result}); told them without one")]
    private partial void LogNoInvoice(string userId, string roomId, OrderResult result);
}
