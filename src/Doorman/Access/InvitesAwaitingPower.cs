namespace Doorman.Access;

/// <summary>
/// Invites that failed because the bot lacked the power to invite wait (<see cref="MembershipActionStatus.AwaitingPower"/>)
/// for the bot's power in the room to change. When it may have — the room's <c>m.room.power_levels</c> changed — they are
/// queued again and the membership worker carries them out, telling the member; if the power is still lacking, they go
/// back to waiting without telling anyone twice.
/// </summary>
public sealed partial class InvitesAwaitingPower(
    IDatabase database,
    IMembershipActions actions,
    OutboxSignals signals,
    TimeProvider time,
    ILogger<InvitesAwaitingPower> logger)
{
    /// <summary>Queues the room's invites that wait for power again; returns how many. Cheap when there are none.</summary>
    public async Task<int> RetryInvitesAwaitingPowerAsync(string roomId, CancellationToken cancellationToken)
    {
        var count = await database.WriteAsync(tx => actions.RequeueAwaitingPowerAsync(tx, roomId, time.GetUtcNow()), cancellationToken);
        if (count > 0)
        {
            signals.Membership.Set();
            LogRequeued(count, roomId);
        }
        return count;
    }

    [LoggerMessage(LogLevel.Information, "The power levels of {RoomId} changed: {Count} invite(s) that lacked power queued again")]
    private partial void LogRequeued(int count, string roomId);
}
