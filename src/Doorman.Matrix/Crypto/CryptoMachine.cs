using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Doorman.Matrix.Crypto.Megolm;
using Doorman.Matrix.Crypto.Olm;
using Doorman.Matrix.Events;
using Doorman.Matrix.Sync;
using Microsoft.Extensions.Logging;

namespace Doorman.Matrix.Crypto;

/// <summary>
/// End-to-end encryption for one device of a bot (CS API "End-to-End Encryption"): publishes its keys and a
/// cross-signing identity, reads what /sync brings for the device (room keys over Olm, device list changes, key
/// counts), decrypts Megolm room events, and encrypts the bot's messages, sharing its Megolm session with every
/// device of the recipients first. One operation at a time; each leaves the store consistent before it returns,
/// so the caller may store the sync token after <see cref="ReceiveSyncAsync"/>.
/// </summary>
public sealed partial class CryptoMachine : IDisposable
{
    private const string IdentityKind = "identity";
    private const string OlmKind = "olm";
    private const string InboundKind = "inbound";
    private const string OutboundKind = "outbound";
    private const string DevicesKind = "devices";
    private const string IndexKind = "megolm-index";
    private const string WithheldKind = "withheld";
    private const string OneTimeKeyAlgorithm = "signed_curve25519";

    /// <summary>Defaults of <c>m.room.encryption</c> (CS API "m.room.encryption"): a week, 100 messages.</summary>
    public static readonly TimeSpan DefaultRotationPeriod = TimeSpan.FromDays(7);
    public const int DefaultRotationMessages = 100;

    /// <summary>How often a wedged Olm session with one device is replaced (CS API "Recovering from undecryptable messages").</summary>
    private static readonly TimeSpan UnwedgeInterval = TimeSpan.FromHours(1);

    private readonly MatrixClient _client;
    private readonly ICryptoStore _store;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _lock = new(1, 1);
    private readonly Dictionary<string, DateTimeOffset> _unwedged = new(StringComparer.Ordinal);
    private OlmAccount? _account;
    private IdentityRecord? _identity;

    public CryptoMachine(MatrixClient client, ICryptoStore store, string userId, string deviceId, TimeProvider time, ILogger logger)
    {
        _client = client;
        _store = store;
        _time = time;
        _logger = logger;
        UserId = userId;
        DeviceId = deviceId;
    }

    public string UserId { get; }

    public string DeviceId { get; }

    /// <summary>The password for the user-interactive auth some servers ask for before taking cross-signing keys, if the bot has one.</summary>
    public string? Password { get; init; }

    private OlmAccount Account => _account ?? throw new InvalidOperationException("InitializeAsync first");

    /// <summary>The device's Curve25519 identity key (after <see cref="InitializeAsync"/>).</summary>
    public string IdentityKey => Account.Curve25519Key;

    /// <summary>The device's Ed25519 fingerprint (after <see cref="InitializeAsync"/>).</summary>
    public string FingerprintKey => Account.Ed25519Key;

    /// <summary>The public master cross-signing key (after <see cref="InitializeAsync"/>).</summary>
    public string MasterKey => CrossSigningKeys.FromSeeds(_identity!.CrossSigning).Master.PublicKeyBase64;

    // ---- Identity ----

