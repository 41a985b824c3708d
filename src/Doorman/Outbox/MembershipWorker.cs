using System.Net;
using Doorman.Access;
using Doorman.Homeserver;
using Doorman.Matrix;
using Doorman.Matrix.Events;
using Doorman.Messaging;
using Doorman.Rooms;
using Doorman.Storage;
using Microsoft.Extensions.Options;

namespace Doorman.Outbox;

/// <summary>
/// Carries out the invites and kicks in <c>membership_actions</c>. Each action re-reads live state first: an
/// invite is skipped for someone already in the room, and a kick is re-checked against the rules (the bot, a
/// creator, a protected level, an exemption, time left: never removed). A failure the bot cannot fix (it lacks
/// power, the room is gone) is reported to the room once and not retried; anything else is retried with backoff.
/// </summary>
public sealed partial class MembershipWorker(
    Database database,
    MembershipActionStore actions,
    SubscriptionStore subscriptions,
    ExemptionStore exemptions,
    GateStore gates,
    MessageOutbox outbox,
    MatrixClient matrix,
    RoomDirectory rooms,
    OutboxSignals signals,
    IOptions<MatrixOptions> matrixOptions,
    TimeProvider time,
    ILogger<MembershipWorker> logger) : OutboxWorker(signals.Membership, time, logger)
{
    private const int MaxAttempts = 30;

    protected override string QueueName => "membership";

    protected override async Task<bool> RunDueAsync(CancellationToken stoppingToken)
    {
        var due = await database.ReadAsync(tx => actions.DueAsync(tx, Time.GetUtcNow(), 20), stoppingToken);
        foreach (var action in due)
            await RunAsync(action, stoppingToken);
        return due.Count > 0;
    }

    private async Task RunAsync(MembershipAction action, CancellationToken cancellationToken)
    {
        try
        {
            if (action.Action == MembershipActionKind.Invite)
                await InviteAsync(action, cancellationToken);
            else
                await KickAsync(action, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (MatrixException e) when (e.IsForbidden || e.Status == HttpStatusCode.NotFound)
        {
            await FailAsync(action, e.Error, cancellationToken);
        }
        catch (Exception e) when (e is not MatrixException { IsUnknownToken: true })
        {
            var now = Time.GetUtcNow();
            if (action.Attempts + 1 >= MaxAttempts)
            {
                await FailAsync(action, e.Message, cancellationToken);
                return;
            }
            var wait = RetryDelay(action.Attempts);
            LogRetrying(action.Action, action.UserId, action.RoomId, wait, e.Message);
            await database.WriteAsync(tx => actions.RetryLaterAsync(tx, action.Id, e.Message, now + wait, now), cancellationToken);
        }
    }

    private async Task InviteAsync(MembershipAction action, CancellationToken cancellationToken)
    {
        var (subscription, gate) = await database.ReadAsync(async tx =>
            (await subscriptions.GetAsync(tx, action.RoomId, action.UserId), await gates.GetAsync(tx, action.RoomId)), cancellationToken);
        var roomName = gate?.RoomName ?? action.RoomId;
        var until = subscription?.ExpiresAt;

        var membership = await matrix.GetMembershipAsync(action.RoomId, action.UserId, cancellationToken);
        var alreadyIn = membership is Membership.Join or Membership.Invite;
        if (membership == Membership.Ban)
        {
            await FailAsync(action, $"{action.UserId} is banned from the room", cancellationToken);
            return;
        }
        if (!alreadyIn)
            await matrix.InviteAsync(action.RoomId, action.UserId, MembershipTexts.InviteReason, cancellationToken);

        var now = Time.GetUtcNow();
        await database.WriteAsync(async tx =>
        {
            await actions.FinishAsync(tx, action.Id, MembershipActionStatus.Done, alreadyIn ? $"already {membership}" : null, now);
            await outbox.ToUserAsync(tx, action.UserId,
                membership == Membership.Join ? MembershipTexts.Renewed(roomName, until) : MembershipTexts.Welcome(roomName, until), now);
        }, cancellationToken);
        outbox.Wake();
        LogInvited(action.UserId, action.RoomId, alreadyIn);
    }

    private async Task KickAsync(MembershipAction action, CancellationToken cancellationToken)
    {
        var now = Time.GetUtcNow();
        var (subscription, gate, exempt) = await database.ReadAsync(async tx =>
            (await subscriptions.GetAsync(tx, action.RoomId, action.UserId), await gates.GetAsync(tx, action.RoomId),
             await exemptions.IsExemptAsync(tx, action.RoomId, action.UserId)), cancellationToken);
        var power = await rooms.GetPowerAsync(action.RoomId, cancellationToken);
        var decision = AccessRules.MayRemove(action.UserId, matrixOptions.Value.UserId, power, exempt, subscription?.ExpiresAt,
            subscription is not null, gate?.Grace ?? TimeSpan.Zero, now);
        if (!decision.Allowed)
        {
            LogNotRemoved(action.UserId, action.RoomId, decision.WhyNot!);
            await database.WriteAsync(tx => actions.FinishAsync(tx, action.Id, MembershipActionStatus.Skipped, decision.WhyNot, now), cancellationToken);
            return;
        }

        var membership = await matrix.GetMembershipAsync(action.RoomId, action.UserId, cancellationToken);
        var present = membership is Membership.Join or Membership.Invite or Membership.Knock;
        if (present)
            await matrix.KickAsync(action.RoomId, action.UserId, MembershipTexts.KickReason, cancellationToken);

        await database.WriteAsync(async tx =>
        {
            await actions.FinishAsync(tx, action.Id, present ? MembershipActionStatus.Done : MembershipActionStatus.Skipped, present ? null : "not in the room", now);
            if (present && subscription?.ExpiresAt is { } expiredAt)
                await outbox.ToUserAsync(tx, action.UserId, MembershipTexts.Removed(gate?.RoomName ?? action.RoomId, expiredAt), now);
        }, cancellationToken);
        outbox.Wake();
        if (present)
            LogRemoved(action.UserId, action.RoomId);
    }

    /// <summary>A failure retrying cannot fix: recorded, logged once, and reported to the room (and the member, for invites).</summary>
    private async Task FailAsync(MembershipAction action, string why, CancellationToken cancellationToken)
    {
        var now = Time.GetUtcNow();
        LogFailed(action.Action, action.UserId, action.RoomId, why);
        var roomName = await database.ReadAsync(tx => gates.GetAsync(tx, action.RoomId), cancellationToken) is { } gate ? gate.RoomName : action.RoomId;
        await database.WriteAsync(async tx =>
        {
            await actions.FinishAsync(tx, action.Id, MembershipActionStatus.Failed, why, now);
            if (action.Action == MembershipActionKind.Invite)
            {
                await outbox.ToRoomAsync(tx, action.RoomId, MembershipTexts.CannotInvite(action.UserId, why), now);
                await outbox.ToUserAsync(tx, action.UserId, MembershipTexts.InviteFailedToMember(roomName), now);
            }
            else
            {
                await outbox.ToRoomAsync(tx, action.RoomId, MembershipTexts.CannotKick(action.UserId, why), now);
            }
        }, cancellationToken);
        outbox.Wake();
    }

    [LoggerMessage(LogLevel.Information, "Invited {UserId} to {RoomId} (already in: {AlreadyIn})")]
    private partial void LogInvited(string userId, string roomId, bool alreadyIn);

    [LoggerMessage(LogLevel.Information, "Removed {UserId} from {RoomId}: paid time over")]
    private partial void LogRemoved(string userId, string roomId);

    [LoggerMessage(LogLevel.Information, "Not removing {UserId} from {RoomId}: {Why}")]
    private partial void LogNotRemoved(string userId, string roomId, string why);

    [LoggerMessage(LogLevel.Warning, "Could not {Action} {UserId} in {RoomId} ({Error}); retrying in {Wait}")]
    private partial void LogRetrying(MembershipActionKind action, string userId, string roomId, TimeSpan wait, string error);

    [LoggerMessage(LogLevel.Error, "Cannot {Action} {UserId} in {RoomId}: {Why}. Reported to the room; not retrying")]
    private partial void LogFailed(MembershipActionKind action, string userId, string roomId, string why);
}
