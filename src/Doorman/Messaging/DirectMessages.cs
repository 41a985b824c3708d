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
/// The bot's DM with each user. Our <c>direct_rooms</c> table is the truth; <c>m.direct</c> account data mirrors
/// it for other clients (read-modify-write; only a 404 means "none yet", any other error keeps the data intact).
/// A stored DM is reused only while the peer is still joined or invited; otherwise a new one is made.
/// </summary>
public sealed class DirectMessages(MatrixClient matrix, Database database, DirectRooms rooms, IOptions<MatrixOptions> options, TimeProvider time) : IDisposable
{
    private readonly SemaphoreSlim _creating = new(1, 1);

    public void Dispose() => _creating.Dispose();

    /// <summary>Remembers a DM the user opened with us (an invite with <c>is_direct</c>).</summary>
    public async Task RecordAsync(string userId, string roomId, CancellationToken cancellationToken)
    {
        await database.WriteAsync(tx => rooms.SetAsync(tx, userId, roomId, time.GetUtcNow()), cancellationToken);
        await MirrorAsync(userId, roomId, cancellationToken);
    }

    public Task<bool> IsDirectRoomAsync(string roomId, CancellationToken cancellationToken) =>
        database.ReadAsync(tx => rooms.IsDirectRoomAsync(tx, roomId), cancellationToken);

    /// <summary>The DM room with the user, made (and the user invited) if there is none they are still in.</summary>
    public async Task<string> GetOrCreateAsync(string userId, CancellationToken cancellationToken)
    {
        await _creating.WaitAsync(cancellationToken);
        try
        {
            var existing = await database.ReadAsync(tx => rooms.GetRoomAsync(tx, userId), cancellationToken);
            if (existing is not null)
            {
                var membership = await TryMembershipAsync(existing, userId, cancellationToken);
                if (membership is Membership.Join or Membership.Invite)
                    return existing;
                await database.WriteAsync(tx => rooms.ForgetAsync(tx, userId, existing), cancellationToken);
            }

            var roomId = await matrix.CreateRoomAsync(new CreateRoomRequest
            {
                Preset = CreateRoomRequest.TrustedPrivateChat,
                IsDirect = true,
                Invite = [userId],
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

    /// <summary>Forgets a DM the bot can no longer use (it left, or was removed), so the next message makes a new one.</summary>
    public Task ForgetAsync(string userId, string roomId, CancellationToken cancellationToken) =>
        database.WriteAsync(tx => rooms.ForgetAsync(tx, userId, roomId), cancellationToken);

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
