using System.Text.Json;
using System.Text.Json.Nodes;
using Doorman.Access;
using Doorman.Commands;
using Doorman.Homeserver;
using Doorman.Matrix;
using Doorman.Matrix.Crypto;
using Doorman.Matrix.Events;
using Doorman.Matrix.Sync;
using Doorman.Storage;
using Microsoft.Extensions.Options;

namespace Doorman.Inbox;

/// <summary>
/// Turns a sync batch into inbox items and nothing else: no network, no command handling. The items and the batch's
/// token are written in one transaction, so a crash neither loses nor repeats them; <see cref="InboxWorker"/> then
/// handles them one by one, each its own unit of failure. Old messages are never commands: the first batch of a
/// session, and events before the bot's own join in a room it just joined, bring none (DESIGN rule 7). A timeline
/// the server cut short (<c>limited</c>) brings a gap item that fetches what was left out.
/// </summary>
public sealed partial class BotSyncHandler(
    Database database,
    InboxStore inbox,
    Cursors cursors,
    GateStore gates,
    DirectRooms directRooms,
    BotCrypto crypto,
    OutboxSignals signals,
    IOptions<MatrixOptions> matrixOptions,
    TimeProvider time,
    ILogger<BotSyncHandler> logger) : ISyncHandler
{
    private MatrixOptions Options => matrixOptions.Value;

    public async Task HandleAsync(SyncBatch batch, CancellationToken cancellationToken)
    {
        // Room keys and device changes first, stored before the token is: the server drops to-device events once a
        // later sync acknowledges this batch. Then the batch's encrypted events are decrypted, before the inbox's
        // transaction (the crypto store writes to the same database).
        await crypto.ReceiveAsync(batch.Response, cancellationToken);
        var decrypted = batch.IsInitial ? [] : await DecryptAsync(batch.Response, cancellationToken);
        var now = time.GetUtcNow();
        var rooms = batch.Response.Rooms;
        var added = await database.WriteAsync(async tx =>
        {
            var previousToken = await cursors.GetAsync(tx, Cursors.SyncSince);
            var count = 0;
            foreach (var (roomId, invited) in rooms?.Invite ?? [])
            {
                if (OwnInvite(invited) is { } invite
                    && await inbox.AddAsync(tx, roomId, InboxKind.Invite, null, JsonSerializer.Serialize(invite, MatrixJson.ClientEvent), now))
                    count++;
            }

            if (batch.IsInitial)
            {
                // Knocks that came while we were away are not in a fresh session's timeline: ask for them.
                foreach (var roomId in await gates.EnabledRoomIdsAsync(tx))
                    count += await inbox.AddAsync(tx, roomId, InboxKind.Knocks, null, "{}", now) ? 1 : 0;
            }
            else
            {
                foreach (var (roomId, joined) in rooms?.Join ?? [])
                    count += await AddRoomAsync(tx, roomId, joined, previousToken, decrypted, now);
            }

            // The token that brought these items, stored with them (the sync loop stores it again after us, harmlessly).
            await cursors.SetAsync(tx, Cursors.SyncSince, batch.Response.NextBatch);
            return count;
        }, cancellationToken);
        if (added > 0)
        {
            signals.Inbox.Set();
            LogQueued(added);
        }
    }

    /// <summary>Every encrypted timeline event of the batch that the bot can decrypt now, or why not, by event id.</summary>
    private async Task<Dictionary<string, RoomDecryption>> DecryptAsync(SyncResponse response, CancellationToken cancellationToken)
    {
        var results = new Dictionary<string, RoomDecryption>(StringComparer.Ordinal);
        foreach (var (roomId, joined) in response.Rooms?.Join ?? [])
        {
            foreach (var e in joined.Timeline?.Events ?? [])
            {
                if (e.Type == EventTypes.Encrypted && e.EventId is { } eventId && e.Sender != Options.UserId
                    && crypto.TryDecryptAsync(roomId, e, cancellationToken) is { } decryption)
                    results[eventId] = await decryption;
            }
        }
        return results;
    }

    private async Task<int> AddRoomAsync(ITx tx, string roomId, JoinedRoom joined, string? previousToken,
        Dictionary<string, RoomDecryption> decrypted, DateTimeOffset now)
    {
        var events = joined.Timeline?.Events ?? [];
        // A room we just joined shows history from before we were there: none of it is addressed to us.
        var ownJoin = events.FindLastIndex(e => IsJoinOf(e, Options.UserId));
        var partner = await directRooms.PartnerAsync(tx, roomId);
        var count = 0;
        if (joined.Timeline is { Limited: true, PrevBatch: { } from } && ownJoin < 0 && previousToken is not null)
        {
            // Events between our last batch and this timeline were left out (CS API §"Syncing", `limited`): fetch them
            // first, in their place before this batch's events (InboxStore.InsertAtAsync).
            var gap = new JsonObject { ["from"] = from, ["to"] = previousToken }.ToJsonString();
            count += await inbox.AddAsync(tx, roomId, InboxKind.Gap, null, gap, now) ? 1 : 0;
        }
        foreach (var original in events.Skip(ownJoin + 1))
        {
            var e = original;
            if (original.EventId is { } eventId && decrypted.TryGetValue(eventId, out var decryption))
            {
                if (decryption.Event is { } clear)
                {
                    e = clear;
                }
                else if (decryption.Failure is DecryptionFailure.Invalid or DecryptionFailure.Replayed)
                {
                    LogRefusedEncrypted(eventId, roomId, original.Sender, decryption.Detail ?? "");
                    continue;
                }
                // A key not here yet, or withheld: the encrypted event goes in, and InboxDispatcher tries again or explains.
            }
            if (IsForUs(e, Options, partner is not null, crypto.IsOn)
                && await inbox.AddAsync(tx, roomId, InboxKind.Event, e.EventId, JsonSerializer.Serialize(e, MatrixJson.ClientEvent), now))
                count++;
        }
        if (joined.Timeline?.Limited == true && ownJoin < 0 && await gates.GetAsync(tx, roomId) is { Enabled: true })
            count += await inbox.AddAsync(tx, roomId, InboxKind.Knocks, null, "{}", now) ? 1 : 0;
        return count;
    }

    /// <summary>The bot's own invite in an invited room's stripped state.</summary>
    private ClientEvent? OwnInvite(InvitedRoom invited) =>
        invited.InviteState?.Events?.LastOrDefault(e => e.Type == EventTypes.Member && e.StateKey == Options.UserId
            && e.ContentString("membership") == Membership.Invite);

    /// <summary>
    /// <paramref name="userId"/> coming into the room — not a change of their display name or avatar, which is a join
    /// event too (CS API §"m.room.member": the previous membership is in <c>unsigned.prev_content</c>).
    /// </summary>
    public static bool IsJoinOf(ClientEvent e, string userId) =>
        e.Type == EventTypes.Member && e.StateKey == userId && e.ContentString("membership") == Membership.Join
        && PreviousMembership(e) != Membership.Join;

    private static string? PreviousMembership(ClientEvent e) =>
        e.UnsignedData?.PrevContent is { ValueKind: JsonValueKind.Object } previous
        && previous.TryGetProperty("membership", out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    /// <summary>
    /// Whether an event asks something of the bot: a command (only text that parses as one is kept, so a busy room's
    /// chatter never fills the inbox), a knock, a change of membership in a DM, a change of power, and an encrypted
    /// event the bot could not decrypt yet: anywhere when it reads encrypted rooms (<paramref name="readsEncrypted"/>;
    /// the dispatcher tries again, then explains), else in a DM only (where it says it cannot read it).
    /// </summary>
    public static bool IsForUs(ClientEvent e, MatrixOptions options, bool isDirect, bool readsEncrypted = false)
    {
        if (e.EventId is null || e.Sender == options.UserId)
            return false;
        return e.Type switch
        {
            EventTypes.Member => e.StateKey == e.Sender && e.ContentString("membership") == Membership.Knock
                || isDirect && e.ContentString("membership") is Membership.Join or Membership.Invite,
            EventTypes.PowerLevels => e.IsState,
            EventTypes.Encrypted => isDirect || readsEncrypted,
            // Bots never answer notices, so two bots cannot talk to each other forever.
            EventTypes.Message => !e.IsState && e.ContentString("msgtype") is MessageContent.Text or "m.emote"
                && e.ContentString("body") is { } body && CommandParser.Parse(body, options.CommandPrefix, isDirect) is not null,
            _ => false,
        };
    }

    [LoggerMessage(LogLevel.Warning, "Ignoring encrypted event {EventId} in {RoomId} from {Sender}: {Reason}")]
    private partial void LogRefusedEncrypted(string eventId, string roomId, string sender, string reason);

    [LoggerMessage(LogLevel.Debug, "Queued {Count} inbox item(s) from a sync batch")]
    private partial void LogQueued(int count);
}
