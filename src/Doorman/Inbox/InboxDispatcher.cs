using System.Net;
using System.Text.Json;
using Doorman.Access;
using Doorman.Commands;
using Doorman.Homeserver;
using Doorman.Matrix;
using Doorman.Matrix.Crypto;
using Doorman.Matrix.Events;
using Doorman.Messaging;
using Doorman.Storage;
using Microsoft.Extensions.Options;

namespace Doorman.Inbox;

/// <summary>
/// Acts on one inbox item: accepts or declines an invite (and checks that a DM is one), hands a command or a knock to
/// the command handler, fetches a gap, looks up pending knocks. Each effect is recorded with the event it answers
/// (<c>handled_events</c>), so an item tried again never does anything twice. Failures propagate to
/// <see cref="InboxWorker"/>, which retries or quarantines the item.
/// </summary>
public sealed partial class InboxDispatcher(
    MatrixClient matrix,
    BotCrypto crypto,
    DirectMessages directMessages,
    CommandHandler commands,
    InvitesAwaitingPower invitesAwaitingPower,
    MessageOutbox outbox,
    Database database,
    InboxStore inbox,
    HandledEvents handled,
    GateStore gates,
    Cursors cursors,
    IOptions<MatrixOptions> matrixOptions,
    IOptions<OperatorOptions> operatorOptions,
    IOptions<InboxOptions> inboxOptions,
    TimeProvider time,
    ILogger<InboxDispatcher> logger)
{
    /// <summary>How often one sender is told, per room, that the bot could not decrypt their message.</summary>
    public static readonly TimeSpan UndecryptableNoticeInterval = TimeSpan.FromHours(1);

    /// <summary>How much of a gap is fetched at most: older events in it are left unanswered, and logged.</summary>
    public const int MaxGapEvents = 500;

    private MatrixOptions Options => matrixOptions.Value;

    public Task HandleAsync(InboxItem item, CancellationToken cancellationToken) => item.Kind switch
    {
        InboxKind.Invite => HandleInviteAsync(item.RoomId, Read(item.Payload), cancellationToken),
        InboxKind.Event => HandleEventAsync(item.RoomId, Read(item.Payload), item.Attempts, cancellationToken),
        InboxKind.Knocks => CheckPendingKnocksAsync(item.RoomId, cancellationToken),
        InboxKind.Gap => FetchGapAsync(item, cancellationToken),
        _ => throw new InvalidOperationException($"no handler for inbox items of kind {item.Kind}"),
    };

    /// <summary>The sender to tell when the item cannot be done, and how: a command or a knock; null for anything else.</summary>
    public async Task<CommandContext?> ContextOfAsync(InboxItem item, CancellationToken cancellationToken)
    {
        if (item.Kind != InboxKind.Event)
            return null;
        var e = Read(item.Payload);
        if (IsKnock(e))
            return new CommandContext(item.RoomId, e.Sender, e.EventId!, IsDirect: false, IsKnock: true);
        if (e.Type == EventTypes.Message)
            return new CommandContext(item.RoomId, e.Sender, e.EventId!, await directMessages.IsDirectRoomAsync(item.RoomId, cancellationToken));
        return null;
    }

    private static ClientEvent Read(string payload) =>
        JsonSerializer.Deserialize(payload, MatrixJson.ClientEvent) ?? throw new JsonException("an inbox item without its event");

    private static bool IsKnock(ClientEvent e) =>
        e.Type == EventTypes.Member && e.StateKey == e.Sender && e.ContentString("membership") == Membership.Knock;

    private async Task HandleEventAsync(string roomId, ClientEvent e, long attempts, CancellationToken cancellationToken)
    {
        if (IsKnock(e))
        {
            await HandleKnockAsync(roomId, e, cancellationToken);
            return;
        }
        var partner = await directMessages.PartnerAsync(roomId, cancellationToken);
        switch (e.Type)
        {
            case EventTypes.Member when partner is not null:
                await CheckDirectRoomMemberAsync(roomId, partner, e, cancellationToken);
                return;
            case EventTypes.Encrypted:
                await HandleEncryptedAsync(roomId, e, attempts, cancellationToken);
                return;
            case EventTypes.PowerLevels when e.StateKey == "":
                // A change of power may give the bot back the power an invite lacked: queue those invites again.
                await invitesAwaitingPower.RetryInvitesAwaitingPowerAsync(roomId, cancellationToken);
                return;
            case EventTypes.Message:
                break;
            default:
                return;
        }

        // In a DM only the partner speaks to us: anyone else there is not the member we serve.
        if (partner is not null && e.Sender != partner)
            return;
        if (e.ContentString("body") is not { } body || CommandParser.Parse(body, Options.CommandPrefix, partner is not null) is not { } command)
            return;
        if (await database.ReadAsync(tx => handled.IsHandledAsync(tx, e.EventId!), cancellationToken))
            return;
        await commands.HandleAsync(new CommandContext(roomId, e.Sender, e.EventId!, partner is not null), command, cancellationToken);
    }

    private async Task HandleKnockAsync(string roomId, ClientEvent knock, CancellationToken cancellationToken)
    {
        if (await database.ReadAsync(tx => handled.IsHandledAsync(tx, knock.EventId!), cancellationToken))
            return;
        LogKnock(knock.Sender, roomId);
        await commands.HandleKnockAsync(new CommandContext(roomId, knock.Sender, knock.EventId!, IsDirect: false, IsKnock: true), cancellationToken);
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
            LogRoomGone(roomId, e.Error);
            return;
        }
        foreach (var knock in knocks.Where(k => k.EventId is not null && IsKnock(k)))
            await HandleKnockAsync(roomId, knock, cancellationToken);
    }

    /// <summary>
    /// Fetches the events a limited timeline left out (<c>GET /rooms/{roomId}/messages</c>, backwards from the
    /// timeline's <c>prev_batch</c> to the previous batch's token; CS API §"Syncing") and puts those for us in the
    /// inbox in their place, before the events of the batch that reported the gap. Bounded by <see cref="MaxGapEvents"/>.
    /// </summary>
    private async Task FetchGapAsync(InboxItem item, CancellationToken cancellationToken)
    {
        using var payload = JsonDocument.Parse(item.Payload);
        var from = payload.RootElement.GetProperty("from").GetString()!;
        var to = payload.RootElement.GetProperty("to").GetString()!;
        var gap = await matrix.GetTimelineGapAsync(item.RoomId, from, to, MaxGapEvents, cancellationToken);
        if (!gap.Complete)
            LogGapTruncated(item.RoomId, gap.Events.Count);
        var fetched = gap.Events.ToList(); // oldest first
        var ownJoin = fetched.FindLastIndex(e => BotSyncHandler.IsJoinOf(e, Options.UserId));
        var now = time.GetUtcNow();
        var added = await database.WriteAsync(async tx =>
        {
            var isDirect = await directMessages.IsDirectRoomAsync(item.RoomId, cancellationToken);
            var forUs = fetched.Skip(ownJoin + 1).Where(e => BotSyncHandler.IsForUs(e, Options, isDirect, crypto.IsOn)).ToList();
            var count = 0;
            for (var i = 0; i < forUs.Count; i++)
            {
                // Between the gap's item and the next whole position, which is where the next item of the room stands.
                var position = item.Position + (i + 1.0) / (forUs.Count + 1.0);
                if (await inbox.InsertAtAsync(tx, item.RoomId, position, forUs[i].EventId!, JsonSerializer.Serialize(forUs[i], MatrixJson.ClientEvent), now))
                    count++;
            }
            return count;
        }, cancellationToken);
        LogGapFetched(item.RoomId, fetched.Count, added);
    }

    private async Task HandleInviteAsync(string roomId, ClientEvent invite, CancellationToken cancellationToken)
    {
        var inviter = invite.Sender;
        var isDirect = invite.ContentBool("is_direct");

        if (!InvitePolicy.MayInvite(inviter, isDirect, Options.AllowedInviters, operatorOptions.Value.Operators, Options.ServerName))
        {
            LogDeclined(roomId, inviter);
            await IgnoreGoneAsync(roomId, () => matrix.LeaveAsync(roomId, "This bot only joins rooms when invited by its allowed users", cancellationToken));
            return;
        }

        // A DM is recorded before we join, so that a message arriving with our join is already read as a DM's.
        if (isDirect)
            await directMessages.RecordAsync(inviter, roomId, cancellationToken);
        if (!await IgnoreGoneAsync(roomId, () => matrix.JoinAsync(roomId, null, null, cancellationToken)))
        {
            if (isDirect)
                await directMessages.ForgetAsync(roomId, cancellationToken);
            return;
        }
        LogJoined(roomId, inviter, isDirect);
        if (isDirect)
        {
            await CheckDirectRoomAsync(roomId, inviter, cancellationToken);
            return;
        }
        await QueueAsync(tx => outbox.ToRoomAsync(tx, roomId, Greeting(), time.GetUtcNow()), cancellationToken);
    }

    /// <summary>
    /// <c>is_direct</c> is the inviter's claim. A DM is a room of exactly the bot and one user: when anyone else is
    /// joined or invited, the bot says so and leaves, and the room is not a DM.
    /// </summary>
    private async Task CheckDirectRoomAsync(string roomId, string partner, CancellationToken cancellationToken)
    {
        var members = await matrix.GetMembersAsync(roomId, null, cancellationToken);
        var others = members
            .Where(m => m.StateKey is { } who && who != Options.UserId && who != partner
                && m.ContentString("membership") is Membership.Join or Membership.Invite)
            .Select(m => m.StateKey!).ToList();
        if (others.Count > 0)
            await LeaveDirectRoomAsync(roomId, partner, others[0], cancellationToken);
    }

    /// <summary>A DM that gains a third member is no longer private: say so once, and leave.</summary>
    private async Task CheckDirectRoomMemberAsync(string roomId, string partner, ClientEvent member, CancellationToken cancellationToken)
    {
        if (member.StateKey is { } who && who != Options.UserId && who != partner
            && member.ContentString("membership") is Membership.Join or Membership.Invite)
            await LeaveDirectRoomAsync(roomId, partner, who, cancellationToken);
    }

    private async Task LeaveDirectRoomAsync(string roomId, string partner, string other, CancellationToken cancellationToken)
    {
        LogNotDirect(roomId, partner, other);
        await directMessages.ForgetAsync(roomId, cancellationToken);
        // Sent now, not through the outbox: the bot is about to leave, after which it could not send.
        await crypto.SendAsync(roomId, EventTypes.Message, "doorman.leave." + roomId,
            JsonSerializer.SerializeToElement(DirectTexts.NotPrivate().ToContent(), MatrixJson.MessageContent), cancellationToken);
        await IgnoreGoneAsync(roomId, () => matrix.LeaveAsync(roomId, "Not a direct chat: other people are in it", cancellationToken));
    }

    private Notice Greeting() =>
        new Notice().Text("Hello! I sell access to rooms for Lightning payments. An owner can gate this room with ")
            .Code(Options.CommandPrefix + " set 1000 sats per 30d").Text("; say ").Code(Options.CommandPrefix + " help").Text(" for more.");

    /// <summary>
    /// An encrypted event the sync could not decrypt: tried again (its room key may come in a later batch) while the
    /// inbox's attempts last (<see cref="InboxOptions"/>), then handled like any event once it decrypts. If it never
    /// does, or its key was withheld, the sender is told why in plain text (the bot cannot encrypt for a device it
    /// has no session with either), at most once an hour per sender and room. A forged or replayed event is dropped.
    /// </summary>
    private async Task HandleEncryptedAsync(string roomId, ClientEvent e, long attempts, CancellationToken cancellationToken)
    {
        string reason;
        if (crypto.TryDecryptAsync(roomId, e, cancellationToken) is { } decryption)
        {
            var result = await decryption;
            if (result.Event is { } clear)
            {
                if (clear.Type != EventTypes.Encrypted)
                    await HandleEventAsync(roomId, clear, attempts, cancellationToken);
                return;
            }
            if (result.Failure is DecryptionFailure.Invalid or DecryptionFailure.Replayed)
            {
                LogRefusedEncrypted(e.EventId ?? "?", roomId, e.Sender, result.Detail ?? "");
                return;
            }
            if (result.Failure == DecryptionFailure.MissingKey && attempts + 1 < inboxOptions.Value.Attempts)
                throw new RoomKeyPendingException($"no room key yet for {e.EventId} from {e.Sender}");
            reason = result.Failure == DecryptionFailure.Withheld ? result.Detail ?? "" : EncryptionTexts.NoKey;
        }
        else
        {
            reason = EncryptionTexts.Off;
        }

        // Plain text, sent now rather than through the outbox (which would encrypt it for devices that may be the
        // very ones that gave us no key). The transaction id makes a retry of this item send it once.
        var marker = $"undecryptable:{roomId}:{e.Sender}";
        var now = time.GetUtcNow();
        if (await database.ReadAsync(tx => cursors.GetAsync(tx, marker), cancellationToken) is { } last && long.TryParse(last, out var ms)
            && now - DateTimeOffset.FromUnixTimeMilliseconds(ms) < UndecryptableNoticeInterval)
            return;
        await matrix.SendMessageAsync(roomId, "doorman.undecryptable." + e.EventId, EncryptionTexts.Undecryptable(e.Sender, reason).ToContent(), cancellationToken);
        await database.WriteAsync(tx => cursors.SetAsync(tx, marker, now.ToUnixTimeMilliseconds().ToString(System.Globalization.CultureInfo.InvariantCulture)),
            cancellationToken);
        LogUndecryptable(roomId, e.Sender, reason);
    }

    private async Task QueueAsync(Func<ITx, Task> message, CancellationToken cancellationToken)
    {
        await database.WriteAsync(message, cancellationToken);
        outbox.Wake();
    }

    /// <summary>Runs a room action; false (logged) when the room or the invite is gone, which no retry can fix.</summary>
    private async Task<bool> IgnoreGoneAsync(string roomId, Func<Task> action)
    {
        try
        {
            await action();
            return true;
        }
        catch (MatrixException e) when (e.IsForbidden || e.Status == HttpStatusCode.NotFound)
        {
            LogRoomGone(roomId, e.Error);
            return false;
        }
    }

    [LoggerMessage(LogLevel.Information, "{UserId} knocked on {RoomId}")]
    private partial void LogKnock(string userId, string roomId);

    [LoggerMessage(LogLevel.Information, "Could not decrypt a message from {UserId} in {RoomId} ({Reason}); told them")]
    private partial void LogUndecryptable(string roomId, string userId, string reason);

    [LoggerMessage(LogLevel.Warning, "Ignoring encrypted event {EventId} in {RoomId} from {Sender}: {Reason}")]
    private partial void LogRefusedEncrypted(string eventId, string roomId, string sender, string reason);

    [LoggerMessage(LogLevel.Information, "Joined {RoomId}, invited by {Inviter} (DM: {IsDirect})")]
    private partial void LogJoined(string roomId, string inviter, bool isDirect);

    [LoggerMessage(LogLevel.Information, "Declined an invite to {RoomId} from {Inviter}: not an allowed inviter")]
    private partial void LogDeclined(string roomId, string inviter);

    [LoggerMessage(LogLevel.Information, "Left {RoomId}: invited as a DM with {Partner}, but {Other} is in it too")]
    private partial void LogNotDirect(string roomId, string partner, string other);

    [LoggerMessage(LogLevel.Information, "A room action in {RoomId} found the room gone or closed to us: {Reason}")]
    private partial void LogRoomGone(string roomId, string reason);

    [LoggerMessage(LogLevel.Information, "Fetched a gap in {RoomId}: {Fetched} event(s), {Added} for us")]
    private partial void LogGapFetched(string roomId, int fetched, int added);

    [LoggerMessage(LogLevel.Warning, "A gap in {RoomId} is longer than {Fetched} events; older commands in it are not answered")]
    private partial void LogGapTruncated(string roomId, int fetched);
}

