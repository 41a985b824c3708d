using System.Text.Json;
using Doorman.Matrix;
using Doorman.Matrix.Crypto;
using Doorman.Matrix.Events;
using Doorman.Matrix.Rooms;
using Doorman.Matrix.Sync;
using Microsoft.Extensions.Logging.Abstractions;

namespace Doorman.Sandbox.Players;

/// <summary>
/// A person on the homeserver — a room owner or a member — played through the Matrix client API: creates
/// rooms, talks, and waits for what it should see. Used by the runnable sandbox and by the end-to-end tests;
/// it sees only what its own /sync shows, as a real user's client would. Like Element, its device publishes
/// end-to-end encryption keys before it first talks or listens, and it reads encrypted rooms: what it records of
/// an encrypted event is the decrypted event (it speaks in plain text itself). On a server without the key API it
/// simply reads no encrypted events.
/// </summary>
public sealed class Player : IDisposable
{
    private readonly List<(string RoomId, ClientEvent Event)> _seen = [];
    private readonly HashSet<string> _invitedTo = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _syncing = new(1, 1);
    private const string TimelineFilter = """{"room":{"timeline":{"limit":500}}}""";
    private readonly SemaphoreSlim _cryptoStart = new(1, 1);
    private string? _since;
    private long _txn;
    private CryptoMachine? _crypto;
    private bool _cryptoTried;

    public Player(string name, Uri homeserver, string userId, string accessToken)
    {
        Name = name;
        UserId = userId;
        Client = MatrixClient.Create(homeserver, accessToken);
    }

    public string Name { get; }

    public string UserId { get; }

    /// <summary>False: a client without end-to-end encryption, which publishes no keys and reads no encrypted events.</summary>
    public bool Encryption { get; init; } = true;

    public MatrixClient Client { get; }

    /// <summary>Rooms this player has been invited to (as its sync showed).</summary>
    public IReadOnlyList<string> InvitedRooms
    {
        get
        {
            lock (_seen)
                return [.. _invitedTo];
        }
    }

    /// <summary>Everything this player has seen, in order.</summary>
    public IReadOnlyList<(string RoomId, ClientEvent Event)> Seen
    {
        get
        {
            lock (_seen)
                return [.. _seen];
        }
    }

    public void Dispose()
    {
        _crypto?.Dispose();
        Client.Dispose();
        _syncing.Dispose();
        _cryptoStart.Dispose();
    }

    /// <summary>Publishes the device's keys, once, before the player first talks or listens.</summary>
    private async Task EnsureCryptoAsync(CancellationToken cancellationToken)
    {
        if (_cryptoTried || !Encryption)
            return;
        await _cryptoStart.WaitAsync(cancellationToken);
        try
        {
            if (_cryptoTried)
                return;
            var me = await Client.WhoAmIAsync(cancellationToken);
            if (me.DeviceId is { } deviceId)
            {
                var machine = new CryptoMachine(Client, new MemoryCryptoStore(), UserId, deviceId, TimeProvider.System, NullLogger.Instance);
                try
                {
                    await machine.InitializeAsync(cancellationToken);
                    _crypto = machine;
                }
                catch (MatrixException)
                {
                    machine.Dispose(); // no key API here: the player reads unencrypted rooms only
                }
            }
            _cryptoTried = true;
        }
        finally
        {
            _cryptoStart.Release();
        }
    }

    /// <summary>
    /// As a room owner: makes a room, invites the bot, waits for it to join, gives it power level 50 (invite and kick)
    /// and sets <paramref name="price"/> (<c>!gate set …</c>), waiting for the bot's confirmation (docs/owners.md).
    /// </summary>
    public async Task<string> CreateGatedRoomAsync(string aliasLocalpart, string name, string botUserId, string price, TimeSpan patience,
        CancellationToken cancellationToken = default)
    {
        var roomId = await CreateRoomAsync(aliasLocalpart, name: name, cancellationToken: cancellationToken);
        await Client.InviteAsync(roomId, botUserId, null, cancellationToken);
        await WaitForMembershipAsync(roomId, botUserId, Membership.Join, patience, cancellationToken);
        await SetPowerLevelAsync(roomId, botUserId, 50, cancellationToken);
        var mark = Mark;
        await SayAsync(roomId, "!gate set " + price, cancellationToken);
        await WaitForMessageAsync(roomId, b => b.Contains("now costs", StringComparison.Ordinal), patience, mark, cancellationToken);
        return roomId;
    }

