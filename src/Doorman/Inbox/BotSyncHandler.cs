using System.Net;
using Doorman.Access;
using Doorman.Commands;
using Doorman.Homeserver;
using Doorman.Matrix;
using Doorman.Matrix.Events;
using Doorman.Matrix.Sync;
using Doorman.Messaging;
using Doorman.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;
using Polly.Timeout;

namespace Doorman.Inbox;

/// <summary>
/// Turns sync batches into actions: accepts or declines invites, and hands new messages to the command handler.
/// Old messages are never commands: the first batch of a session, and events before the bot's own join in a
/// room it just joined, are skipped (DESIGN rule 7). Infrastructure failures propagate, so the sync loop
/// retries the batch without storing its token; a failure specific to one command is answered and recorded.
/// </summary>
public sealed partial class BotSyncHandler(
    MatrixClient matrix,
    DirectMessages directMessages,
    CommandHandler commands,
    MessageOutbox outbox,
    Database database,
    HandledEvents handled,
    GateStore gates,
    Cursors cursors,
    InvitesAwaitingPower invitesAwaitingPower,
    IOptions<MatrixOptions> matrixOptions,
    IOptions<OperatorOptions> operatorOptions,
    TimeProvider time,
    ILogger<BotSyncHandler> logger) : ISyncHandler
{
    private MatrixOptions Options => matrixOptions.Value;

    public async Task HandleAsync(SyncBatch batch, CancellationToken cancellationToken)
    {
        var rooms = batch.Response.Rooms;
        foreach (var (roomId, invited) in rooms?.Invite ?? [])
            await HandleInviteAsync(roomId, invited, cancellationToken);

        // A change of a room's power levels may give the bot back the power an invite lacked: queue those invites again.
        foreach (var (roomId, joined) in rooms?.Join ?? [])
            if ((joined.State?.Events ?? []).Concat(joined.Timeline?.Events ?? []).Any(e => e.Type == EventTypes.PowerLevels && e.StateKey == ""))
                await invitesAwaitingPower.RetryInvitesAwaitingPowerAsync(roomId, cancellationToken);

        if (batch.IsInitial)
        {
            // Knocks that came while we were away are not in a fresh session's timeline: ask for them.
            var gated = await database.ReadAsync(tx => gates.EnabledRoomIdsAsync(tx), cancellationToken);
            foreach (var roomId in gated)
                await CheckPendingKnocksAsync(roomId, cancellationToken);
            return;
        }

        foreach (var (roomId, joined) in rooms?.Join ?? [])
        {
            var events = joined.Timeline?.Events ?? [];
            // A room we just joined shows history from before we were there: none of it is addressed to us.
            var ownJoin = events.FindLastIndex(e => e.Type == EventTypes.Member && e.StateKey == Options.UserId
                && e.ContentString("membership") == Membership.Join);
            foreach (var e in events.Skip(ownJoin + 1))
                await HandleEventAsync(roomId, e, cancellationToken);
            // A limited timeline left events out (CS API §"Syncing"): knocks among them are found by asking.
            if (joined.Timeline?.Limited == true)
                await CheckPendingKnocksAsync(roomId, cancellationToken);
        }
    }

    /// <summary>Handles knocks still pending on a gated room (GET /members?membership=knock), each once.</summary>
    private async Task CheckPendingKnocksAsync(string roomId, CancellationToken cancellationToken)
    {
        if (await database.ReadAsync(tx => gates.GetAsync(tx, roomId), cancellationToken) is not { Enabled: true })
            return;
        IReadOnlyList<ClientEvent> knocks;
        try
        {
            knocks = await matrix.GetMembersAsync(roomId, Membership.Knock, cancellationToken);
        }
        catch (MatrixException e) when (e.IsForbidden || e.Status == HttpStatusCode.NotFound)
        {
            LogRoomGone(e.Message);
            return;
        }
        foreach (var knock in knocks)
            await HandleEventAsync(roomId, knock, cancellationToken);
    }

    private async Task HandleInviteAsync(string roomId, InvitedRoom invited, CancellationToken cancellationToken)
    {
        var invite = invited.InviteState?.Events?.LastOrDefault(e => e.Type == EventTypes.Member && e.StateKey == Options.UserId
            && e.ContentString("membership") == Membership.Invite);
        if (invite is null)
            return;
        var inviter = invite.Sender;
        var isDirect = invite.ContentBool("is_direct");

        if (!InvitePolicy.MayInvite(inviter, isDirect, Options.AllowedInviters, operatorOptions.Value.Operators, Options.ServerName))
        {
            LogDeclined(roomId, inviter);
            await IgnoreGoneAsync(() => matrix.LeaveAsync(roomId, "This bot only joins rooms when invited by its allowed users", cancellationToken));
            return;
        }

        if (!await IgnoreGoneAsync(() => matrix.JoinAsync(roomId, null, null, cancellationToken)))
            return;
        LogJoined(roomId, inviter, isDirect);
        if (isDirect)
        {
            await directMessages.RecordAsync(inviter, roomId, cancellationToken);
            return;
        }
        await database.WriteAsync(tx => outbox.ToRoomAsync(tx, roomId, Greeting(), time.GetUtcNow()), cancellationToken);
        outbox.Wake();
    }

    private Notice Greeting() =>
        new Notice().Text("Hello! I sell access to rooms for Lightning payments. An owner can gate this room with ")
            .Code(Options.CommandPrefix + " set 1000 sats per 30d").Text("; say ").Code(Options.CommandPrefix + " help").Text(" for more.");

    private async Task HandleEventAsync(string roomId, ClientEvent e, CancellationToken cancellationToken)
    {
        if (e.Sender == Options.UserId || e.EventId is null)
            return;
        if (e.Type == EventTypes.Member && e.StateKey == e.Sender && e.ContentString("membership") == Membership.Knock)
        {
            await HandleKnockAsync(roomId, e, cancellationToken);
            return;
        }
        if (e.Type == EventTypes.Encrypted)
        {
            await HandleEncryptedAsync(roomId, e, cancellationToken);
            return;
        }
        if (e.Type != EventTypes.Message || e.IsState)
            return;
        // Bots never answer notices, so two bots cannot talk to each other forever.
        if (e.ContentString("msgtype") is not (MessageContent.Text or "m.emote") || e.ContentString("body") is not { } body)
            return;

        var isDirect = await directMessages.IsDirectRoomAsync(roomId, cancellationToken);
        if (CommandParser.Parse(body, Options.CommandPrefix, isDirect) is not { } command)
            return;
        if (await database.ReadAsync(tx => handled.IsHandledAsync(tx, e.EventId), cancellationToken))
            return;

        var context = new CommandContext(roomId, e.Sender, e.EventId, isDirect);
        try
        {
            await commands.HandleAsync(context, command, cancellationToken);
        }
        catch (Exception ex) when (!IsTransient(ex) && ex is not OperationCanceledException)
        {
            // A failure of this command alone: answer it and move on, so one bad event cannot wedge the bot.
            LogCommandFailed(ex, command.GetType().Name, e.EventId, roomId);
            await commands.ReplyAsync(context, Replies.Failed(), cancellationToken);
        }
    }

    private async Task HandleKnockAsync(string roomId, ClientEvent knock, CancellationToken cancellationToken)
    {
        if (await database.ReadAsync(tx => handled.IsHandledAsync(tx, knock.EventId!), cancellationToken))
            return;
        LogKnock(knock.Sender, roomId);
        var context = new CommandContext(roomId, knock.Sender, knock.EventId!, IsDirect: false, IsKnock: true);
        try
        {
            await commands.HandleKnockAsync(context, cancellationToken);
        }
        catch (Exception ex) when (!IsTransient(ex) && ex is not OperationCanceledException)
        {
            LogCommandFailed(ex, "knock", knock.EventId!, roomId);
            await commands.ReplyAsync(context, Replies.Failed(), cancellationToken);
        }
    }

    /// <summary>
    /// The bot cannot decrypt (no Olm/Megolm library for .NET in our registry). In a DM it says so once, in plain
    /// text, and continues in a new unencrypted DM, so the member is not left talking to a wall.
    /// </summary>
    private async Task HandleEncryptedAsync(string roomId, ClientEvent e, CancellationToken cancellationToken)
    {
        if (!await directMessages.IsDirectRoomAsync(roomId, cancellationToken))
            return;
        var marker = "encrypted-notice:" + roomId;
        var now = time.GetUtcNow();
        var first = await database.WriteAsync(async tx =>
        {
            if (await cursors.GetAsync(tx, marker) is not null)
                return false;
            await cursors.SetAsync(tx, marker, e.EventId);
            await outbox.ToRoomAsync(tx, roomId, new Notice().Text(
                "This chat is encrypted, and I cannot read encrypted messages yet. I have opened a new, unencrypted chat with you: please send your request there."), now);
            return true;
        }, cancellationToken);
        if (!first)
            return;
        // Forget this room as the member's DM; the next message to them opens an unencrypted one.
        await directMessages.ForgetAsync(e.Sender, roomId, cancellationToken);
        await database.WriteAsync(tx => outbox.ToUserAsync(tx, e.Sender, new Notice().Text("Hello! I read this chat. Say ")
            .Code("help").Text(" to see what I can do, or ").Code("join #room:server").Text(" to get an invoice."), now), cancellationToken);
        outbox.Wake();
        LogEncrypted(roomId, e.Sender);
    }

    /// <summary>Runs a room action; false (logged) when the room or the invite is gone, which no retry can fix.</summary>
    private async Task<bool> IgnoreGoneAsync(Func<Task> action)
    {
        try
        {
            await action();
            return true;
        }
        catch (MatrixException e) when (e.IsForbidden || e.Status == HttpStatusCode.NotFound)
        {
            LogRoomGone(e.Message);
            return false;
        }
    }

    /// <summary>Failures of the homeserver, the database or the network: the whole batch is retried later.</summary>
    public static bool IsTransient(Exception e) =>
        e is HttpRequestException or TimeoutException or TimeoutRejectedException or SqliteException
        || e is MatrixException { Status: >= HttpStatusCode.InternalServerError or HttpStatusCode.TooManyRequests or HttpStatusCode.RequestTimeout }
        || e is MatrixException { IsUnknownToken: true };

    [LoggerMessage(LogLevel.Information, "{UserId} knocked on {RoomId}")]
    private partial void LogKnock(string userId, string roomId);

    [LoggerMessage(LogLevel.Information, "Encrypted DM {RoomId} with {UserId}: told them, and continuing in an unencrypted DM")]
    private partial void LogEncrypted(string roomId, string userId);

    [LoggerMessage(LogLevel.Information, "Joined {RoomId}, invited by {Inviter} (DM: {IsDirect})")]
    private partial void LogJoined(string roomId, string inviter, bool isDirect);

    [LoggerMessage(LogLevel.Information, "Declined an invite to {RoomId} from {Inviter}: not an allowed inviter")]
    private partial void LogDeclined(string roomId, string inviter);

    [LoggerMessage(LogLevel.Information, "A room action found the room gone or closed to us: {Reason}")]
    private partial void LogRoomGone(string reason);

    [LoggerMessage(LogLevel.Error, "{Command} from event {EventId} in {RoomId} failed")]
    private partial void LogCommandFailed(Exception exception, string command, string eventId, string roomId);
}