    /// <summary>
    /// Loads the device's account, or creates it on first start; then publishes what the server does not have yet:
    /// device keys with one-time and fallback keys, and the cross-signing keys with the device signed by them. A
    /// server that refuses cross-signing keys is logged, and the bot goes on (clients that share keys only with
    /// cross-signed devices will withhold theirs); the next start tries again.
    /// </summary>
    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        await _lock.WaitAsync(cancellationToken);
        try
        {
            var stored = await GetAsync(IdentityKind, "", CryptoStateJson.Default.IdentityRecord, cancellationToken);
            if (stored is not null && stored.DeviceId == DeviceId)
            {
                _identity = stored;
                _account = OlmAccount.Unpickle(stored.Account);
            }
            else
            {
                if (stored is not null)
                    await ForgetDeviceAsync(stored.DeviceId, cancellationToken);
                _account = OlmAccount.Create();
                _identity = new IdentityRecord(DeviceId, _account.Pickle(), stored?.CrossSigning ?? CrossSigningKeys.Create().ExportSeeds(),
                    DeviceKeysPublished: false, CrossSigningPublished: stored?.CrossSigningPublished ?? false, DeviceSigned: false);
                await SaveIdentityAsync(cancellationToken);
                LogCreatedDevice(DeviceId, _account.Ed25519Key);
            }

            if (!_identity.DeviceKeysPublished)
            {
                // Stored before they go out, and never made again: a start that died after the upload and before the
                // "published" mark sends the very same keys next time, which the server takes, where new keys under the
                // same ids would be refused ("One time key … already exists") and leave encryption off for good.
                if (Account.UnpublishedOneTimeKeys.Count == 0)
                    Account.GenerateOneTimeKeys(Account.MaxOneTimeKeys);
                if (Account.UnpublishedFallbackKey is null)
                    Account.GenerateFallbackKey();
                await SaveIdentityAsync(cancellationToken);
                var body = KeysToPublish();
                body["device_keys"] = DeviceKeys();
                await _client.UploadKeysAsync(body, cancellationToken);
                Account.MarkKeysAsPublished();
                _identity = _identity with { DeviceKeysPublished = true };
                await SaveIdentityAsync(cancellationToken);
            }

            if (!_identity.CrossSigningPublished || !_identity.DeviceSigned)
                await PublishCrossSigningAsync(cancellationToken);
        }
        finally
        {
            _lock.Release();
        }
    }

    private async Task PublishCrossSigningAsync(CancellationToken cancellationToken)
    {
        var keys = CrossSigningKeys.FromSeeds(_identity!.CrossSigning);
        try
        {
            if (!_identity.CrossSigningPublished)
            {
                await _client.UploadSigningKeysAsync(UserId, keys.UploadBody(UserId), Password, cancellationToken);
                _identity = _identity with { CrossSigningPublished = true };
                await SaveIdentityAsync(cancellationToken);
                LogCrossSigningPublished(keys.Master.PublicKeyBase64);
            }
            var signed = keys.SignDevice(DeviceKeys(), UserId);
            await _client.UploadSignaturesAsync(new JsonObject { [UserId] = new JsonObject { [DeviceId] = signed } }, cancellationToken);
            _identity = _identity with { DeviceSigned = true };
            await SaveIdentityAsync(cancellationToken);
            LogDeviceSigned(DeviceId);
        }
        catch (MatrixException e)
        {
            LogCrossSigningRefused(e.Message);
        }
    }

    /// <summary>
    /// A new login replaced the device: its Olm sessions and the Megolm sessions it sent with belong to the old
    /// identity key, so they go; the room keys others shared stay readable.
    /// </summary>
    private async Task ForgetDeviceAsync(string oldDeviceId, CancellationToken cancellationToken)
    {
        foreach (var kind in new[] { OlmKind, OutboundKind })
        {
            foreach (var (key, _) in await _store.ListAsync(kind, "", cancellationToken))
                await _store.DeleteAsync(kind, key, cancellationToken);
        }
        LogDeviceReplaced(oldDeviceId, DeviceId);
    }

    /// <summary>The device keys object for <c>/keys/upload</c> (CS API "Device keys"), signed by the device.</summary>
    private JsonObject DeviceKeys() => JsonSigning.Sign(new JsonObject
    {
        ["user_id"] = UserId,
        ["device_id"] = DeviceId,
        ["algorithms"] = new JsonArray(DeviceList.OlmAlgorithm, DeviceList.MegolmAlgorithm),
        ["keys"] = new JsonObject
        {
            [$"curve25519:{DeviceId}"] = Account.Curve25519Key,
            [$"ed25519:{DeviceId}"] = Account.Ed25519Key,
        },
    }, UserId, DeviceId, Account.SigningKey);

    /// <summary>The unpublished one-time keys and fallback key, signed, as <c>/keys/upload</c> takes them.</summary>
    private JsonObject KeysToPublish()
    {
        var body = new JsonObject();
        var oneTime = new JsonObject();
        foreach (var (id, key) in Account.UnpublishedOneTimeKeys)
            oneTime[$"{OneTimeKeyAlgorithm}:{id}"] = SignedKey(key, fallback: false);
        if (oneTime.Count > 0)
            body["one_time_keys"] = oneTime;
        if (Account.UnpublishedFallbackKey is { } fallback)
            body["fallback_keys"] = new JsonObject { [$"{OneTimeKeyAlgorithm}:{fallback.Key}"] = SignedKey(fallback.Value, fallback: true) };
        return body;
    }

    private JsonObject SignedKey(string key, bool fallback)
    {
        var obj = new JsonObject { ["key"] = key };
        if (fallback)
            obj["fallback"] = true;
        return JsonSigning.Sign(obj, UserId, DeviceId, Account.SigningKey);
    }

    // ---- What /sync brings for the device ----

    /// <summary>
    /// Takes in a sync batch's to-device events, device list changes and key counts. Returns when all of it is
    /// stored: the caller stores the sync token after this, and the server then deletes the to-device events.
    /// </summary>
    public async Task ReceiveSyncAsync(SyncResponse response, CancellationToken cancellationToken)
    {
        await _lock.WaitAsync(cancellationToken);
        try
        {
            foreach (var userId in response.DeviceLists?.Changed ?? [])
            {
                if (await GetDevicesAsync(userId, cancellationToken) is { } known)
                    await PutAsync(DevicesKind, userId, known with { Outdated = true }, CryptoStateJson.Default.UserDevices, cancellationToken);
            }
            foreach (var userId in response.DeviceLists?.Left ?? [])
                await _store.DeleteAsync(DevicesKind, userId, cancellationToken);

            foreach (var e in response.ToDevice?.Events ?? [])
            {
                // One event is one unit of failure: a message that breaks the code reading it is logged and left,
                // never allowed to stop the sync for everyone (the server would send it again forever). Only the
                // homeserver being away propagates, so the batch comes again.
                try
                {
                    await ReceiveToDeviceAsync(e, cancellationToken);
                }
                catch (Exception ex) when (ex is not (OperationCanceledException or HttpRequestException or TimeoutException)
                    && ex is not MatrixException { Status: >= System.Net.HttpStatusCode.InternalServerError or System.Net.HttpStatusCode.TooManyRequests })
                {
                    LogToDeviceFailed(ex, e.Type, e.Sender);
                }
            }

            await ReplenishKeysAsync(response, cancellationToken);
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>
    /// Tops up the one-time keys on the server to what the account publishes at most
    /// (<see cref="OlmAccount.MaxOneTimeKeys"/>), and replaces the fallback key once the server says it was used
    /// (CS API "One-time and fallback keys").
    /// </summary>
    private async Task ReplenishKeysAsync(SyncResponse response, CancellationToken cancellationToken)
    {
        var target = Account.MaxOneTimeKeys;
        var changed = false;
        if (response.OneTimeKeysCount is { } counts && counts.GetValueOrDefault(OneTimeKeyAlgorithm) is var count && count < target)
        {
            Account.GenerateOneTimeKeys(target - count);
            changed = true;
        }
        if (response.UnusedFallbackKeyTypes is { } unused && !unused.Contains(OneTimeKeyAlgorithm))
        {
            Account.GenerateFallbackKey();
            changed = true;
        }
        if (!changed)
            return;
        await SaveIdentityAsync(cancellationToken); // the private keys before the public ones go out
        try
        {
            await _client.UploadKeysAsync(KeysToPublish(), cancellationToken);
        }
        catch (MatrixException e) when ((int)e.Status is >= 400 and < 500 and not 429)
        {
            // Refused for good: tried again at the next sync that reports a low count, never a reason to stop syncing.
            LogKeysRefused(e.Message);
            return;
        }
        Account.MarkKeysAsPublished();
        await SaveIdentityAsync(cancellationToken);
    }

    private async Task ReceiveToDeviceAsync(ClientEvent e, CancellationToken cancellationToken)
    {
        switch (e.Type)
        {
            case EventTypes.Encrypted:
                var plaintext = await DecryptOlmAsync(e, cancellationToken);
                if (plaintext is not null)
                    await ReceiveDecryptedToDeviceAsync(e.Sender, plaintext.Value.SenderKey, plaintext.Value.Payload, cancellationToken);
                break;
            case "m.room_key.withheld":
                // Sent in the clear (CS API "Reporting that decryption keys are withheld").
                if (e.ContentString("room_id") is { } roomId && e.ContentString("session_id") is { } sessionId && e.ContentString("code") is { } code)
                {
                    await PutAsync(WithheldKind, $"{roomId}|{sessionId}", new WithheldRecord(code, e.ContentString("reason")),
                        CryptoStateJson.Default.WithheldRecord, cancellationToken);
                    LogWithheld(e.Sender, roomId, code);
                }
                break;
        }
    }

    private async Task ReceiveDecryptedToDeviceAsync(string sender, string senderKey, JsonObject payload, CancellationToken cancellationToken)
    {
        var type = JsonText.Of(payload["type"]);
        if (type != "m.room_key" || payload["content"] is not JsonObject content)
            return; // m.dummy and anything else: the session itself was the point
        if (JsonText.Of(content["algorithm"]) != DeviceList.MegolmAlgorithm
            || JsonText.Of(content["room_id"]) is not { } roomId
            || JsonText.Of(content["session_id"]) is not { } sessionId
            || JsonText.Of(content["session_key"]) is not { } sessionKey
            || JsonText.Of(payload["keys"] is JsonObject keys ? keys["ed25519"] : null) is not { } senderEd25519)
        {
            LogBadRoomKey(sender, "a field is missing or not a string");
            return;
        }
        InboundGroupSession session;
        try
        {
            session = InboundGroupSession.FromSessionKey(sessionKey);
        }
        catch (MegolmException ex)
        {
            LogBadRoomKey(sender, ex.Message);
            return;
        }
        if (session.SessionId != sessionId)
        {
            LogBadRoomKey(sender, "the session id is not the session key's");
            return;
        }
        // A key we hold from an earlier index is better than this one; the same or a later one changes nothing.
        if (await GetAsync(InboundKind, $"{roomId}|{sessionId}", CryptoStateJson.Default.InboundRecord, cancellationToken) is { } held
            && InboundGroupSession.Unpickle(held.Session).FirstKnownIndex <= session.FirstKnownIndex)
            return;
        await PutAsync(InboundKind, $"{roomId}|{sessionId}", new InboundRecord(roomId, senderKey, senderEd25519, sender, session.Pickle()),
            CryptoStateJson.Default.InboundRecord, cancellationToken);
        await _store.DeleteAsync(WithheldKind, $"{roomId}|{sessionId}", cancellationToken);
        LogRoomKey(sender, roomId, sessionId);
    }

    // ---- Olm ----

    /// <summary>
    /// Decrypts an Olm to-device event (CS API "m.olm.v1.curve25519-aes-sha2") and checks its plaintext: sent by
    /// the event's sender, to us, with our Ed25519 key, and with the sender's Ed25519 key matching the device that
    /// owns the Curve25519 key (when we know that device). Null, logged, for anything else.
    /// </summary>
    private async Task<(string SenderKey, JsonObject Payload)?> DecryptOlmAsync(ClientEvent e, CancellationToken cancellationToken)
    {
        if (e.ContentString("algorithm") != DeviceList.OlmAlgorithm || e.ContentString("sender_key") is not { } senderKey)
            return null;
        if (e.Content.ValueKind != JsonValueKind.Object || !e.Content.TryGetProperty("ciphertext", out var ciphertexts)
            || ciphertexts.ValueKind != JsonValueKind.Object || !ciphertexts.TryGetProperty(Account.Curve25519Key, out var mine)
            || mine.ValueKind != JsonValueKind.Object
            || !mine.TryGetProperty("type", out var typeElement) || !typeElement.TryGetInt32(out var type)
            || !mine.TryGetProperty("body", out var bodyElement) || bodyElement.ValueKind != JsonValueKind.String)
        {
            LogOlmFailed(e.Sender, "no ciphertext for this device");
            return null;
        }
        var message = new OlmMessage(type, bodyElement.GetString()!);
        var bytes = await DecryptOlmMessageAsync(e.Sender, senderKey, message, cancellationToken);
        if (bytes is null)
            return null;

        JsonObject payload;
        try
        {
            payload = JsonNode.Parse(bytes) as JsonObject ?? throw new JsonException("not an object");
        }
        catch (JsonException)
        {
            LogOlmFailed(e.Sender, "the plaintext is not a JSON object");
            return null;
        }
        // CS API "m.olm.v1.curve25519-aes-sha2": these checks stop a sender from replaying a message meant for
        // another device, or claiming another user's keys.
        if (JsonText.Of(payload["sender"]) != e.Sender
            || JsonText.Of(payload["recipient"]) != UserId
            || JsonText.Of(payload["recipient_keys"] is JsonObject recipientKeys ? recipientKeys["ed25519"] : null) != Account.Ed25519Key)
        {
            LogOlmFailed(e.Sender, "the plaintext names another sender or recipient");
            return null;
        }
        // The Curve25519 key must be one of the sender's published devices, and the Ed25519 key the plaintext claims
        // that device's: else anyone could pass a room key off as someone else's device. A device the list we hold
        // does not show (it may be new) is looked up again once.
        var claimed = JsonText.Of(payload["keys"] is JsonObject keys ? keys["ed25519"] : null);
        var device = await SendingDeviceAsync(e.Sender, senderKey, cancellationToken);
        if (device is null)
        {
            LogOlmFailed(e.Sender, "the sending Curve25519 key is not one of the sender's published devices");
            return null;
        }
        if (device.Ed25519 != claimed)
        {
            LogOlmFailed(e.Sender, "the plaintext's Ed25519 key is not the sending device's");
            return null;
        }
        return (senderKey, payload);
    }

    private async Task<DeviceInfo?> SendingDeviceAsync(string userId, string curve25519, CancellationToken cancellationToken)
    {
        var device = (await DevicesOfAsync([userId], cancellationToken)).FirstOrDefault(d => d.Curve25519 == curve25519);
        if (device is not null || await GetDevicesAsync(userId, cancellationToken) is not { } known)
            return device;
        await PutAsync(DevicesKind, userId, known with { Outdated = true }, CryptoStateJson.Default.UserDevices, cancellationToken);
        return (await DevicesOfAsync([userId], cancellationToken)).FirstOrDefault(d => d.Curve25519 == curve25519);
    }

    private async Task<byte[]?> DecryptOlmMessageAsync(string sender, string senderKey, OlmMessage message, CancellationToken cancellationToken)
    {
        var sessions = await _store.ListAsync(OlmKind, senderKey + "|", cancellationToken);
        foreach (var (key, value) in sessions)
        {
            var record = JsonSerializer.Deserialize(value, CryptoStateJson.Default.OlmSessionRecord)!;
            var session = OlmSession.Unpickle(record.Session);
            if (message.Type == 0 && !MatchesInbound(session, senderKey, message))
                continue;
            try
            {
                var plaintext = session.Decrypt(message);
                await PutAsync(OlmKind, key, record with { Session = session.Pickle(), LastUsedMs = NowMs() }, CryptoStateJson.Default.OlmSessionRecord, cancellationToken);
                return plaintext;
            }
            catch (OlmException)
            {
                if (message.Type == 0)
                    break; // it matched this session's pre-key, yet does not decrypt: not ours to retry elsewhere
            }
        }

        if (message.Type == 0)
        {
            try
            {
                var created = Account.CreateInboundSession(senderKey, message);
                await PutOlmSessionAsync(senderKey, created.Session, cancellationToken);
                await SaveIdentityAsync(cancellationToken); // the one-time key is used up
                return created.Plaintext;
            }
            catch (OlmException e)
            {
                LogOlmFailed(sender, e.Message);
                return null;
            }
        }

        LogOlmFailed(sender, "no session decrypts it");
        try
        {
            await UnwedgeAsync(sender, senderKey, cancellationToken);
        }
        catch (Exception e) when (e is MatrixException or HttpRequestException or TimeoutException)
        {
            LogUnwedgeFailed(sender, e.Message); // best effort: the sender's next undecryptable message tries again
        }
        return null;
    }

    /// <summary>
    /// A normal message none of our sessions decrypts means the sender holds a session we lost or never had: make a
    /// new one and send <c>m.dummy</c> over it, so the sender's next message uses it (CS API "Recovering from
    /// undecryptable messages"). At most once an hour per device.
    /// </summary>
    private async Task UnwedgeAsync(string userId, string senderKey, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        if (_unwedged.TryGetValue(senderKey, out var last) && now - last < UnwedgeInterval)
            return;
        var devices = await DevicesOfAsync([userId], cancellationToken);
        if (devices.FirstOrDefault(d => d.Curve25519 == senderKey) is not { } device)
            return;
        var sessions = await EnsureOlmSessionsAsync([device], forceNew: true, cancellationToken);
        if (!sessions.TryGetValue(device, out var session))
            return;
        var messages = new JsonObject
        {
            [userId] = new JsonObject { [device.DeviceId] = await EncryptOlmAsync(device, session, "m.dummy", new JsonObject(), cancellationToken) },
        };
        await _client.SendToDeviceAsync(EventTypes.Encrypted, NewTransactionId(), messages, cancellationToken);
        _unwedged[senderKey] = now;
        LogUnwedged(userId, device.DeviceId);
    }

    /// <summary>Whether a pre-key message belongs to the session; false for a malformed one (which then fails alone).</summary>
    private static bool MatchesInbound(OlmSession session, string senderKey, OlmMessage message)
    {
        try
        {
            return session.MatchesInbound(senderKey, message);
        }
        catch (OlmException)
        {
            return false;
        }
    }

    private async Task PutOlmSessionAsync(string theirIdentityKey, OlmSession session, CancellationToken cancellationToken) =>
        await PutAsync(OlmKind, $"{theirIdentityKey}|{session.SessionId}", new OlmSessionRecord(theirIdentityKey, session.Pickle(), NowMs()),
            CryptoStateJson.Default.OlmSessionRecord, cancellationToken);

    /// <summary>
    /// An Olm session with each device: the newest used one we hold, or a new outbound one from a claimed one-time
    /// key whose signature by the device checks out. Devices without either are left out of the result.
    /// </summary>
    private async Task<Dictionary<DeviceInfo, OlmSession>> EnsureOlmSessionsAsync(IReadOnlyCollection<DeviceInfo> devices, bool forceNew,
        CancellationToken cancellationToken)
    {
        var result = new Dictionary<DeviceInfo, OlmSession>();
        var missing = new List<DeviceInfo>();
        foreach (var device in devices)
        {
            var newest = forceNew ? null : (await _store.ListAsync(OlmKind, device.Curve25519 + "|", cancellationToken))
                .Select(p => JsonSerializer.Deserialize(p.Value, CryptoStateJson.Default.OlmSessionRecord)!)
                .MaxBy(r => r.LastUsedMs);
            if (newest is not null)
                result[device] = OlmSession.Unpickle(newest.Session);
            else
                missing.Add(device);
        }
        if (missing.Count == 0)
            return result;

        var claimed = await _client.ClaimKeysAsync(missing.Select(d => (d.UserId, d.DeviceId)), OneTimeKeyAlgorithm, cancellationToken);
        foreach (var device in missing)
        {
            if (ClaimedKey(claimed, device) is not { } oneTimeKey)
            {
                LogNoOneTimeKey(device.UserId, device.DeviceId);
                continue;
            }
            var session = Account.CreateOutboundSession(device.Curve25519, oneTimeKey);
            await PutOlmSessionAsync(device.Curve25519, session, cancellationToken);
            result[device] = session;
        }
        return result;
    }

    /// <summary>The one-time key claimed for a device, if its signature by the device's Ed25519 key checks out.</summary>
    private static string? ClaimedKey(JsonElement claimed, DeviceInfo device)
    {
        if (claimed.ValueKind != JsonValueKind.Object || !claimed.TryGetProperty("one_time_keys", out var all) || all.ValueKind != JsonValueKind.Object
            || !all.TryGetProperty(device.UserId, out var user) || user.ValueKind != JsonValueKind.Object
            || !user.TryGetProperty(device.DeviceId, out var keys) || keys.ValueKind != JsonValueKind.Object)
            return null;
        foreach (var key in keys.EnumerateObject())
        {
            if (!key.Name.StartsWith(OneTimeKeyAlgorithm + ":", StringComparison.Ordinal) || key.Value.ValueKind != JsonValueKind.Object)
                continue;
            var obj = JsonNode.Parse(key.Value.GetRawText())!.AsObject();
            if (JsonText.Of(obj["key"]) is { } value
                && JsonSigning.Verify(obj, device.UserId, device.DeviceId, Base64Unpadded.Decode(device.Ed25519)))
                return value;
        }
        return null;
    }

    /// <summary>The content of an Olm to-device event carrying <paramref name="type"/> to one device (CS API "m.olm.v1.curve25519-aes-sha2").</summary>
    private async Task<JsonObject> EncryptOlmAsync(DeviceInfo device, OlmSession session, string type, JsonObject content, CancellationToken cancellationToken)
    {
        var payload = new JsonObject
        {
            ["type"] = type,
            ["content"] = content,
            ["sender"] = UserId,
            ["sender_device"] = DeviceId,
            ["keys"] = new JsonObject { ["ed25519"] = Account.Ed25519Key },
            ["recipient"] = device.UserId,
            ["recipient_keys"] = new JsonObject { ["ed25519"] = device.Ed25519 },
        };
        var message = session.Encrypt(Encoding.UTF8.GetBytes(payload.ToJsonString()));
        await PutOlmSessionAsync(device.Curve25519, session, cancellationToken);
        return new JsonObject
        {
            ["algorithm"] = DeviceList.OlmAlgorithm,
            ["sender_key"] = Account.Curve25519Key,
            ["ciphertext"] = new JsonObject { [device.Curve25519] = new JsonObject { ["type"] = message.Type, ["body"] = message.Body } },
        };
    }

    // ---- Devices ----

    /// <summary>
    /// Whether the user has published at least one device with keys, asking the server when their list is not known
    /// or is outdated. Element encrypts a new DM only when this holds for every invitee: otherwise the person could
    /// never read it.
    /// </summary>
    public async Task<bool> HasDevicesAsync(string userId, CancellationToken cancellationToken)
    {
        await _lock.WaitAsync(cancellationToken);
        try
        {
            return (await DevicesOfAsync([userId], cancellationToken)).Count > 0;
        }
        finally
        {
            _lock.Release();
        }
    }

    private Task<UserDevices?> GetDevicesAsync(string userId, CancellationToken cancellationToken) =>
        GetAsync(DevicesKind, userId, CryptoStateJson.Default.UserDevices, cancellationToken);

    /// <summary>Every device of these users but the bot's own, asking the server for those not known or outdated.</summary>
    private async Task<List<DeviceInfo>> DevicesOfAsync(IReadOnlyCollection<string> userIds, CancellationToken cancellationToken)
    {
        var known = new Dictionary<string, UserDevices?>(StringComparer.Ordinal);
        foreach (var userId in userIds.Distinct(StringComparer.Ordinal))
            known[userId] = await GetDevicesAsync(userId, cancellationToken);
        var stale = known.Where(p => p.Value is null or { Outdated: true }).Select(p => p.Key).ToList();
        if (stale.Count > 0)
        {
            var response = await _client.QueryKeysAsync(stale, cancellationToken);
            foreach (var userId in stale)
            {
                var devices = new UserDevices(DeviceList.Read(response, userId, known[userId], _logger), Outdated: false);
                await PutAsync(DevicesKind, userId, devices, CryptoStateJson.Default.UserDevices, cancellationToken);
                known[userId] = devices;
            }
        }
        return known.Values.SelectMany(d => d!.Devices.Values)
            .Where(d => !(d.UserId == UserId && d.DeviceId == DeviceId))
            .ToList();
    }

    // ---- Megolm: reading ----

    /// <summary>
    /// Decrypts an <c>m.room.encrypted</c> room event (CS API "m.megolm.v1.aes-sha2"). The result names the
    /// decrypted type and content, or why not: no key (yet, or withheld, with the sender's code), or a message that
    /// does not decrypt, names another room, or replays an index an earlier event used ("Message Replays").
    /// </summary>
    public async Task<RoomDecryption> DecryptAsync(string roomId, ClientEvent e, CancellationToken cancellationToken)
    {
        await _lock.WaitAsync(cancellationToken);
        try
        {
            if (e.ContentString("algorithm") != DeviceList.MegolmAlgorithm || e.ContentString("session_id") is not { } sessionId
                || e.ContentString("ciphertext") is not { } ciphertext)
                return RoomDecryption.Failed(DecryptionFailure.Invalid, "not a Megolm event");
            var record = await GetAsync(InboundKind, $"{roomId}|{sessionId}", CryptoStateJson.Default.InboundRecord, cancellationToken);
            if (record is null)
            {
                var withheld = await GetAsync(WithheldKind, $"{roomId}|{sessionId}", CryptoStateJson.Default.WithheldRecord, cancellationToken);
                return withheld is null
                    ? RoomDecryption.Failed(DecryptionFailure.MissingKey, "no key for this session yet")
                    : RoomDecryption.Failed(DecryptionFailure.Withheld, withheld.Code);
            }
            if (record.SenderUserId != e.Sender)
                return RoomDecryption.Failed(DecryptionFailure.Invalid, "the session was shared by another user");

            MegolmDecryption decrypted;
            try
            {
                decrypted = InboundGroupSession.Unpickle(record.Session).Decrypt(ciphertext);
            }
            catch (MegolmException ex)
            {
                return RoomDecryption.Failed(DecryptionFailure.Invalid, ex.Message);
            }

            var indexKey = $"{sessionId}|{decrypted.MessageIndex}";
            var seen = await _store.GetAsync(IndexKind, indexKey, cancellationToken);
            var eventId = e.EventId ?? "";
            if (seen is not null && Encoding.UTF8.GetString(seen) != eventId)
                return RoomDecryption.Failed(DecryptionFailure.Replayed, $"index {decrypted.MessageIndex} was used by another event");
            if (seen is null)
                await _store.PutAsync(IndexKind, indexKey, Encoding.UTF8.GetBytes(eventId), cancellationToken);

            JsonObject payload;
            try
            {
                payload = JsonNode.Parse(decrypted.Plaintext) as JsonObject ?? throw new JsonException("not an object");
            }
            catch (JsonException)
            {
                return RoomDecryption.Failed(DecryptionFailure.Invalid, "the plaintext is not a JSON object");
            }
            if (JsonText.Of(payload["room_id"]) != roomId || JsonText.Of(payload["type"]) is not { } type || payload["content"] is not JsonObject content)
                return RoomDecryption.Failed(DecryptionFailure.Invalid, "the plaintext names another room, or has no type or content");

            using var document = JsonDocument.Parse(content.ToJsonString());
            return new RoomDecryption(e with { Type = type, Content = document.RootElement.Clone() }, null, null);
        }
        finally
        {
            _lock.Release();
        }
    }

    // ---- Megolm: sending ----

    /// <summary>
    /// The <c>m.room.encrypted</c> content for a message to an encrypted room. First makes sure every device of
    /// every recipient has the bot's current Megolm session for the room (over Olm; devices without a one-time key
    /// are told <c>m.room_key.withheld</c> <c>m.no_olm</c>), starting a new session when the old one is too old or
    /// has sent too many messages (<paramref name="settings"/>), or when a device that had it is no longer among
    /// the recipients' devices.
    /// </summary>
    /// <param name="recipients">Who may read it: the room's joined members, and invited ones when history visibility lets them.</param>
    public async Task<JsonObject> EncryptAsync(string roomId, string type, JsonObject content, IReadOnlyCollection<string> recipients,
        RoomEncryptionSettings settings, CancellationToken cancellationToken)
    {
        await _lock.WaitAsync(cancellationToken);
        try
        {
            var devices = await DevicesOfAsync(recipients.Append(UserId).ToList(), cancellationToken);
            var record = await GetAsync(OutboundKind, roomId, CryptoStateJson.Default.OutboundRecord, cancellationToken);
            if (record is null || MustRotate(record, devices, settings))
            {
                if (record is not null)
                    LogRotated(roomId);
                record = new OutboundRecord(roomId, OutboundGroupSession.Create().Pickle(), NowMs(), 0, []);
            }
            var session = OutboundGroupSession.Unpickle(record.Session);
            record = await ShareAsync(roomId, record, session, devices, cancellationToken);

            var payload = new JsonObject { ["type"] = type, ["content"] = content.DeepClone(), ["room_id"] = roomId };
            var ciphertext = session.Encrypt(Encoding.UTF8.GetBytes(payload.ToJsonString()));
            await PutAsync(OutboundKind, roomId, record with { Session = session.Pickle(), Messages = record.Messages + 1 },
                CryptoStateJson.Default.OutboundRecord, cancellationToken);
            return new JsonObject
            {
                ["algorithm"] = DeviceList.MegolmAlgorithm,
                ["ciphertext"] = ciphertext,
                ["session_id"] = session.SessionId,
                // Deprecated since v1.3 but still read by older clients.
                ["sender_key"] = Account.Curve25519Key,
                ["device_id"] = DeviceId,
            };
        }
        finally
        {
            _lock.Release();
        }
    }

    private bool MustRotate(OutboundRecord record, List<DeviceInfo> devices, RoomEncryptionSettings settings)
    {
        if (record.Messages >= settings.RotationMessages || NowMs() - record.CreatedMs >= (long)settings.RotationPeriod.TotalMilliseconds)
            return true;
        var current = devices.Select(d => (d.UserId, d.DeviceId, d.Curve25519)).ToHashSet();
        return record.SharedWith.Any(user => user.Value.Any(device => !current.Contains((user.Key, device.Key, device.Value))));
    }

    private async Task<OutboundRecord> ShareAsync(string roomId, OutboundRecord record, OutboundGroupSession session, List<DeviceInfo> devices,
        CancellationToken cancellationToken)
    {
        var toShare = devices.Where(d => !(record.SharedWith.TryGetValue(d.UserId, out var had) && had.ContainsKey(d.DeviceId))).ToList();
        if (toShare.Count == 0)
            return record;
        // Stored before it leaves: a session we shared and then forgot would make the devices that have it wait for
        // messages under it that never come.
        await PutAsync(OutboundKind, roomId, record with { Session = session.Pickle() }, CryptoStateJson.Default.OutboundRecord, cancellationToken);

        var sessions = await EnsureOlmSessionsAsync(toShare, forceNew: false, cancellationToken);
        var roomKey = new JsonObject
        {
            ["algorithm"] = DeviceList.MegolmAlgorithm,
            ["room_id"] = roomId,
            ["session_id"] = session.SessionId,
            ["session_key"] = session.SessionKey(),
        };
        var encrypted = new JsonObject();
        var withheld = new JsonObject();
        var shared = record.SharedWith.ToDictionary(p => p.Key, p => new Dictionary<string, string>(p.Value, StringComparer.Ordinal), StringComparer.Ordinal);
        foreach (var device in toShare)
        {
            if (sessions.TryGetValue(device, out var olm))
            {
                if (encrypted[device.UserId] is not JsonObject user)
                    encrypted[device.UserId] = user = [];
                user[device.DeviceId] = await EncryptOlmAsync(device, olm, "m.room_key", (JsonObject)roomKey.DeepClone(), cancellationToken);
            }
            else
            {
                if (withheld[device.UserId] is not JsonObject user)
                    withheld[device.UserId] = user = [];
                user[device.DeviceId] = new JsonObject
                {
                    ["algorithm"] = DeviceList.MegolmAlgorithm,
                    ["room_id"] = roomId,
                    ["session_id"] = session.SessionId,
                    ["sender_key"] = Account.Curve25519Key,
                    ["from_device"] = DeviceId,
                    ["code"] = "m.no_olm",
                    ["reason"] = "Unable to establish a secure channel.",
                };
            }
            if (!shared.TryGetValue(device.UserId, out var devicesOfUser))
                shared[device.UserId] = devicesOfUser = new Dictionary<string, string>(StringComparer.Ordinal);
            devicesOfUser[device.DeviceId] = device.Curve25519;
        }
        if (encrypted.Count > 0)
            await _client.SendToDeviceAsync(EventTypes.Encrypted, NewTransactionId(), encrypted, cancellationToken);
        if (withheld.Count > 0)
            await _client.SendToDeviceAsync("m.room_key.withheld", NewTransactionId(), withheld, cancellationToken);
        LogShared(roomId, toShare.Count);
        return record with { SharedWith = shared };
    }

    public void Dispose() => _lock.Dispose();

    // ---- Storage ----

    private async Task SaveIdentityAsync(CancellationToken cancellationToken)
    {
        _identity = _identity! with { Account = Account.Pickle() };
        await PutAsync(IdentityKind, "", _identity, CryptoStateJson.Default.IdentityRecord, cancellationToken);
    }

    private async Task<T?> GetAsync<T>(string kind, string key, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type, CancellationToken cancellationToken)
        where T : class =>
        await _store.GetAsync(kind, key, cancellationToken) is { } bytes ? JsonSerializer.Deserialize(bytes, type) : null;

    private Task PutAsync<T>(string kind, string key, T value, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type, CancellationToken cancellationToken) =>
        _store.PutAsync(kind, key, JsonSerializer.SerializeToUtf8Bytes(value, type), cancellationToken);

    private long NowMs() => _time.GetUtcNow().ToUnixTimeMilliseconds();

    private static string NewTransactionId() => "e2e" + Convert.ToHexString(RandomNumberGenerator.GetBytes(12)).ToLowerInvariant();

    [LoggerMessage(LogLevel.Information, "Created end-to-end encryption keys for device {DeviceId} (fingerprint {Fingerprint})")]
    private partial void LogCreatedDevice(string deviceId, string fingerprint);

    [LoggerMessage(LogLevel.Information, "Published the bot's cross-signing identity (master key {MasterKey})")]
    private partial void LogCrossSigningPublished(string masterKey);

    [LoggerMessage(LogLevel.Information, "Signed device {DeviceId} with the bot's cross-signing identity")]
    private partial void LogDeviceSigned(string deviceId);

    [LoggerMessage(LogLevel.Information, "The bot's device changed from {OldDeviceId} to {DeviceId} (a new login): new device keys, the same cross-signing identity")]
    private partial void LogDeviceReplaced(string oldDeviceId, string deviceId);

    [LoggerMessage(LogLevel.Warning, "The homeserver did not take the bot's cross-signing keys ({Reason}); clients that share keys only with cross-signed devices will withhold them. The next start tries again")]
    private partial void LogCrossSigningRefused(string reason);

    [LoggerMessage(LogLevel.Information, "{Sender} withheld a room key for {RoomId}: {Code}")]
    private partial void LogWithheld(string sender, string roomId, string code);

    [LoggerMessage(LogLevel.Warning, "Ignoring a room key from {Sender}: {Reason}")]
    private partial void LogBadRoomKey(string sender, string reason);

    [LoggerMessage(LogLevel.Debug, "Received a room key from {Sender} for {RoomId} (session {SessionId})")]
    private partial void LogRoomKey(string sender, string roomId, string sessionId);

    [LoggerMessage(LogLevel.Warning, "Could not decrypt a to-device message from {Sender}: {Reason}")]
    private partial void LogOlmFailed(string sender, string reason);

    [LoggerMessage(LogLevel.Warning, "A to-device {Type} event from {Sender} could not be read; it is left")]
    private partial void LogToDeviceFailed(Exception exception, string type, string sender);

    [LoggerMessage(LogLevel.Warning, "The homeserver refused the device's new one-time or fallback keys ({Reason}); trying again later")]
    private partial void LogKeysRefused(string reason);

    [LoggerMessage(LogLevel.Warning, "Could not start a new Olm session with {UserId} after an undecryptable message ({Reason})")]
    private partial void LogUnwedgeFailed(string userId, string reason);

    [LoggerMessage(LogLevel.Information, "Started a new Olm session with {UserId}'s device {DeviceId} after an undecryptable message")]
    private partial void LogUnwedged(string userId, string deviceId);

    [LoggerMessage(LogLevel.Information, "{UserId}'s device {DeviceId} has no one-time key left; it is told the room key is withheld")]
    private partial void LogNoOneTimeKey(string userId, string deviceId);

    [LoggerMessage(LogLevel.Debug, "Replaced the Megolm session for {RoomId} (rotation period, message count, or a device gone)")]
    private partial void LogRotated(string roomId);

    [LoggerMessage(LogLevel.Debug, "Shared the Megolm session for {RoomId} with {Count} device(s)")]
    private partial void LogShared(string roomId, int count);
}

/// <summary>A room's <c>m.room.encryption</c> rotation settings (CS API "m.room.encryption").</summary>
public sealed record RoomEncryptionSettings(TimeSpan RotationPeriod, int RotationMessages)
{
    public static RoomEncryptionSettings Default { get; } = new(CryptoMachine.DefaultRotationPeriod, CryptoMachine.DefaultRotationMessages);

    /// <summary>From the state event's content; missing or nonsensical values take the defaults.</summary>
    public static RoomEncryptionSettings FromContent(JsonElement content)
    {
        var period = content.ValueKind == JsonValueKind.Object && content.TryGetProperty("rotation_period_ms", out var ms) && ms.TryGetInt64(out var p) && p > 0
            ? TimeSpan.FromMilliseconds(p) : CryptoMachine.DefaultRotationPeriod;
        var messages = content.ValueKind == JsonValueKind.Object && content.TryGetProperty("rotation_period_msgs", out var n) && n.TryGetInt32(out var m) && m > 0
            ? m : CryptoMachine.DefaultRotationMessages;
        return new RoomEncryptionSettings(period, messages);
    }
}

public enum DecryptionFailure
{
    /// <summary>No key for the session (yet: it may still arrive).</summary>
    MissingKey,

    /// <summary>The sender's device told us it will not share the key (<see cref="RoomDecryption.Detail"/> is its code).</summary>
    Withheld,

    /// <summary>Malformed, forged, or for another room.</summary>
    Invalid,

    /// <summary>The message index was used by another event.</summary>
    Replayed,
}

/// <summary>A decrypted room event (the original with the decrypted type and content), or why not.</summary>
public sealed record RoomDecryption(ClientEvent? Event, DecryptionFailure? Failure, string? Detail)
{
    public static RoomDecryption Failed(DecryptionFailure failure, string detail) => new(null, failure, detail);
}