    public async Task<string> CreateRoomAsync(string? aliasLocalpart = null, string? roomVersion = null, string? name = null,
        CancellationToken cancellationToken = default)
    {
        await EnsureCryptoAsync(cancellationToken);
        return await Client.CreateRoomAsync(new CreateRoomRequest
        {
            Preset = CreateRoomRequest.PrivateChat,
            RoomAliasName = aliasLocalpart,
            RoomVersion = roomVersion,
            Name = name,
        }, cancellationToken);
    }

    /// <summary>Gives <paramref name="userId"/> a power level in the room (read-modify-write of <c>m.room.power_levels</c>).</summary>
    public async Task SetPowerLevelAsync(string roomId, string userId, long level, CancellationToken cancellationToken = default)
    {
        var current = await Client.GetStateAsync(roomId, EventTypes.PowerLevels, "", cancellationToken);
        var content = System.Text.Json.Nodes.JsonNode.Parse(current.GetRawText())!.AsObject();
        var users = content["users"] as System.Text.Json.Nodes.JsonObject ?? [];
        users[userId] = level;
        content["users"] = users.DeepClone();
        await Client.SetStateAsync(roomId, EventTypes.PowerLevels, "", JsonSerializer.SerializeToElement(content), cancellationToken);
    }

    /// <summary>Opens a DM with <paramref name="userId"/> the way Element does (trusted_private_chat, is_direct).</summary>
    public async Task<string> OpenDirectMessageAsync(string userId, CancellationToken cancellationToken = default)
    {
        await EnsureCryptoAsync(cancellationToken);
        return await Client.CreateRoomAsync(new CreateRoomRequest { Preset = CreateRoomRequest.TrustedPrivateChat, IsDirect = true, Invite = [userId] },
            cancellationToken);
    }

    public async Task<string> SayAsync(string roomId, string text, CancellationToken cancellationToken = default)
    {
        await EnsureCryptoAsync(cancellationToken);
        return await Client.SendMessageAsync(roomId, $"{Name}.{Environment.TickCount64}.{Interlocked.Increment(ref _txn)}",
            new MessageContent { MsgType = MessageContent.Text, Body = text }, cancellationToken);
    }

    /// <summary>Waits for a message in the room whose body satisfies <paramref name="match"/>, sent by someone else.</summary>
    public async Task<ClientEvent> WaitForMessageAsync(string roomId, Func<string, bool> match, TimeSpan timeout,
        int after = 0, CancellationToken cancellationToken = default) =>
        await WaitForAsync(roomId, e => e.Type == EventTypes.Message && e.Sender != UserId && e.ContentString("body") is { } body && match(body),
            timeout, $"a message in {roomId} matching the test's condition", after, cancellationToken);

    /// <summary>Waits for <paramref name="userId"/>'s membership in the room to become <paramref name="membership"/>.</summary>
    public Task<ClientEvent> WaitForMembershipAsync(string roomId, string userId, string membership, TimeSpan timeout,
        CancellationToken cancellationToken = default) =>
        WaitForAsync(roomId, e => e.Type == EventTypes.Member && e.StateKey == userId && e.ContentString("membership") == membership,
            timeout, $"{userId} to be '{membership}' in {roomId}", cancellationToken: cancellationToken);

    /// <summary>Waits until this player is invited to the room.</summary>
    public async Task WaitForInviteAsync(string roomId, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var deadline = TimeProvider.System.GetUtcNow() + timeout;
        while (true)
        {
            lock (_seen)
                if (_invitedTo.Contains(roomId))
                    return;
            var left = deadline - TimeProvider.System.GetUtcNow();
            if (left <= TimeSpan.Zero)
                throw new TimeoutException($"{Name} was not invited to {roomId} within {timeout}");
            await PumpAsync(left, cancellationToken);
        }
    }

    /// <summary>Waits until this player is invited to a room not in <paramref name="known"/> (a DM the bot opens, say), and returns it.</summary>
    public async Task<string> WaitForNewInviteAsync(IReadOnlyCollection<string> known, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var deadline = TimeProvider.System.GetUtcNow() + timeout;
        while (true)
        {
            lock (_seen)
                if (_invitedTo.FirstOrDefault(r => !known.Contains(r)) is { } room)
                    return room;
            var left = deadline - TimeProvider.System.GetUtcNow();
            if (left <= TimeSpan.Zero)
                throw new TimeoutException($"{Name} was not invited to a new room within {timeout}");
            await PumpAsync(left, cancellationToken);
        }
    }

    /// <summary>How many events this player has seen so far: pass it as <c>after</c> to wait only for newer ones.</summary>
    public int Mark
    {
        get
        {
            lock (_seen)
                return _seen.Count;
        }
    }

