using System.Net;
using Doorman.Access;
using Doorman.Homeserver;
using Doorman.Matrix;
using Doorman.Matrix.Events;
using Doorman.Messaging;
using Doorman.Metrics;
using Doorman.Rooms;
using Doorman.Storage;
using Microsoft.Extensions.Options;

namespace Doorman.Outbox;

/// <summary>
/// Carries out the invites and kicks in <c>membership_actions</c>. Each action re-reads live state first: an
/// invite is skipped for someone already in the room, and a kick is re-checked against the rules (the bot, a
/// creator, a protected level, an exemption, time left: never removed). A failure the bot cannot fix (it lacks
/// power, the room is gone, the member is banned) is reported to the room once and not retried; anything else is
/// retried with backoff, and reported once when the bot gives up. An invite the bot lacked the power for waits
/// (<see cref="MembershipActionStatus.AwaitingPower"/>) until the room's power levels change
/// (<see cref="InvitesAwaitingPower"/>), then is tried again: the member is told when it goes through, and no one is
/// told twice if the power is still lacking. Reports say what kind of failure it was, in our
/// words (<see cref="MembershipFailure"/>); the homeserver's error text goes only to the log and the outbox row.
/// </summary>
public sealed partial class MembershipWorker(
    Database database,
    MembershipActionStore actions,
    SubscriptionStore subscriptions,
    ExemptionStore exemptions,
    GateStore gates,
    MessageOutbox outbox,
    IOwnerAlerts alerts,
    MatrixClient matrix,
    RoomDirectory rooms,
    OutboxSignals signals,
    IOptions<MatrixOptions> matrixOptions,
    DoormanMetrics metrics,
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
        var started = Time.GetUtcNow();
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
        catch (MatrixException e) when (e.Status is HttpStatusCode.Forbidden or HttpStatusCode.NotFound)
        {
            // A refusal, whatever its errcode (M_FORBIDDEN, or M_BAD_STATE for a banned member): find out why.
            MembershipFailure why;
            try
            {
                why = await WhyRefusedAsync(action, e, cancellationToken);
            }
            catch (Exception inner) when (inner is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                await RetryOrGiveUpAsync(action, inner, cancellationToken);
                return;
            }
            if (why == MembershipFailure.Refused && action.Attempts == 0)
            {
                // The bot has the power now and the member is not banned: the refusal may have raced a change of the
                // room's power levels. Once more before calling it a refusal.
                await RetryOrGiveUpAsync(action, e, cancellationToken);
                return;
            }
            await FailAsync(action, why, e.Message, started, cancellationToken);
        }
        catch (Exception e) when (e is not MatrixException { IsUnknownToken: true })
        {
            await RetryOrGiveUpAsync(action, e, cancellationToken);
        }
    }

    private async Task RetryOrGiveUpAsync(MembershipAction action, Exception e, CancellationToken cancellationToken)
    {
        var now = Time.GetUtcNow();
        if (action.Attempts + 1 >= MaxAttempts)
        {
            await FailAsync(action, MembershipFailure.HomeserverFailing, e.Message, null, cancellationToken);
            return;
        }
        var wait = RetryDelay(action.Attempts);
        LogRetrying(action.Action, action.UserId, action.RoomId, wait, e.Message);
        await database.WriteAsync(tx => actions.RetryLaterAsync(tx, action.Id, e.Message, now + wait, now), cancellationToken);
    }

    /// <summary>
    /// The homeserver refused (403, 404): find out why from live state, since its error text is neither stable across
    /// servers nor fit for chat. The bot not in the room (its state unreadable) → gone; too low a power level for the
    /// action (or, for a kick, not above the member's: CS API §"m.room.power_levels") → no power; the member banned →
    /// banned; otherwise simply refused.
    /// </summary>
    private async Task<MembershipFailure> WhyRefusedAsync(MembershipAction action, MatrixException refusal, CancellationToken cancellationToken)
    {
        if (refusal.Status == HttpStatusCode.NotFound)
            return MembershipFailure.RoomGone;
        Matrix.Rooms.RoomPower power;
        try
        {
            power = await rooms.GetPowerAsync(action.RoomId, cancellationToken);
        }
        catch (MatrixException e) when (e.Status is HttpStatusCode.Forbidden or HttpStatusCode.NotFound)
        {
            return MembershipFailure.RoomGone;
        }
        var bot = matrixOptions.Value.UserId;
        var mayAct = action.Action == MembershipActionKind.Invite ? power.CanInvite(bot) : power.CanKick(bot, action.UserId);
        if (!mayAct)
            return MembershipFailure.NoPower;
        if (await matrix.GetMembershipAsync(action.RoomId, action.UserId, cancellationToken) == Membership.Ban)
            return MembershipFailure.Banned;
        return MembershipFailure.Refused;
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
            await FailAsync(action, MembershipFailure.Banned, "banned from the room", null, cancellationToken);
            return;
        }
        if (!alreadyIn)
            await matrix.InviteAsync(action.RoomId, action.UserId, MembershipTexts.InviteReason, cancellationToken);

        var now = Time.GetUtcNow();
        // A trial or a grant was announced when it was given (MemberCommands.cs, OwnerCommands.cs): no "payment received".
        var paid = action.Cause.StartsWith("order:", StringComparison.Ordinal);
        var told = action.ReportedAt is not null && !alreadyIn ? MembershipTexts.InvitedAfterWaiting(roomName, until)
            : !paid ? alreadyIn ? null : MembershipTexts.Invited(roomName)
            : membership == Membership.Join ? MembershipTexts.Renewed(roomName, until) : MembershipTexts.Welcome(roomName, until);
        await database.WriteAsync(async tx =>
        {
            await actions.FinishAsync(tx, action.Id, MembershipActionStatus.Done, alreadyIn ? $"already {membership}" : null, now);
            if (told is not null)
                await outbox.ToUserAsync(tx, action.UserId, told, now);
            await alerts.ClearAsync(tx, action.RoomId, AlertKind.Membership, now);
        }, cancellationToken);
        outbox.Wake();
        metrics.MembershipAction(action.Action, DoormanMetrics.Outcomes.Done);
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
            subscription is not null, action.Cause == MembershipCauses.Revoke ? TimeSpan.Zero : gate?.Grace ?? TimeSpan.Zero, now);
        if (!decision.Allowed)
        {
            LogNotRemoved(action.UserId, action.RoomId, decision.WhyNot!);
            await database.WriteAsync(tx => actions.FinishAsync(tx, action.Id, MembershipActionStatus.Skipped, decision.WhyNot, now), cancellationToken);
            metrics.MembershipAction(action.Action, DoormanMetrics.Outcomes.Skipped);
            return;
        }

        var membership = await matrix.GetMembershipAsync(action.RoomId, action.UserId, cancellationToken);
        var present = membership is Membership.Join or Membership.Invite or Membership.Knock;
        if (MembershipCauses.IsKnockDecline(action.Cause) && membership != Membership.Knock)
        {
            // Declining a knock kicks only a knocker: someone who got in (or left) meanwhile is left alone.
            await database.WriteAsync(tx => actions.FinishAsync(tx, action.Id, MembershipActionStatus.Skipped, $"no longer knocking ({membership ?? "none"})", now), cancellationToken);
            metrics.MembershipAction(action.Action, DoormanMetrics.Outcomes.Skipped);
            return;
        }
        if (present)
            await matrix.KickAsync(action.RoomId, action.UserId,
                MembershipCauses.IsKnockDecline(action.Cause) ? MembershipTexts.KnockDeclinedReason
                : action.Cause == MembershipCauses.Revoke ? MembershipTexts.RevokeReason : MembershipTexts.KickReason, cancellationToken);

        await database.WriteAsync(async tx =>
        {
            await actions.FinishAsync(tx, action.Id, present ? MembershipActionStatus.Done : MembershipActionStatus.Skipped, present ? null : "not in the room", now);
            if (present)
                await alerts.ClearAsync(tx, action.RoomId, AlertKind.Membership, now);
            if (present && action.Cause == MembershipCauses.Revoke)
                await outbox.ToUserAsync(tx, action.UserId, MembershipTexts.Revoked(gate?.RoomName ?? action.RoomId), now);
            else if (present && subscription?.ExpiresAt is { } expiredAt)
                await outbox.ToUserAsync(tx, action.UserId, MembershipTexts.Removed(gate?.RoomName ?? action.RoomId, expiredAt), now);
        }, cancellationToken);
        outbox.Wake();
        metrics.MembershipAction(action.Action, present ? DoormanMetrics.Outcomes.Done : DoormanMetrics.Outcomes.Skipped);
        if (present)
            LogRemoved(action.UserId, action.RoomId);
    }

    /// <summary>
    /// A failure retrying cannot fix: recorded (with <paramref name="detail"/>, the homeserver's words), logged once, and
    /// reported in our words to the room (unless it is gone) and, for invites, to the member. An invite the bot lacked
    /// the power for waits for power instead; when it had waited before (and was reported then), no one is told again.
    /// </summary>
    /// <param name="attemptStarted">When the failed attempt began: a power change after it means try again, not wait.</param>
    private async Task FailAsync(MembershipAction action, MembershipFailure why, string detail, DateTimeOffset? attemptStarted,
        CancellationToken cancellationToken)
    {
        var now = Time.GetUtcNow();
        var note = $"{why}: {detail}";
        var awaitsPower = why == MembershipFailure.NoPower && action.Action == MembershipActionKind.Invite;
        if (awaitsPower && action.ReportedAt is not null)
        {
            LogStillNoPower(action.UserId, action.RoomId);
            await database.WriteAsync(tx => actions.AwaitPowerAsync(tx, action.Id, note, attemptStarted ?? now, now), cancellationToken);
            return;
        }
        LogFailed(action.Action, action.UserId, action.RoomId, why, detail, awaitsPower ? "waiting for power" : "not retrying");
        var roomName = await database.ReadAsync(tx => gates.GetAsync(tx, action.RoomId), cancellationToken) is { } gate ? gate.RoomName : action.RoomId;
        await database.WriteAsync(async tx =>
        {
            if (awaitsPower)
                await actions.AwaitPowerAsync(tx, action.Id, note, attemptStarted ?? now, now);
            else
                await actions.FinishAsync(tx, action.Id, MembershipActionStatus.Failed, note, now);
            // The owners hear it once per incident, by DM, however many members it hits (and again when it is over).
            await alerts.RaiseAsync(tx, action.RoomId, AlertKind.Membership, (action.Action == MembershipActionKind.Invite
                ? MembershipTexts.CannotInvite(action.UserId, why) : MembershipTexts.CannotKick(action.UserId, why)).PlainText, now);
            if (why != MembershipFailure.RoomGone)
            {
                await outbox.ToRoomAsync(tx, action.RoomId, action.Action == MembershipActionKind.Invite
                    ? MembershipTexts.CannotInvite(action.UserId, why) : MembershipTexts.CannotKick(action.UserId, why), now);
            }
            if (action.Action == MembershipActionKind.Invite)
                await outbox.ToUserAsync(tx, action.UserId, MembershipTexts.InviteFailedToMember(roomName, why), now);
        }, cancellationToken);
        metrics.MembershipAction(action.Action, DoormanMetrics.Outcomes.Failed);
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

    [LoggerMessage(LogLevel.Error, "Cannot {Action} {UserId} in {RoomId}: {Why} ({Detail}). Reported; {Next}")]
    private partial void LogFailed(MembershipActionKind action, string userId, string roomId, MembershipFailure why, string detail, string next);

    [LoggerMessage(LogLevel.Information, "Still no power to invite {UserId} to {RoomId} after its power levels changed; waiting on")]
    private partial void LogStillNoPower(string userId, string roomId);
}
