namespace Doorman.Access;

/// <summary>
/// Decides what deadlines bring (DESIGN §3 "Scheduler"): every subscription whose expiry plus grace has passed is
/// claimed with a conditional update — so each deadline is acted on once, even by overlapping sweeps — and its
/// removal queued in the same transaction; every reminder that has come due is claimed and queued likewise.
/// Returns the next deadline, so the next sweep can run right at it.
/// </summary>
public sealed partial class Sweeper(
    IDatabase database,
    ISubscriptionStore subscriptions,
    IMembershipActions actions,
    IMemberNotices notices,
    OutboxSignals signals,
    TimeProvider time,
    ILogger<Sweeper> logger)
{
    private const int Batch = 200;

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

        await RemindAsync(now, cancellationToken);
        return await database.ReadAsync(tx => subscriptions.NextDeadlineAsync(tx), cancellationToken);
    }

    /// <summary>Tells members whose time is about to run out how to renew, once per expiry.</summary>
    private async Task RemindAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        var reminded = await database.WriteAsync(async tx =>
        {
            var count = 0;
            foreach (var due in await subscriptions.RemindersDueAsync(tx, now, Batch))
            {
                if (!await subscriptions.ClaimReminderAsync(tx, due, now))
                    continue;
                await notices.ReminderAsync(tx, due, now);
                count++;
            }
            return count;
        }, cancellationToken);
        if (reminded > 0)
            signals.Messages.Set();
    }

    [LoggerMessage(LogLevel.Information, "{UserId}'s time in {RoomId} ran out at {ExpiresAt}; removal queued")]
    private partial void LogExpired(string userId, string roomId, DateTimeOffset expiresAt);
}