    public async Task<ClientEvent> WaitForAsync(string roomId, Func<ClientEvent, bool> match, TimeSpan timeout, string what,
        int after = 0, CancellationToken cancellationToken = default)
    {
        var deadline = TimeProvider.System.GetUtcNow() + timeout;
        while (true)
        {
            lock (_seen)
                foreach (var (room, e) in _seen.Skip(after))
                    if (room == roomId && match(e))
                        return e;
            var left = deadline - TimeProvider.System.GetUtcNow();
            if (left <= TimeSpan.Zero)
                throw new TimeoutException($"{Name} did not see {what} within {timeout}");
            await PumpAsync(left, cancellationToken);
        }
    }

    /// <summary>
    /// One sync, holding the request open for at most <paramref name="wait"/> (capped at 5 s), recording what it brings.
    /// A long-poll whose connection drops or is refused (the homeserver restarting) brings nothing, after a short pause,
    /// and the caller syncs again, as a client does.
    /// </summary>
    public async Task PumpAsync(TimeSpan wait, CancellationToken cancellationToken = default)
    {
        await EnsureCryptoAsync(cancellationToken);
        await _syncing.WaitAsync(cancellationToken);
        try
        {
            var hold = wait > TimeSpan.FromSeconds(5) ? TimeSpan.FromSeconds(5) : wait;
            SyncResponse response;
            try
            {
                // A generous timeline limit, so a busy room never gives a limited batch that would hide events from the tests.
                response = await Client.SyncAsync(_since, TimelineFilter, _since is null ? TimeSpan.Zero : hold, cancellationToken);
            }
            catch (HttpRequestException) when (!cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(200), cancellationToken);
                return;
            }
            var decrypted = await DecryptAsync(response, cancellationToken);
            _since = response.NextBatch;
            Record(response, decrypted);
        }
        finally
        {
            _syncing.Release();
        }
    }

    /// <summary>Takes in the batch's keys, then decrypts its encrypted timeline events that it can (by event id).</summary>
    private async Task<Dictionary<string, ClientEvent>> DecryptAsync(SyncResponse response, CancellationToken cancellationToken)
    {
        var decrypted = new Dictionary<string, ClientEvent>(StringComparer.Ordinal);
        if (_crypto is null)
            return decrypted;
        await _crypto.ReceiveSyncAsync(response, cancellationToken);
        foreach (var (roomId, room) in response.Rooms?.Join ?? [])
        {
            foreach (var e in room.Timeline?.Events ?? [])
            {
                if (e.Type == EventTypes.Encrypted && e.EventId is { } eventId
                    && (await _crypto.DecryptAsync(roomId, e, cancellationToken)).Event is { } clear)
                    decrypted[eventId] = clear;
            }
        }
        return decrypted;
    }

    private void Record(SyncResponse response, Dictionary<string, ClientEvent> decrypted)
    {
        lock (_seen)
        {
            foreach (var (roomId, room) in response.Rooms?.Join ?? [])
            {
                foreach (var e in room.State?.Events ?? [])
                    _seen.Add((roomId, e));
                foreach (var e in room.Timeline?.Events ?? [])
                    _seen.Add((roomId, e.EventId is { } id && decrypted.TryGetValue(id, out var clear) ? clear : e));
            }
            foreach (var (roomId, room) in response.Rooms?.Leave ?? [])
                foreach (var e in room.Timeline?.Events ?? [])
                    _seen.Add((roomId, e));
            foreach (var (roomId, room) in response.Rooms?.Invite ?? [])
            {
                _invitedTo.Add(roomId);
                foreach (var e in room.InviteState?.Events ?? [])
                    _seen.Add((roomId, e));
            }
        }
    }

    /// <summary>The text of a message event, for printing.</summary>
    public static string BodyOf(ClientEvent e) => e.ContentString("body") ?? e.Content.GetRawText();

    public override string ToString() => $"{Name} ({UserId})";

    /// <summary>The first BOLT11 invoice in a text, if any.</summary>
    public static string? FindInvoice(string text)
    {
        foreach (var word in text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = word.StartsWith("lightning:", StringComparison.OrdinalIgnoreCase) ? word["lightning:".Length..] : word;
            if (candidate.StartsWith("lnbc", StringComparison.OrdinalIgnoreCase) || candidate.StartsWith("lntb", StringComparison.OrdinalIgnoreCase))
                return candidate.TrimEnd(')', '.', ',');
        }
        return null;
    }

    internal static JsonElement EmptyObject() => JsonDocument.Parse("{}").RootElement.Clone();
}
