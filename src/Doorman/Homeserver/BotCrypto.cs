using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using Doorman.Matrix;
using Doorman.Matrix.Crypto;
using Doorman.Matrix.Events;
using Doorman.Matrix.Sync;
using Doorman.Storage;
using Microsoft.Extensions.Options;

namespace Doorman.Homeserver;

/// <summary>
/// The bot's end-to-end encryption: one <see cref="CryptoMachine"/> for its device, started with the Matrix session,
/// and what the rest of the bot asks of it: take in a sync batch, decrypt an event, and send to a room encrypted
/// when the room is (CS API "End-to-End Encryption"). Whether a room is encrypted is read from its state once and
/// then followed in sync (encryption, once on, cannot be turned off), so sending asks the server nothing more. When the homeserver does not take the bot's
/// keys, encryption is off with one warning, and encrypted rooms get plain-text answers.
/// </summary>
public sealed partial class BotCrypto(
    MatrixClient matrix,
    Database database,
    IOptions<MatrixOptions> options,
    TimeProvider time,
    ILogger<BotCrypto> logger) : IDisposable
{
    private readonly ConcurrentDictionary<string, RoomEncryptionSettings?> _rooms = new(StringComparer.Ordinal);
    private CryptoMachine? _machine;

    /// <summary>True once the device's keys are on the server: encrypted rooms are read and answered encrypted.</summary>
    public bool IsOn => _machine is not null;

    /// <summary>
    /// Loads or makes the device's keys and publishes them (<see cref="CryptoMachine.InitializeAsync"/>). A
    /// homeserver that refuses them leaves encryption off, logged; a crypto store the key cannot open stops the bot,
    /// since going on would replace the device's identity.
    /// </summary>
    public async Task StartAsync(string? deviceId, CancellationToken cancellationToken)
    {
        if (deviceId is null)
        {
            LogOff("the homeserver did not say which device the access token belongs to");
            return;
        }
        var key = CryptoKeys.Resolve(options.Value, database, logger);
        var machine = new CryptoMachine(matrix, new CryptoItems(database, key), options.Value.UserId, deviceId, time, logger)
        {
            Password = options.Value.Password.Length > 0 ? options.Value.Password : null,
        };
        try
        {
            await machine.InitializeAsync(cancellationToken);
        }
        catch (CryptoStoreException e)
        {
            machine.Dispose();
            throw new StartupException(e.Message + ". Restore the key from your backup; README \"End-to-end encryption\" says what else you can do.", e);
        }
        catch (MatrixException e) when (!e.IsUnknownToken)
        {
            machine.Dispose();
            LogOff(e.Message);
            return;
        }
        _machine = machine;
        LogOn(deviceId, machine.FingerprintKey);
    }

    /// <summary>Whether a new DM with the user can be encrypted: encryption is on and the user has a device with keys.</summary>
    public async Task<bool> CanEncryptToAsync(string userId, CancellationToken cancellationToken) =>
        _machine is { } machine && await machine.HasDevicesAsync(userId, cancellationToken);

    /// <summary>Takes in what a sync batch brings for the device, and which rooms turned encryption on.</summary>
    public async Task ReceiveAsync(SyncResponse response, CancellationToken cancellationToken)
    {
        foreach (var (roomId, room) in response.Rooms?.Join ?? [])
        {
            var encryption = (room.State?.Events ?? []).Concat(room.Timeline?.Events ?? [])
                .LastOrDefault(e => e.Type == EventTypes.Encryption && e.StateKey == "");
            if (encryption is not null && encryption.ContentString("algorithm") == DeviceList.MegolmAlgorithm)
                _rooms[roomId] = RoomEncryptionSettings.FromContent(encryption.Content);
        }
        if (_machine is { } machine)
            await machine.ReceiveSyncAsync(response, cancellationToken);
    }

    /// <summary>
    /// An <c>m.room.encrypted</c> event decrypted, or why not; null when encryption is off. The decrypted event keeps
    /// the original's id, sender and time.
    /// </summary>
    public Task<RoomDecryption>? TryDecryptAsync(string roomId, ClientEvent e, CancellationToken cancellationToken) =>
        _machine?.DecryptAsync(roomId, e, cancellationToken);

    /// <summary>Whether messages to the room must be encrypted (Megolm); read from the room's state the first time.</summary>
    public async Task<bool> IsEncryptedAsync(string roomId, CancellationToken cancellationToken) =>
        _machine is not null && await SettingsAsync(roomId, cancellationToken) is not null;

    /// <summary>
    /// Sends an event to a room: encrypted, for the room's joined members (and invited ones, when the room's history
    /// visibility lets them read it), when the room is encrypted and encryption is on; as it is otherwise. The
    /// transaction id makes a resend harmless either way.
    /// </summary>
    public async Task<string> SendAsync(string roomId, string eventType, string transactionId, JsonElement content, CancellationToken cancellationToken)
    {
        if (_machine is not { } machine || await SettingsAsync(roomId, cancellationToken) is not { } settings)
            return await matrix.SendEventAsync(roomId, eventType, transactionId, content, cancellationToken);

        var recipients = await RecipientsAsync(roomId, cancellationToken);
        var encrypted = await machine.EncryptAsync(roomId, eventType, JsonNode.Parse(content.GetRawText())!.AsObject(), recipients, settings, cancellationToken);
        using var document = JsonDocument.Parse(encrypted.ToJsonString());
        return await matrix.SendEventAsync(roomId, EventTypes.Encrypted, transactionId, document.RootElement, cancellationToken);
    }

    private async Task<RoomEncryptionSettings?> SettingsAsync(string roomId, CancellationToken cancellationToken)
    {
        if (_rooms.TryGetValue(roomId, out var known))
            return known;
        var state = await matrix.TryGetStateAsync(roomId, EventTypes.Encryption, "", cancellationToken);
        var settings = state is { ValueKind: JsonValueKind.Object } content && content.TryGetProperty("algorithm", out var algorithm)
            && algorithm.ValueKind == JsonValueKind.String && algorithm.GetString() == DeviceList.MegolmAlgorithm
                ? RoomEncryptionSettings.FromContent(content)
                : null;
        // Kept either way: encryption, once on, stays on (CS API "m.room.encryption"), and a room turning it on later
        // does so by an m.room.encryption event, which ReceiveAsync sees in the room's sync.
        _rooms[roomId] = settings;
        return settings;
    }

    /// <summary>Joined members, and invited ones unless history is visible to joined members only (CS API "Room History Visibility").</summary>
    private async Task<IReadOnlyCollection<string>> RecipientsAsync(string roomId, CancellationToken cancellationToken)
    {
        var members = await matrix.GetMembersAsync(roomId, null, cancellationToken);
        var visibility = await matrix.TryGetStateAsync(roomId, "m.room.history_visibility", "", cancellationToken);
        var invitedToo = !(visibility is { ValueKind: JsonValueKind.Object } v && v.TryGetProperty("history_visibility", out var h)
            && h.ValueKind == JsonValueKind.String && h.GetString() == "joined");
        return members
            .Where(m => m.StateKey is not null && m.ContentString("membership") is var membership
                && (membership == Membership.Join || invitedToo && membership == Membership.Invite))
            .Select(m => m.StateKey!)
            .ToList();
    }

    public void Dispose() => _machine?.Dispose();

    [LoggerMessage(LogLevel.Information, "End-to-end encryption is on for device {DeviceId} (fingerprint {Fingerprint})")]
    private partial void LogOn(string deviceId, string fingerprint);

    [LoggerMessage(LogLevel.Warning, "End-to-end encryption is off ({Reason}): the bot cannot read encrypted rooms and answers them in plain text")]
    private partial void LogOff(string reason);
}
