using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Doorman.Matrix;
using Doorman.Matrix.Crypto;
using Doorman.Matrix.Crypto.Megolm;
using Doorman.Matrix.Crypto.Olm;
using Doorman.Matrix.Events;
using Doorman.Matrix.Rooms;
using Doorman.Matrix.Sync;
using Doorman.Storage;
using Doorman.Tests.Peers;
using Doorman.Tests.Sandbox.Homeserver;
using Doorman.Tests.Support;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit.Abstractions;

namespace Doorman.Tests.Matrix.Crypto;

/// <summary>
/// <see cref="CryptoMachine"/> as the bot runs it: each party is a user's device with its own client and machine on
/// the sandbox homeserver, syncing for itself, in a room with <c>m.room.encryption</c> from the start.
/// </summary>
public sealed class CryptoMachineTests(ITestOutputHelper output) : IDisposable
{
    private const string OneTimeKeyAlgorithm = "signed_curve25519";
    private readonly XunitLoggerProvider _logs = new(output, LogLevel.Debug);
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromMinutes(2));

    private CancellationToken Ct => _timeout.Token;

    public void Dispose()
    {
        _timeout.Dispose();
        _logs.Dispose();
    }

    [Fact]
    public async Task Messages_round_trip_both_ways()
    {
        await using var hs = await PeerHomeserver.StartSandboxAsync(output.WriteLine);
        using var bot = await PartyAsync(hs, await hs.RegisterAsync("bot"));
        using var ann = await PartyAsync(hs, await hs.RegisterAsync("ann"));
        var roomId = await EncryptedRoomAsync(ann, bot);

        var toAnn = await SendAsync(bot, roomId, "hello ann", [ann.UserId]);
        var onTheWire = (await WaitForEventsAsync(ann, roomId, toAnn.EventId))[toAnn.EventId];
        Assert.Equal(EventTypes.Encrypted, onTheWire.Type);
        Assert.DoesNotContain("hello ann", onTheWire.Content.GetRawText(), StringComparison.Ordinal);
        Assert.Equal("hello ann", await ReadAsync(ann, roomId, toAnn.EventId));

        var toBot = await SendAsync(ann, roomId, "hello bot", [bot.UserId]);
        Assert.Equal("hello bot", await ReadAsync(bot, roomId, toBot.EventId));
    }

    [Fact]
    public async Task The_same_ciphertext_sent_again_as_another_event_is_refused_as_a_replay()
    {
        await using var hs = await PeerHomeserver.StartSandboxAsync(output.WriteLine);
        using var bot = await PartyAsync(hs, await hs.RegisterAsync("bot"));
        using var ann = await PartyAsync(hs, await hs.RegisterAsync("ann"));
        var roomId = await EncryptedRoomAsync(ann, bot);

        var original = await SendAsync(bot, roomId, "invoice paid", [ann.UserId]);
        var replayId = await bot.Client.SendEventAsync(roomId, EventTypes.Encrypted, "replay", Json(original.Content), Ct);
        var events = await WaitForEventsAsync(ann, roomId, original.EventId, replayId);

        Assert.Equal("invoice paid", Body(await ann.Machine.DecryptAsync(roomId, events[original.EventId], Ct)));
        var replay = await ann.Machine.DecryptAsync(roomId, events[replayId], Ct);
        Assert.Null(replay.Event);
        Assert.Equal(DecryptionFailure.Replayed, replay.Failure);
        // The original event is the one that used the index: it decrypts again.
        Assert.Equal("invoice paid", Body(await ann.Machine.DecryptAsync(roomId, events[original.EventId], Ct)));
    }

    [Fact]
    public async Task A_room_key_in_an_olm_message_with_a_forged_sender_recipient_or_signing_key_is_not_taken()
    {
        await using var hs = await PeerHomeserver.StartSandboxAsync(output.WriteLine);
        using var ann = await PartyAsync(hs, await hs.RegisterAsync("ann"));
        var bot = await hs.RegisterAsync("bot");
        // Eve's device is built by hand from the Olm classes, so she can put anything in the Olm plaintext.
        var eve = await hs.RegisterAsync("eve");
        var eveClient = hs.Client(eve);
        var eveAccount = OlmAccount.Create();
        (await hs.Admin.UploadKeysAsync(eve, new JsonObject { ["device_keys"] = DeviceKeys(eve, eveAccount) })).Ok();
        var roomId = await ann.Client.CreateRoomAsync(EncryptedRoomRequest(eve.UserId), Ct);
        await eveClient.JoinAsync(roomId, null, null, Ct);
        // Ann learns Eve's device as she does before she sends to a room with Eve in it.
        await ann.Machine.EncryptAsync(roomId, EventTypes.Message, Text("hi"), [eve.UserId], RoomEncryptionSettings.Default, Ct);

        var cases = new (string Name, Action<JsonObject> Tamper)[]
        {
            ("control", _ => { }),
            ("sender", p => p["sender"] = bot.UserId),
            ("recipient_keys", p => p["recipient_keys"] = new JsonObject { ["ed25519"] = OlmAccount.Create().Ed25519Key }),
            ("keys", p => p["keys"] = new JsonObject { ["ed25519"] = OlmAccount.Create().Ed25519Key }),
        };
        var sent = new List<(string Name, string EventId)>();
        foreach (var (name, tamper) in cases)
        {
            var megolm = OutboundGroupSession.Create();
            var claimed = (await hs.Admin.ClaimKeyAsync(eve, ann.UserId, ann.User.DeviceId)).Ok();
            var oneTimeKey = claimed["one_time_keys"]![ann.UserId]![ann.User.DeviceId]!.AsObject().Single().Value!["key"]!.GetValue<string>();
            var olm = eveAccount.CreateOutboundSession(ann.Machine.IdentityKey, oneTimeKey);
            var payload = new JsonObject
            {
                ["type"] = "m.room_key",
                ["content"] = new JsonObject
                {
                    ["algorithm"] = DeviceList.MegolmAlgorithm,
                    ["room_id"] = roomId,
                    ["session_id"] = megolm.SessionId,
                    ["session_key"] = megolm.SessionKey(),
                },
                ["sender"] = eve.UserId,
                ["sender_device"] = eve.DeviceId,
                ["keys"] = new JsonObject { ["ed25519"] = eveAccount.Ed25519Key },
                ["recipient"] = ann.UserId,
                ["recipient_keys"] = new JsonObject { ["ed25519"] = ann.Machine.FingerprintKey },
            };
            tamper(payload);
            var message = olm.Encrypt(Encoding.UTF8.GetBytes(payload.ToJsonString()));
            await eveClient.SendToDeviceAsync(EventTypes.Encrypted, "forge-" + name, new JsonObject
            {
                [ann.UserId] = new JsonObject
                {
                    [ann.User.DeviceId] = new JsonObject
                    {
                        ["algorithm"] = DeviceList.OlmAlgorithm,
                        ["sender_key"] = eveAccount.Curve25519Key,
                        ["ciphertext"] = new JsonObject { [ann.Machine.IdentityKey] = new JsonObject { ["type"] = message.Type, ["body"] = message.Body } },
                    },
                },
            }, Ct);
            var content = MegolmContent(megolm, roomId, name, eveAccount.Curve25519Key, eve.DeviceId);
            sent.Add((name, await eveClient.SendEventAsync(roomId, EventTypes.Encrypted, "event-" + name, Json(content), Ct)));
        }

        // The to-device messages were sent before the room events: once Ann has all the events, she has had them all.
        var events = await WaitForEventsAsync(ann, roomId, [.. sent.Select(s => s.EventId)]);
        var results = new List<(string Name, DecryptionFailure? Failure, string? Body)>();
        foreach (var (name, eventId) in sent)
        {
            var result = await ann.Machine.DecryptAsync(roomId, events[eventId], Ct);
            results.Add((name, result.Failure, result.Event?.ContentString("body")));
        }
        Assert.Equal(
            [("control", null, "control"), ("sender", DecryptionFailure.MissingKey, null), ("recipient_keys", DecryptionFailure.MissingKey, null),
                ("keys", DecryptionFailure.MissingKey, null)],
            results);
    }

    [Fact]
    public async Task The_session_is_replaced_once_the_rooms_rotation_period_has_passed()
    {
        await using var hs = await PeerHomeserver.StartSandboxAsync(output.WriteLine);
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(TimeProvider.System.GetUtcNow());
        using var bot = await PartyAsync(hs, await hs.RegisterAsync("bot"), time: clock);
        using var ann = await PartyAsync(hs, await hs.RegisterAsync("ann"));
        var roomId = await EncryptedRoomAsync(ann, bot);
        var oneHour = new RoomEncryptionSettings(TimeSpan.FromHours(1), 100);

        var first = await SendAsync(bot, roomId, "one", [ann.UserId], oneHour);
        clock.Advance(TimeSpan.FromMinutes(59));
        var second = await SendAsync(bot, roomId, "two", [ann.UserId], oneHour);
        clock.Advance(TimeSpan.FromMinutes(1));
        var third = await SendAsync(bot, roomId, "three", [ann.UserId], oneHour);

        Assert.Equal(first.SessionId, second.SessionId);
        Assert.NotEqual(second.SessionId, third.SessionId);
        await WaitForEventsAsync(ann, roomId, [first.EventId, second.EventId, third.EventId]);
        Assert.Equal(["one", "two", "three"], await Task.WhenAll(new[] { first, second, third }.Select(s => ReadAsync(ann, roomId, s.EventId))));
    }

    [Fact]
    public async Task The_session_is_replaced_after_the_rooms_message_count()
    {
        await using var hs = await PeerHomeserver.StartSandboxAsync(output.WriteLine);
        using var bot = await PartyAsync(hs, await hs.RegisterAsync("bot"));
        using var ann = await PartyAsync(hs, await hs.RegisterAsync("ann"));
        var roomId = await EncryptedRoomAsync(ann, bot);
        var twoMessages = new RoomEncryptionSettings(TimeSpan.FromDays(7), 2);

        var sent = new List<Sent>();
        foreach (var body in new[] { "one", "two", "three" })
            sent.Add(await SendAsync(bot, roomId, body, [ann.UserId], twoMessages));

        Assert.Equal(sent[0].SessionId, sent[1].SessionId);
        Assert.NotEqual(sent[1].SessionId, sent[2].SessionId);
        // Ann got the new session too, and keeps reading the old one.
        await WaitForEventsAsync(ann, roomId, [.. sent.Select(s => s.EventId)]);
        Assert.Equal(["one", "two", "three"], await Task.WhenAll(sent.Select(s => ReadAsync(ann, roomId, s.EventId))));
    }

    [Fact]
    public async Task A_member_who_left_makes_a_new_session()
    {
        await using var hs = await PeerHomeserver.StartSandboxAsync(output.WriteLine);
        using var bot = await PartyAsync(hs, await hs.RegisterAsync("bot"));
        using var ann = await PartyAsync(hs, await hs.RegisterAsync("ann"));
        using var carl = await PartyAsync(hs, await hs.RegisterAsync("carl"));
        var roomId = await EncryptedRoomAsync(ann, bot, carl);

        var first = await SendAsync(bot, roomId, "to both", [ann.UserId, carl.UserId]);
        var second = await SendAsync(bot, roomId, "to both again", [ann.UserId, carl.UserId]);
        await carl.Client.LeaveAsync(roomId, null, Ct);
        var afterLeave = await SendAsync(bot, roomId, "carl left", [ann.UserId]);

        Assert.Equal(first.SessionId, second.SessionId);
        Assert.NotEqual(second.SessionId, afterLeave.SessionId);
        await WaitForEventsAsync(ann, roomId, afterLeave.EventId);
        Assert.Equal("carl left", await ReadAsync(ann, roomId, afterLeave.EventId));
    }

    [Fact]
    public async Task A_recipients_device_logging_out_makes_a_new_session()
    {
        await using var hs = await PeerHomeserver.StartSandboxAsync(output.WriteLine);
        using var bot = await PartyAsync(hs, await hs.RegisterAsync("bot"));
        var annUser = await hs.RegisterAsync("ann");
        using var ann = await PartyAsync(hs, annUser);
        using var annPhone = await PartyAsync(hs, await hs.Admin.LoginAsync(annUser));
        var roomId = await EncryptedRoomAsync(ann, bot);
        await SyncAsync(bot);

        var first = await SendAsync(bot, roomId, "to both devices", [ann.UserId]);
        var second = await SendAsync(bot, roomId, "to both devices again", [ann.UserId]);
        (await hs.Admin.PostAsync("/_matrix/client/v3/logout", new JsonObject(), annPhone.User)).Ok();
        await SyncUntilAsync(bot, r => r.DeviceLists?.Changed?.Contains(ann.UserId) == true);
        var afterLogout = await SendAsync(bot, roomId, "one device left", [ann.UserId]);

        Assert.Equal(first.SessionId, second.SessionId);
        Assert.NotEqual(second.SessionId, afterLogout.SessionId);
        await WaitForEventsAsync(ann, roomId, afterLogout.EventId);
        Assert.Equal("one device left", await ReadAsync(ann, roomId, afterLogout.EventId));
    }

    [Fact]
    public async Task A_recipients_new_device_gets_the_current_session_and_reads_the_next_message()
    {
        await using var hs = await PeerHomeserver.StartSandboxAsync(output.WriteLine);
        using var bot = await PartyAsync(hs, await hs.RegisterAsync("bot"));
        var annUser = await hs.RegisterAsync("ann");
        using var ann = await PartyAsync(hs, annUser);
        var roomId = await EncryptedRoomAsync(ann, bot);
        await SyncAsync(bot);
        var before = await SendAsync(bot, roomId, "before the phone", [ann.UserId]);

        using var annPhone = await PartyAsync(hs, await hs.Admin.LoginAsync(annUser));
        await SyncUntilAsync(bot, r => r.DeviceLists?.Changed?.Contains(ann.UserId) == true);
        var after = await SendAsync(bot, roomId, "after the phone", [ann.UserId]);

        Assert.Equal(before.SessionId, after.SessionId);
        await WaitForEventsAsync(annPhone, roomId, before.EventId, after.EventId);
        Assert.Equal("after the phone", await ReadAsync(annPhone, roomId, after.EventId));
        // The phone got the session as it is now, not the messages from before it existed.
        Assert.Equal(DecryptionFailure.Invalid, (await annPhone.Machine.DecryptAsync(roomId, annPhone.Seen[before.EventId].Event, Ct)).Failure);
    }

    [Fact]
    public async Task After_a_restart_over_the_same_file_and_key_the_device_and_its_sessions_are_kept()
    {
        await using var hs = await PeerHomeserver.StartSandboxAsync(output.WriteLine);
        using var dir = new TempDirectory();
        var path = dir.File("doorman.db");
        var database = new Database(path);
        await new Migrator(database, TimeProvider.System, NullLogger<Migrator>.Instance).MigrateAsync(Ct);
        var sealingKey = new CryptoStoreKey(RandomNumberGenerator.GetBytes(CryptoStoreKey.Size));
        using var bot = await PartyAsync(hs, await hs.RegisterAsync("bot"), new CryptoItems(database, sealingKey));
        using var ann = await PartyAsync(hs, await hs.RegisterAsync("ann"));
        var roomId = await EncryptedRoomAsync(ann, bot);
        var (fingerprint, identityKey) = (bot.Machine.FingerprintKey, bot.Machine.IdentityKey);

        var fromAnn = await SendAsync(ann, roomId, "before the restart", [bot.UserId]);
        Assert.Equal("before the restart", await ReadAsync(bot, roomId, fromAnn.EventId));
        var fromBot = await SendAsync(bot, roomId, "bot before the restart", [ann.UserId]);
        Assert.Equal("bot before the restart", await ReadAsync(ann, roomId, fromBot.EventId));
        Assert.Equal(OlmAccount.MaxPublishedOneTimeKeys, (await SyncAsync(bot)).OneTimeKeysCount?[OneTimeKeyAlgorithm]);

        bot.Machine.Dispose();
        bot.Machine = Machine(bot.Client, bot.User, new CryptoItems(new Database(path), sealingKey));
        await bot.Machine.InitializeAsync(Ct);

        Assert.Equal((fingerprint, identityKey), (bot.Machine.FingerprintKey, bot.Machine.IdentityKey));
        // Nothing new was published: the server still has the one device key and fifty one-time keys.
        var query = (await hs.Admin.QueryKeysAsync(bot.User, bot.UserId)).Ok();
        Assert.Equal(fingerprint, query["device_keys"]![bot.UserId]![bot.User.DeviceId]!["keys"]![$"ed25519:{bot.User.DeviceId}"]!.GetValue<string>());
        var counts = (await hs.Admin.SyncAsync(bot.User)).Ok()["device_one_time_keys_count"]!;
        Assert.Equal(OlmAccount.MaxPublishedOneTimeKeys, counts[OneTimeKeyAlgorithm]!.GetValue<int>());

        // The room key from before the restart still reads the old message and the next one under it.
        Assert.Equal("before the restart", Body(await bot.Machine.DecryptAsync(roomId, bot.Seen[fromAnn.EventId].Event, Ct)));
        var nextFromAnn = await SendAsync(ann, roomId, "after the restart", [bot.UserId]);
        Assert.Equal(fromAnn.SessionId, nextFromAnn.SessionId);
        Assert.Equal("after the restart", await ReadAsync(bot, roomId, nextFromAnn.EventId));
        // And the bot goes on sending under its session, readable.
        var nextFromBot = await SendAsync(bot, roomId, "bot after the restart", [ann.UserId]);
        Assert.Equal(fromBot.SessionId, nextFromBot.SessionId);
        Assert.Equal("bot after the restart", await ReadAsync(ann, roomId, nextFromBot.EventId));

        using var wrongKey = Machine(bot.Client, bot.User,
            new CryptoItems(new Database(path), new CryptoStoreKey(RandomNumberGenerator.GetBytes(CryptoStoreKey.Size))));
        await Assert.ThrowsAsync<CryptoStoreException>(() => wrongKey.InitializeAsync(Ct));
    }

    /// <summary>
    /// The first start dies after the server took the device's keys and before the store marked them published (a crash,
    /// here a store that fails that write). The next start publishes the same keys again, which the server takes
    /// (new keys under the same ids it refuses), and encryption comes on, with the keys the server holds.
    /// </summary>
    [Fact]
    public async Task A_first_start_that_dies_after_publishing_its_keys_publishes_the_same_keys_at_the_next_start()
    {
        await using var hs = await PeerHomeserver.StartSandboxAsync(output.WriteLine);
        var botUser = await hs.RegisterAsync("bot");
        var store = new MemoryCryptoStore();
        using (var dying = Machine(hs.Client(botUser), botUser, new FailingAfterUpload(store)))
            await Assert.ThrowsAsync<IOException>(() => dying.InitializeAsync(Ct));
        var uploaded = (await hs.Admin.QueryKeysAsync(botUser, botUser.UserId)).Ok()["device_keys"]![botUser.UserId]![botUser.DeviceId]!;

        using var bot = await PartyAsync(hs, botUser, store);

        Assert.Equal(uploaded["keys"]![$"ed25519:{botUser.DeviceId}"]!.GetValue<string>(), bot.Machine.FingerprintKey);
        using var ann = await PartyAsync(hs, await hs.RegisterAsync("ann"));
        var roomId = await EncryptedRoomAsync(bot, ann);
        var sent = await SendAsync(bot, roomId, "after a crashed first start", [ann.UserId]);
        Assert.Equal("after a crashed first start", await ReadAsync(ann, roomId, sent.EventId));
    }

    /// <summary>A store that fails the write marking the device keys published: the process died just then.</summary>
    private sealed class FailingAfterUpload(ICryptoStore inner) : ICryptoStore
    {
        public Task<byte[]?> GetAsync(string kind, string key, CancellationToken cancellationToken) => inner.GetAsync(kind, key, cancellationToken);

        public Task<IReadOnlyList<KeyValuePair<string, byte[]>>> ListAsync(string kind, string keyPrefix, CancellationToken cancellationToken) =>
            inner.ListAsync(kind, keyPrefix, cancellationToken);

        public Task PutAsync(string kind, string key, byte[] value, CancellationToken cancellationToken) =>
            kind == "identity" && System.Text.Encoding.UTF8.GetString(value).Contains("DeviceKeysPublished\":true", StringComparison.OrdinalIgnoreCase)
                ? throw new IOException("the process died here")
                : inner.PutAsync(kind, key, value, cancellationToken);

        public Task DeleteAsync(string kind, string key, CancellationToken cancellationToken) => inner.DeleteAsync(kind, key, cancellationToken);
    }

    [Fact]
    public async Task A_new_device_id_over_the_same_store_gets_new_device_keys_signed_by_the_same_cross_signing_identity()
    {
        await using var hs = await PeerHomeserver.StartSandboxAsync(output.WriteLine);
        var store = new MemoryCryptoStore();
        var botUser = await hs.RegisterAsync("bot");
        string fingerprint, masterKey;
        using (var first = await PartyAsync(hs, botUser, store))
            (fingerprint, masterKey) = (first.Machine.FingerprintKey, first.Machine.MasterKey);

        var relogin = await hs.Admin.LoginAsync(botUser);
        using var bot = await PartyAsync(hs, relogin, store);

        Assert.NotEqual(botUser.DeviceId, relogin.DeviceId);
        Assert.NotEqual(fingerprint, bot.Machine.FingerprintKey);
        Assert.Equal(masterKey, bot.Machine.MasterKey);
        var query = (await hs.Admin.QueryKeysAsync(relogin, botUser.UserId)).Ok();
        Assert.Equal(masterKey, query["master_keys"]![botUser.UserId]!["keys"]![$"ed25519:{masterKey}"]!.GetValue<string>());
        var selfSigningKey = query["self_signing_keys"]![botUser.UserId]!.AsObject();
        var selfSigning = selfSigningKey["keys"]!.AsObject().Single().Value!.GetValue<string>();
        Assert.True(JsonSigning.Verify(selfSigningKey, botUser.UserId, masterKey, Base64Unpadded.Decode(masterKey)));
        var device = query["device_keys"]![botUser.UserId]![relogin.DeviceId]!.AsObject();
        Assert.Equal(bot.Machine.FingerprintKey, device["keys"]![$"ed25519:{relogin.DeviceId}"]!.GetValue<string>());
        Assert.True(JsonSigning.Verify(device, botUser.UserId, selfSigning, Base64Unpadded.Decode(selfSigning)),
            $"the new device is not signed by the self-signing key: {device.ToJsonString()}");
    }

    [Fact]
    public async Task A_withheld_room_key_is_reported_with_the_senders_code()
    {
        await using var hs = await PeerHomeserver.StartSandboxAsync(output.WriteLine);
        using var bot = await PartyAsync(hs, await hs.RegisterAsync("bot"));
        var ann = await hs.RegisterAsync("ann");
        var annClient = hs.Client(ann);
        var roomId = await annClient.CreateRoomAsync(EncryptedRoomRequest(bot.UserId), Ct);
        await bot.Client.JoinAsync(roomId, null, null, Ct);
        var annKey = OlmAccount.Create().Curve25519Key;

        var withheld = OutboundGroupSession.Create();
        await annClient.SendToDeviceAsync("m.room_key.withheld", "withheld1", new JsonObject
        {
            [bot.UserId] = new JsonObject
            {
                [bot.User.DeviceId] = new JsonObject
                {
                    ["algorithm"] = DeviceList.MegolmAlgorithm,
                    ["room_id"] = roomId,
                    ["session_id"] = withheld.SessionId,
                    ["sender_key"] = annKey,
                    ["from_device"] = ann.DeviceId,
                    ["code"] = "m.unverified",
                    ["reason"] = "The sender has disabled encrypting to unverified devices.",
                },
            },
        }, Ct);
        var withheldId = await annClient.SendEventAsync(roomId, EventTypes.Encrypted, "w",
            Json(MegolmContent(withheld, roomId, "withheld", annKey, ann.DeviceId)), Ct);
        // A session nobody said anything about, for comparison.
        var unknownId = await annClient.SendEventAsync(roomId, EventTypes.Encrypted, "u",
            Json(MegolmContent(OutboundGroupSession.Create(), roomId, "unknown", annKey, ann.DeviceId)), Ct);

        var events = await WaitForEventsAsync(bot, roomId, withheldId, unknownId);
        var result = await bot.Machine.DecryptAsync(roomId, events[withheldId], Ct);
        Assert.Equal((DecryptionFailure.Withheld, "m.unverified"), (result.Failure, result.Detail));
        Assert.Equal(DecryptionFailure.MissingKey, (await bot.Machine.DecryptAsync(roomId, events[unknownId], Ct)).Failure);
    }

    [Fact]
    public async Task Claimed_one_time_keys_are_topped_up_and_a_used_fallback_key_is_replaced()
    {
        await using var hs = await PeerHomeserver.StartSandboxAsync(output.WriteLine);
        using var bot = await PartyAsync(hs, await hs.RegisterAsync("bot"));
        var ann = await hs.RegisterAsync("ann");
        const int Full = OlmAccount.MaxPublishedOneTimeKeys;
        Assert.Equal(Full, (await SyncAsync(bot)).OneTimeKeysCount?[OneTimeKeyAlgorithm]);

        await ClaimAsync(hs, ann, bot);
        Assert.Equal(Full - 1, (await SyncAsync(bot)).OneTimeKeysCount?[OneTimeKeyAlgorithm]);
        Assert.Equal(Full, (await SyncAsync(bot)).OneTimeKeysCount?[OneTimeKeyAlgorithm]);

        var firstFallback = await ClaimUntilFallbackAsync(hs, ann, bot);
        var exhausted = await SyncAsync(bot);
        Assert.Equal(0, exhausted.OneTimeKeysCount?.GetValueOrDefault(OneTimeKeyAlgorithm));
        Assert.DoesNotContain(OneTimeKeyAlgorithm, exhausted.UnusedFallbackKeyTypes ?? []);
        var replenished = await SyncAsync(bot);
        Assert.Equal(Full, replenished.OneTimeKeysCount?[OneTimeKeyAlgorithm]);
        Assert.Contains(OneTimeKeyAlgorithm, replenished.UnusedFallbackKeyTypes ?? []);

        var secondFallback = await ClaimUntilFallbackAsync(hs, ann, bot);
        Assert.NotEqual(firstFallback, secondFallback);
    }

    // ---- Parties ----

    /// <summary>One device of a user: its client, its machine, where its sync stopped, and the room events it has seen.</summary>
    private sealed class Party(TestUser user, MatrixClient client, CryptoMachine machine) : IDisposable
    {
        public TestUser User { get; } = user;

        public string UserId => User.UserId;

        public MatrixClient Client { get; } = client;

        public CryptoMachine Machine { get; set; } = machine;

        public string? Since { get; set; }

        public Dictionary<string, (string RoomId, ClientEvent Event)> Seen { get; } = new(StringComparer.Ordinal);

        public void Dispose() => Machine.Dispose();
    }

    private sealed record Sent(string EventId, JsonObject Content)
    {
        public string SessionId => Content["session_id"]!.GetValue<string>();
    }

    private CryptoMachine Machine(MatrixClient client, TestUser user, ICryptoStore store, TimeProvider? time = null) =>
        new(client, store, user.UserId, user.DeviceId, time ?? TimeProvider.System, _logs.CreateLogger($"CryptoMachine {user.Localpart} {user.DeviceId}"))
        {
            Password = user.Password,
        };

    private async Task<Party> PartyAsync(PeerHomeserver hs, TestUser user, ICryptoStore? store = null, TimeProvider? time = null)
    {
        var client = hs.Client(user);
        var machine = Machine(client, user, store ?? new MemoryCryptoStore(), time);
        await machine.InitializeAsync(Ct);
        return new Party(user, client, machine);
    }

    private static CreateRoomRequest EncryptedRoomRequest(params string[] invite) => new()
    {
        Preset = CreateRoomRequest.PrivateChat,
        Invite = invite,
        InitialState = [new InitialStateEvent { Type = EventTypes.Encryption, Content = Json(new JsonObject { ["algorithm"] = DeviceList.MegolmAlgorithm }) }],
    };

    private async Task<string> EncryptedRoomAsync(Party creator, params Party[] members)
    {
        var roomId = await creator.Client.CreateRoomAsync(EncryptedRoomRequest([.. members.Select(m => m.UserId)]), Ct);
        foreach (var member in members)
            await member.Client.JoinAsync(roomId, null, null, Ct);
        return roomId;
    }

    /// <summary>One sync of the party's device, taken in by its machine.</summary>
    private async Task<SyncResponse> SyncAsync(Party party)
    {
        var response = await party.Client.SyncAsync(party.Since, null, TimeSpan.FromSeconds(1), Ct);
        await party.Machine.ReceiveSyncAsync(response, Ct);
        party.Since = response.NextBatch;
        foreach (var (roomId, room) in response.Rooms?.Join ?? [])
        {
            foreach (var e in room.Timeline?.Events ?? [])
            {
                if (e.EventId is { } id)
                    party.Seen[id] = (roomId, e);
            }
        }
        return response;
    }

    private async Task SyncUntilAsync(Party party, Func<SyncResponse, bool> done)
    {
        while (!done(await SyncAsync(party)))
        {
        }
    }

    /// <summary>Syncs until the party has seen all these events (in any room), and returns them.</summary>
    private async Task<Dictionary<string, ClientEvent>> WaitForEventsAsync(Party party, string roomId, params string[] eventIds)
    {
        while (!eventIds.All(party.Seen.ContainsKey))
            await SyncAsync(party);
        Assert.All(eventIds, id => Assert.Equal(roomId, party.Seen[id].RoomId));
        return eventIds.ToDictionary(id => id, id => party.Seen[id].Event);
    }

    private async Task<Sent> SendAsync(Party from, string roomId, string body, IReadOnlyCollection<string> recipients, RoomEncryptionSettings? settings = null)
    {
        var content = await from.Machine.EncryptAsync(roomId, EventTypes.Message, Text(body), recipients, settings ?? RoomEncryptionSettings.Default, Ct);
        var eventId = await from.Client.SendEventAsync(roomId, EventTypes.Encrypted, "txn" + Convert.ToHexString(RandomNumberGenerator.GetBytes(8)), Json(content), Ct);
        return new Sent(eventId, content);
    }

    /// <summary>Waits for the event, decrypts it, and returns its body (failing on a decryption failure).</summary>
    private async Task<string> ReadAsync(Party party, string roomId, string eventId)
    {
        var events = await WaitForEventsAsync(party, roomId, eventId);
        return Body(await party.Machine.DecryptAsync(roomId, events[eventId], Ct));
    }

    private static string Body(RoomDecryption result)
    {
        Assert.True(result.Failure is null, $"not decrypted: {result.Failure} ({result.Detail})");
        Assert.Equal(EventTypes.Message, result.Event!.Type);
        return result.Event.ContentString("body")!;
    }

    // ---- Hand-built keys and messages ----

    private static JsonObject DeviceKeys(TestUser user, OlmAccount account) => JsonSigning.Sign(new JsonObject
    {
        ["user_id"] = user.UserId,
        ["device_id"] = user.DeviceId,
        ["algorithms"] = new JsonArray(DeviceList.OlmAlgorithm, DeviceList.MegolmAlgorithm),
        ["keys"] = new JsonObject
        {
            [$"curve25519:{user.DeviceId}"] = account.Curve25519Key,
            [$"ed25519:{user.DeviceId}"] = account.Ed25519Key,
        },
    }, user.UserId, user.DeviceId, account.SigningKey);

    /// <summary>An <c>m.room.encrypted</c> content for a text message under a Megolm session of our own.</summary>
    private static JsonObject MegolmContent(OutboundGroupSession session, string roomId, string body, string senderKey, string deviceId)
    {
        var payload = new JsonObject { ["type"] = EventTypes.Message, ["content"] = Text(body), ["room_id"] = roomId };
        return new JsonObject
        {
            ["algorithm"] = DeviceList.MegolmAlgorithm,
            ["ciphertext"] = session.Encrypt(Encoding.UTF8.GetBytes(payload.ToJsonString())),
            ["session_id"] = session.SessionId,
            ["sender_key"] = senderKey,
            ["device_id"] = deviceId,
        };
    }

    /// <summary>Claims one key of the party's device; returns it and whether it was the fallback key.</summary>
    private static async Task<(string Key, bool Fallback)> ClaimAsync(PeerHomeserver hs, TestUser claimer, Party of)
    {
        var claimed = (await hs.Admin.ClaimKeyAsync(claimer, of.UserId, of.User.DeviceId)).Ok();
        var key = claimed["one_time_keys"]![of.UserId]![of.User.DeviceId]!.AsObject().Single().Value!;
        return (key["key"]!.GetValue<string>(), key["fallback"]?.GetValue<bool>() == true);
    }

    /// <summary>Claims the device's one-time keys until the server hands out the fallback key, and returns that.</summary>
    private static async Task<string> ClaimUntilFallbackAsync(PeerHomeserver hs, TestUser claimer, Party of)
    {
        for (var i = 0; i <= OlmAccount.MaxPublishedOneTimeKeys; i++)
        {
            var (key, fallback) = await ClaimAsync(hs, claimer, of);
            if (fallback)
                return key;
        }
        throw new Xunit.Sdk.XunitException("the server never handed out the fallback key");
    }

    private static JsonObject Text(string body) => new() { ["msgtype"] = "m.text", ["body"] = body };

    private static JsonElement Json(JsonObject obj)
    {
        using var document = JsonDocument.Parse(obj.ToJsonString());
        return document.RootElement.Clone();
    }
}