/// <summary>What the bot says about DMs themselves.</summary>
public static class DirectTexts
{
    public static Notice NotPrivate() =>
        new Notice().Text("I only talk one to one in a direct chat, and other people are in this one, so I am leaving. ")
            .Text("To talk to me, start a new direct chat with just me.");

    public static Notice Hello() =>
        new Notice().Text("Hello! I read this chat. Say ").Code("help").Text(" to see what I can do, or ").Code("join #room:server").Text(" to get an invoice.");
}

/// <summary>What the bot says when it cannot read an encrypted message.</summary>
public static class EncryptionTexts
{
    /// <summary>Reason: the bot's own encryption is off (the homeserver did not take its keys).</summary>
    public const string Off = "off";

    /// <summary>Reason: no room key arrived.</summary>
    public const string NoKey = "no key";

    /// <summary>
    /// Plain text, to the room: the sender's device gave the bot no key for the message, or withheld it with a code
    /// (CS API "Reporting that decryption keys are withheld").
    /// </summary>
    public static Notice Undecryptable(string sender, string reason)
    {
        var notice = new Notice().Text(sender).Text(": I could not read your encrypted message");
        return reason switch
        {
            Off => notice.Text(", because encryption is not working for me on this server (my operator can see why in my log). Please ask again in a room that is not encrypted."),
            "m.unverified" => notice.Text(": your device does not share keys with my device because it is not verified. Verify my device, or allow unverified devices, and send it again."),
            "m.blacklisted" => notice.Text(": your device has blocked my device. Unblock it and send it again."),
            "m.no_olm" => notice.Text(": your device could not set up a secure channel with mine. Please send it again in a minute."),
            NoKey => notice.Text(": its key never reached me. Please send it again; if this keeps happening, check that your client shares keys with my device."),
            _ => notice.Text($": your device withheld its key ({reason}). Please send it again."),
        };
    }
}

/// <summary>An encrypted event's room key has not arrived yet: the inbox tries the event again later.</summary>
public sealed class RoomKeyPendingException(string message) : Exception(message);
