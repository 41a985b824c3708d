using System.Text.Json;
using System.Text.Json.Nodes;
using Doorman.Homeserver;
using Doorman.Matrix;
using Doorman.Matrix.Events;
using Doorman.Matrix.Rooms;
using Doorman.Storage;
using Microsoft.Extensions.Options;

namespace Doorman.Messaging;

/// <summary>
/// The bot's DMs (DESIGN §3 "DMs and abuse"). Our <c>dm_rooms</c> table is the truth; <c>m.direct</c> account data
/// mirrors it for other clients (read-modify-write; only a 404 means "none yet", any other error keeps the data
/// intact). A user may have several DMs with the bot: messages go to the newest one where both are still in the
/// room (the peer joined or invited); when there is none, a new one is made, encrypted when the bot can read encrypted
/// rooms (<see cref="BotCrypto.IsOn"/>).
/// </summary>
public sealed class DirectMessages(MatrixClient matrix, BotCrypto crypto, Database database, DirectRooms rooms, IOptions<MatrixOptions> options,
    TimeProvider time) : IDisposable
{
    private static readonly InitialStateEvent EncryptionState = new()
    {
        Type = EventTypes.Encryption,
        Content = JsonDocument.Parse("""{"algorithm":"m.megolm.v1.aes-sha2"}""").RootElement.Clone(),
    };

    private readonly SemaphoreSlim _creating = new(1, 1);

    public void Dispose() => _creating.Dispose();

    /// <summary>Remembers a DM the user opened with us (an invite with <c>is_direct</c>, checked by the caller).</summary>
    public async Task RecordAsync(string userId, string roomId, CancellationToken cancellationToken)
    {
        await database.WriteAsync(tx => rooms.SetAsync(tx, userId, roomId, time.GetUtcNow()), cancellationToken);
        await MirrorAsync(userId, roomId, cancellationToken);
    }

    /// <summary>The user a room is (or was) a DM with; null when it never was one.</summary>
    public Task<string?> PartnerAsync(string roomId, CancellationToken cancellationToken) =>
        database.ReadAsync(tx => rooms.PartnerAsync(tx, roomId), cancellationToken);

    public async Task<bool> IsDirectRoomAsync(string roomId, CancellationToken cancellationToken) =>
        await PartnerAsync(roomId, cancellationToken) is not null;

    /// <summary>The newest DM with the user that both are still in; made (and the user invited) if there is none.</summary>
    public async Task<string> GetOrCreateAsync(string userId, CancellationToken cancellationToken)
    {
        await _creating.WaitAsync(cancellationToken);
        try
        {
            foreach (var existing in await database.ReadAsync(tx => rooms.CurrentRoomsAsync(tx, userId), cancellationToken))
            {
                var membership = await TryMembershipAsync(existing, userId, cancellationToken);
                if (membership is Membership.Join or Membership.Invite)
                    return existing;
                await database.WriteAsync(tx => rooms.LeaveAsync(tx, existing, time.GetUtcNow()), cancellationToken);
            }

            // Encrypted, as Element makes a new DM (CS API "m.room.encryption"), when the bot can read encrypted rooms
            // and, as Element also checks, the person has a device with keys: else they could never read it.
            var encrypted = await crypto.CanEncryptToAsync(userId, cancellationToken);
            var roomId = await matrix.CreateRoomAsync(new CreateRoomRequest
            {
                Preset = CreateRoomRequest.TrustedPrivateChat,
                IsDirect = true,
                Invite = [userId],
                InitialState = encrypted ? [EncryptionState] : null,
            }, cancellationToken);
            await database.WriteAsync(tx => rooms.SetAsync(tx, userId, roomId, time.GetUtcNow()), cancellationToken);
            await MirrorAsync(userId, roomId, cancellationToken);
            return roomId;
        }
        finally
        {
            _creating.Release();
        }
    }

    /// <summary>Stops using a DM (the bot left, was removed, or a third member came); it stays known as a DM.</summary>
    public Task ForgetAsync(string roomId, CancellationToken cancellationToken) =>
        database.WriteAsync(tx => rooms.LeaveAsync(tx, roomId, time.GetUtcNow()), cancellationToken);
    private async Task<string?> TryMembershipAsync(string roomId, string userId, CancellationToken cancellationToken)
    {
        try
        {
            return await matrix.GetMembershipAsync(roomId, userId, cancellationToken);
        }
        catch (MatrixException e) when (e.IsForbidden || e.IsNotFound)
        {
            return null; // We are no longer in that room ourselves.
        }
    }

    /// <summary>Adds the room to <c>m.direct</c> (CS API §"Direct Messaging") unless it is there already.</summary>
    private async Task MirrorAsync(string userId, string roomId, CancellationToken cancellationToken)
    {
        var botUserId = options.Value.UserId;
        var current = await matrix.TryGetAccountDataAsync(botUserId, EventTypes.Direct, cancellationToken);
        var map = current is { ValueKind: JsonValueKind.Object } c ? JsonNode.Parse(c.GetRawText())!.AsObject() : [];
        var list = map[userId] as JsonArray ?? [];
        if (list.Any(n => n?.GetValue<string>() == roomId))
            return;
        list.Add(roomId);
        map[userId] = list.DeepClone();
        await matrix.SetAccountDataAsync(botUserId, EventTypes.Direct, JsonSerializer.SerializeToElement(map), cancellationToken);
    }
}
