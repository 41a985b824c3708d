using System.Net;
using Doorman.Access;
using Doorman.Commands;
using Doorman.Hosting;
using Doorman.Matrix;
using Doorman.Matrix.Events;
using Doorman.Matrix.Sync;
using Doorman.Messaging;
using Doorman.Outbox;
using Doorman.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;
using Polly.Timeout;

namespace Doorman.Rooms;

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

        if (batch.IsInitial)
            return;

        foreach (var (roomId, joined) in rooms?.Join ?? [])
        {
            var events = joined.Timeline?.Events ?? [];
            // A room we just joined shows history from before we were there: none of it is addressed to us.
            var ownJoin = events.FindLastIndex(e => e.Type == EventTypes.Member && e.StateKey == Options.UserId
                && e.ContentString("membership") == Membership.Join);
            foreach (var e in events.Skip(ownJoin + 1))
                await HandleEventAsync(roomId, e, cancellationToken);
        }
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
        if (e.Sender == Options.UserId || e.EventId is null || e.Type != EventTypes.Message || e.IsState)
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

    [LoggerMessage(LogLevel.Information, "Joined {RoomId}, invited by {Inviter} (DM: {IsDirect})")]
    private partial void LogJoined(string roomId, string inviter, bool isDirect);

    [LoggerMessage(LogLevel.Information, "Declined an invite to {RoomId} from {Inviter}: not an allowed inviter")]
    private partial void LogDeclined(string roomId, string inviter);

    [LoggerMessage(LogLevel.Information, "A room action found the room gone or closed to us: {Reason}")]
    private partial void LogRoomGone(string reason);

    [LoggerMessage(LogLevel.Error, "{Command} from event {EventId} in {RoomId} failed")]
    private partial void LogCommandFailed(Exception exception, string command, string eventId, string roomId);
}
