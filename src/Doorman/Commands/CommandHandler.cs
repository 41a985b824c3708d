using System.Net;
using Doorman.Access;
using Doorman.Homeserver;
using Doorman.Matrix;
using Doorman.Messaging;
using Doorman.Metrics;
using Doorman.Rooms;
using Doorman.Storage;
using Microsoft.Extensions.Options;

namespace Doorman.Commands;

/// <summary>Where a command came from.</summary>
/// <param name="RoomId">The room it was typed in.</param>
/// <param name="IsDirect">That room is the sender's DM with the bot.</param>
/// <param name="IsKnock">Not typed at all: the sender knocked on <paramref name="RoomId"/>, which counts as <c>join</c>.</param>
public sealed record CommandContext(string RoomId, string Sender, string EventId, bool IsDirect, bool IsKnock = false);

/// <summary>
/// Carries out commands. Reads (room state, the payment backend) happen first; then one transaction records
/// the event as handled together with every effect and every reply, so a crash leaves either all or nothing,
/// and a repeated sync batch finds the event handled.
/// </summary>
public sealed partial class CommandHandler(
    Database database,
    HandledEvents handled,
    GateStore gates,
    OrderStore orders,
    SubscriptionStore subscriptions,
    ExemptionStore exemptions,
    ReportStore reports,
    AlertStore alerts,
    AuditLog audit,
    MessageOutbox outbox,
    RoomDirectory rooms,
    IRoomFacts roomFacts,
    DirectRooms directRooms,
    IMembershipActions memberships,
    OutboxSignals signals,
    Ordering ordering,
    Terms terms,
    IDeadlineSignal deadlines,
    CommandLimiter limiter,
    IOptions<MatrixOptions> matrixOptions,
    IOptions<OperatorOptions> operatorOptions,
    DoormanMetrics metrics,
    TimeProvider time,
    ILogger<CommandHandler> logger)
{
    private string Prefix => matrixOptions.Value.CommandPrefix;

    private string BotUserId => matrixOptions.Value.UserId;

    public async Task HandleAsync(CommandContext context, Command command, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        try
        {
            await HandleCommandAsync(context, command, cancellationToken);
        }
        finally
        {
            metrics.CommandHandled(time.GetElapsedTime(started));
        }
    }

    private async Task HandleCommandAsync(CommandContext context, Command command, CancellationToken cancellationToken)
    {
        if (!await AdmitAsync(context, cancellationToken))
            return;
        switch (command)
        {
            case OwnerCommand owner:
                await OwnerAsync(context, owner, cancellationToken);
                break;
            case PlansCommand plans:
                await PlansAsync(context, plans.Room, cancellationToken);
                break;
            case JoinCommand { Plan: JoinCommand.Trial } trial:
                await TrialAsync(context, trial.Room, cancellationToken);
                break;
            case JoinCommand join:
                await OrderAsync(context, join.Room, join.Plan, renewal: false, cancellationToken);
                break;
            case RenewCommand renew:
                await OrderAsync(context, renew.Room, renew.Plan, renewal: true, cancellationToken);
                break;
            case RemindersCommand reminders:
                await RemindersAsync(context, reminders, cancellationToken);
                break;
            case StatusCommand:
                await StatusAsync(context, cancellationToken);
                break;
            case HelpCommand help:
                await ReplyAsync(context, help.Topic is { } topic ? Replies.HelpFor(topic, Prefix, context.IsDirect) : Replies.Help(Prefix, context.IsDirect), cancellationToken);
                break;
            case InvalidCommand invalid:
                await ReplyAsync(context, Replies.Invalid(invalid.Problem), cancellationToken);
                break;
            default:
                throw new InvalidOperationException($"no handler for {command.GetType().Name}");
        }
    }

    /// <summary>
    /// A knock on a gated room counts as <c>join</c> (DESIGN §2): the invoice goes to the knocker's DM (opened
    /// if needed), and the invite that follows payment accepts the knock. Knocks on rooms that are not gated, or
    /// whose sales are paused, are left to the room's owners: the bot stays silent.
    /// </summary>
    public async Task HandleKnockAsync(CommandContext context, CancellationToken cancellationToken)
    {
        var gate = await database.ReadAsync(tx => gates.GetAsync(tx, context.RoomId), cancellationToken);
        if (gate is not { Enabled: true })
            return;
        // A knock on a room we sell is a join, and counts against the limit like one (one on any other room is not for us).
        if (!await AdmitAsync(context with { IsKnock = true }, cancellationToken))
            return;
        await OrderAsync(context with { IsKnock = true }, null, null, renewal: false, cancellationToken);
    }

    /// <summary>
    /// The per-person command limit (<c>Limits:*</c>), applied as each command arrives. False: the command is dropped
    /// but marked handled (never retried); the first dropped one is answered with when to try again, the rest of the
    /// flood gets silence. Operators are never limited, nor owners commanding in their own room, so an owner
    /// configuring a room gets every answer; ownership is read live only once the bucket is empty (it costs a request).
    /// </summary>
    private async Task<bool> AdmitAsync(CommandContext context, CancellationToken cancellationToken)
    {
        var operators = operatorOptions.Value.Operators;
        if (operators.Contains(context.Sender, StringComparer.Ordinal))
            return true;
        var decision = limiter.Take(context.Sender);
        if (decision.Allowed)
            return true;
        if (!context.IsDirect && !context.IsKnock
            && AccessRules.IsOwner(context.Sender, await rooms.GetPowerAsync(context.RoomId, cancellationToken), operators))
            return true;

        if (limiter.Tell(context.Sender))
        {
            LogLimited(context.Sender, decision.RetryAt);
            var wait = decision.RetryAt - time.GetUtcNow();
            await ReplyAsync(context, Replies.SlowDown(limiter.Rate, wait), cancellationToken);
        }
        else
        {
            LogDropped(context.Sender, context.EventId);
            await CommitAsync(context, _ => Task.CompletedTask, cancellationToken);
        }
        return false;
    }

    /// <summary>Marks the event handled and queues one reply: in its room, or for a knock, in the knocker's DM.</summary>
    public Task ReplyAsync(CommandContext context, Notice reply, CancellationToken cancellationToken) =>
        CommitAsync(context, tx => ReplyInTxAsync(tx, context, reply, time.GetUtcNow()), cancellationToken);

    /// <summary>Queues the reply in the caller's transaction: in the command's room, or for a knock, in the knocker's DM.</summary>
    private Task ReplyInTxAsync(ITx tx, CommandContext context, Notice reply, DateTimeOffset now) =>
        context.IsKnock
            ? outbox.ToUserAsync(tx, context.Sender, reply, now)
            : outbox.ToRoomAsync(tx, context.RoomId, reply, now, context.EventId);

    /// <summary>
    /// The room a member command names (or, without one, the room it was given in), resolved to its id; null after
    /// replying that it is unknown.
    /// </summary>
    private async Task<string?> ResolveRoomAsync(CommandContext context, string? roomReference, CancellationToken cancellationToken)
    {
        var reference = roomReference ?? context.RoomId;
        string? roomId;
        try
        {
            roomId = await rooms.ResolveAsync(reference, cancellationToken);
        }
        catch (MatrixException e) when (reference.StartsWith('#') && e.Status == HttpStatusCode.BadRequest)
        {
            // Synapse checks an alias before looking it up: "#a:b:c" is 400 M_INVALID_PARAM "Room alias invalid"
            // (modelled in src/Doorman.Sandbox/Homeserver/Rooms.cs). What the member typed, not a failure of ours.
            roomId = null;
        }
        if (roomId is null)
            await ReplyAsync(context, Replies.UnknownRoom(reference), cancellationToken);
        return roomId;
    }

    /// <summary>
    /// <c>join</c> and <c>renew</c>: an invoice for the plan asked for (or the default; for a renewal, the member's
    /// plan), extending any current membership.
    /// </summary>
    private async Task OrderAsync(CommandContext context, string? roomReference, string? plan, bool renewal, CancellationToken cancellationToken)
    {
        if (await ResolveRoomAsync(context, roomReference, cancellationToken) is not { } roomId)
            return;

        var request = new OrderRequest(roomId, context.Sender, context.IsDirect ? context.RoomId : null, plan, renewal,
            context.IsKnock ? OrderOrigin.Knock : OrderOrigin.Command);
        var result = await ordering.PlaceAsync(request, (tx, placed) => RecordAsync(tx, context, Shown(placed.Gate), placed), cancellationToken);
        if (result is TooManyOpenOrders tooMany)
        {
            var names = await database.ReadAsync(async tx =>
            {
                var names = new Dictionary<string, string>(StringComparer.Ordinal);
                foreach (var id in tooMany.Open.Select(o => o.RoomId).Distinct())
                    names[id] = (await gates.GetAsync(tx, id))?.RoomName ?? id;
                return names;
            }, cancellationToken);
            await ReplyAsync(context, Replies.TooManyOpenOrders([.. tooMany.Open.Select(o => (names[o.RoomId], o))]), cancellationToken);
        }
        else if (result is TooFarAhead tooFar)
            await ReplyAsync(context, Replies.TooFarAhead(Shown(tooFar.Gate), tooFar.Gate.Period, tooFar.Reach), cancellationToken);
        else if (result is OrderRefused refused)
            await ReplyAsync(context, refused.Why switch
            {
                OrderRefusal.NotGated => Replies.NotGated(roomReference ?? roomId),
                OrderRefusal.Paused => Replies.Paused(Shown(refused.Gate)),
                OrderRefusal.UnknownPlan => Replies.UnknownPlan(Shown(refused.Gate), plan ?? "", await PlansOfAsync(roomId, cancellationToken), Prefix, context.IsDirect),
                OrderRefusal.Lifetime => Replies.Lifetime(Shown(refused.Gate)),
                OrderRefusal.Banned => Replies.Banned(Shown(refused.Gate)),
                OrderRefusal.BotCannotInvite => Replies.BotCannotInvite(Shown(refused.Gate), refused.Facts?.BotLevel ?? 0, refused.Facts?.InviteLevel ?? 0, Prefix),
                OrderRefusal.BotNotInRoom => Replies.BotNotInRoom(Shown(refused.Gate)),
                _ => Replies.PaymentsUnavailable(),
            }, cancellationToken);
        else
            outbox.Wake();

        string Shown(Gate? gate) => roomReference ?? gate?.RoomName ?? roomId;
    }

    /// <summary>The invoice, with its QR code, goes to the member; recorded with the order, in its transaction.</summary>
    private async Task<bool> RecordAsync(ITx tx, CommandContext context, string shownName, OrderPlaced placed)
    {
        var now = time.GetUtcNow();
        if (!await handled.MarkAsync(tx, context.EventId, context.RoomId, now))
            return false; // Handled meanwhile (a repeated batch raced us): do nothing twice.
        var order = placed.Order;
        var reply = Replies.Invoice(shownName, order.AmountMsat / 1000, order.Period, order.Bolt11, order.ExpiresAt, placed.CurrentExpiry, now, placed.Resent);
        var qr = PaymentTexts.QrData(order.Bolt11);
        if (context.IsDirect)
        {
            await outbox.ToRoomAsync(tx, context.RoomId, reply, now, context.EventId);
            await outbox.QrToRoomAsync(tx, context.RoomId, qr, PaymentTexts.QrCaption, now);
        }
        else
        {
            // Invoices are personal: they go to the member's DM, and the room only hears that one was sent
            // (a knocker cannot read the room, so it hears nothing).
            await outbox.ToUserAsync(tx, context.Sender, reply, now);
            await outbox.QrToUserAsync(tx, context.Sender, qr, PaymentTexts.QrCaption, now);
            if (!context.IsKnock)
                await outbox.ToRoomAsync(tx, context.RoomId, Replies.InvoiceSentPrivately(shownName), now, context.EventId);
        }
        return true;
    }

    private async Task StatusAsync(CommandContext context, CancellationToken cancellationToken)
    {
        var (subs, pending, names) = await database.ReadAsync(async tx =>
        {
            var subs = await subscriptions.ForMemberAsync(tx, context.Sender);
            var pending = await orders.PendingForMemberAsync(tx, context.Sender);
            var names = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var roomId in subs.Select(s => s.RoomId).Concat(pending.Select(o => o.RoomId)).Distinct())
                names[roomId] = (await gates.GetAsync(tx, roomId))?.RoomName ?? roomId;
            return (subs, pending, names);
        }, cancellationToken);
        var now = time.GetUtcNow();
        var status = Replies.Status(
            subs.Select(s => (names[s.RoomId], s)).ToList(),
            pending.Where(o => o.ExpiresAt > now).Select(o => (names[o.RoomId], o)).ToList(), now);
        if (context.IsDirect)
        {
            await ReplyAsync(context, status, cancellationToken);
            return;
        }
        // A member's rooms, times and invoices are theirs: the answer goes to their DM, the room gets a pointer.
        await CommitAsync(context, async tx =>
        {
            await outbox.ToUserAsync(tx, context.Sender, status, now);
            await outbox.ToRoomAsync(tx, context.RoomId, Replies.SentPrivately("your status"), now, context.EventId);
        }, cancellationToken);
    }

    private async Task CommitAsync(CommandContext context, Func<ITx, Task> effects, CancellationToken cancellationToken)
    {
        var done = await database.WriteAsync(async tx =>
        {
            if (!await handled.MarkAsync(tx, context.EventId, context.RoomId, time.GetUtcNow()))
                return false; // Handled meanwhile (a repeated batch raced us): do nothing twice.
            await effects(tx);
            return true;
        }, cancellationToken);
        if (done)
            outbox.Wake();
    }

    [LoggerMessage(LogLevel.Information, "{RoomId} gated at {Sats} sats per {Period} by {UserId}")]
    private partial void LogGated(string roomId, long sats, TimeSpan? period, string userId);

    [LoggerMessage(LogLevel.Information, "{UserId} is sending commands too fast: told them, and ignoring their commands until {RetryAt}")]
    private partial void LogLimited(string userId, DateTimeOffset retryAt);

    [LoggerMessage(LogLevel.Debug, "Dropped command {EventId} from {UserId}: over the command limit")]
    private partial void LogDropped(string userId, string eventId);

    [LoggerMessage(LogLevel.Information, "Refused an owner command from {UserId} in {RoomId}: not an owner")]
    private partial void LogRefused(string userId, string roomId);

}
