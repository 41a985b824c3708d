using System.Data.Common;
using System.Net;
using Doorman.Access;
using Doorman.Commands;
using Doorman.Matrix;
using Doorman.Messaging;
using Doorman.Metrics;
using Doorman.Outbox;
using Doorman.Storage;
using Microsoft.Extensions.Options;
using Polly.Timeout;

namespace Doorman.Inbox;

/// <summary><c>Inbox:*</c>: how hard the bot tries one item before it gives up on it.</summary>
public sealed class InboxOptions
{
    public const string Section = "Inbox";

    /// <summary>Attempts at one item whose failure may pass (the homeserver, a remote server or the database is away).</summary>
    public int Attempts { get; set; } = 4;

    /// <summary>The wait before the second attempt; it doubles for each one after.</summary>
    public TimeSpan FirstRetry { get; set; } = TimeSpan.FromSeconds(5);
}

/// <summary>
/// Handles the inbox (DESIGN §3 "Inbox"): the first pending item of each room, up to eight rooms at once, so a slow or
/// dead remote server delays only the room whose item needs it, and everyone else is answered within seconds. An item
/// that fails in a way that may pass is tried again with back-off (<see cref="InboxOptions"/>); after the last attempt,
/// or at once for a failure that will not pass, it is quarantined: stored with its error, logged once, and the sender of
/// a command or knock told in one sentence that it could not be done. The room's next item then goes ahead.
/// </summary>
public sealed partial class InboxWorker(
    Database database,
    InboxStore inbox,
    HandledEvents handled,
    InboxDispatcher dispatcher,
    MessageOutbox outbox,
    OutboxSignals signals,
    DoormanMetrics metrics,
    IOptions<InboxOptions> options,
    TimeProvider time,
    ILogger<InboxWorker> logger) : PerKeyWorker<InboxItem>(signals.Inbox, time, logger)
{
    protected override string QueueName => "inbox";

    protected override Task<IReadOnlyList<InboxItem>> DueAsync(int limit, CancellationToken stoppingToken) =>
        database.ReadAsync(tx => inbox.NextPerRoomAsync(tx, Time.GetUtcNow(), limit), stoppingToken);

    protected override string KeyOf(InboxItem item) => item.RoomId;

    protected override async Task RunAsync(InboxItem item, CancellationToken cancellationToken)
    {
        try
        {
            await dispatcher.HandleAsync(item, cancellationToken);
            await database.WriteAsync(tx => inbox.DoneAsync(tx, item.Id, Time.GetUtcNow()), cancellationToken);
            metrics.EventHandled(KindLabel(item.Kind));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping: the item stays pending and is handled after the restart.
            return;
        }
        catch (Exception e) when (MayPass(e) && item.Attempts + 1 < options.Value.Attempts)
        {
            var wait = options.Value.FirstRetry * Math.Pow(2, item.Attempts);
            LogRetrying(item.Kind, item.Id, item.RoomId, wait, e.Message);
            await database.WriteAsync(tx => inbox.RetryLaterAsync(tx, item.Id, e.Message, Time.GetUtcNow() + wait, Time.GetUtcNow()), cancellationToken);
        }
        catch (Exception e)
        {
            await QuarantineAsync(item, e, cancellationToken);
        }
        signals.Inbox.Set(); // the room's next item may go ahead
    }

    /// <summary>Stored with its error, logged once, and the sender told; the event counts as handled.</summary>
    private async Task QuarantineAsync(InboxItem item, Exception e, CancellationToken cancellationToken)
    {
        LogQuarantined(e, item.Kind, item.Id, item.RoomId, item.Attempts + 1);
        var context = await TryContextAsync(item, cancellationToken);
        var now = Time.GetUtcNow();
        await database.WriteAsync(async tx =>
        {
            await inbox.QuarantineAsync(tx, item.Id, e.GetType().Name + ": " + e.Message, now);
            if (item.EventId is { } eventId)
                await handled.MarkAsync(tx, eventId, item.RoomId, now);
            if (context is null)
                return;
            var reply = MayPass(e) ? Replies.TryAgainLater() : Replies.Failed();
            if (context.IsKnock)
                await outbox.ToUserAsync(tx, context.Sender, reply, now);
            else
                await outbox.ToRoomAsync(tx, context.RoomId, reply, now, context.EventId);
        }, cancellationToken);
        metrics.EventQuarantined(KindLabel(item.Kind));
        if (context is not null)
            outbox.Wake();
    }

    private static string KindLabel(InboxKind kind) => kind.ToString().ToLowerInvariant();

    private async Task<CommandContext?> TryContextAsync(InboxItem item, CancellationToken cancellationToken)
    {
        try
        {
            return await dispatcher.ContextOfAsync(item, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return null; // An item we cannot even read has nobody to tell.
        }
    }

    /// <summary>Failures that may pass: the homeserver, a remote server behind it, the network, the database, a room key on its way.</summary>
    public static bool MayPass(Exception e) =>
        e is HttpRequestException or TimeoutException or TimeoutRejectedException or DbException or RoomKeyPendingException
        || e is MatrixException { Status: >= HttpStatusCode.InternalServerError or HttpStatusCode.TooManyRequests or HttpStatusCode.RequestTimeout }
        || e is MatrixException { IsUnknownToken: true };

    [LoggerMessage(LogLevel.Information, "Inbox item {Id} ({Kind}) in {RoomId} failed ({Error}); trying again in {Wait}")]
    private partial void LogRetrying(InboxKind kind, long id, string roomId, TimeSpan wait, string error);

    [LoggerMessage(LogLevel.Error, "Inbox item {Id} ({Kind}) in {RoomId} quarantined after {Attempts} attempt(s); the room's next items go ahead")]
    private partial void LogQuarantined(Exception exception, InboxKind kind, long id, string roomId, long attempts);
}
