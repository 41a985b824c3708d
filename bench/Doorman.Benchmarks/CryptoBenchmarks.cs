using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using BenchmarkDotNet.Attributes;
using Doorman.Matrix;
using Doorman.Matrix.Crypto;
using Doorman.Matrix.Crypto.Megolm;
using Doorman.Matrix.Crypto.Olm;
using Doorman.Matrix.Events;
using Doorman.Matrix.Http;
using Doorman.Matrix.Sync;
using Doorman.Tests.Fixtures;
using Microsoft.Extensions.Logging.Abstractions;

namespace Doorman.Benchmarks;

/// <summary>
/// What end-to-end encryption costs per event (bench/README.md, "End-to-end encryption"). Each figure is per
/// operation: the loops over a session's <see cref="Messages"/> messages divide by it (OperationsPerInvoke).
/// Nothing here talks to a homeserver: the <see cref="CryptoMachine"/> gets its room key as a to-device event built
/// with our own Olm classes, and its client answers from memory.
/// </summary>
[MemoryDiagnoser]
public class CryptoBenchmarks : IDisposable
{
    /// <summary>A Megolm session's messages before it rotates (<see cref="CryptoMachine.DefaultRotationMessages"/>).</summary>
    private const int Messages = CryptoMachine.DefaultRotationMessages;

    private const string RoomId = "!gate:example.org";
    private const string Alice = "@alice:example.org";
    private const string Bot = "@doorman:example.org";
    private const string BotDevice = "DOORMANBOT";

    // (a), (b): Megolm.
    private readonly string[] _commandCiphertexts = new string[Messages];
    private InboundGroupSession _inbound = null!;
    private OutboundGroupSession _outbound = null!;
    private byte[] _reply = [];

    // (c): Olm.
    private byte[] _roomKeyPayload = [];
    private OlmAccount _alice = null!;
    private OlmAccount _bob = null!;
    private string _bobFallbackKey = "";
    private OlmSession _aliceToBob = null!;
    private OlmSession _bobFromAlice = null!;

    // (d): CryptoMachine.
    private HttpClient _http = null!;
    private MatrixClient _client = null!;
    private CryptoMachine _machine = null!;
    private readonly ClientEvent[] _encryptedEvents = new ClientEvent[Messages];
    private SyncResponse _unencryptedSync = null!;

    // (e): a device keys object.
    private JsonObject _deviceKeys = null!;
    private byte[] _deviceSigningKey = [];

    [GlobalSetup]
    public void Setup()
    {
        // (a) A command as the bot receives it: the Megolm plaintext of an m.text "!gate …" (~100 bytes).
        var sender = OutboundGroupSession.Create();
        _inbound = InboundGroupSession.FromSessionKey(sender.SessionKey());
        var command = Plaintext(RoomId, "m.room.message", new JsonObject { ["msgtype"] = "m.text", ["body"] = "!gate join" });
        for (var i = 0; i < Messages; i++)
            _commandCiphertexts[i] = sender.Encrypt(command);
        Require(command.Length is >= 90 and <= 130, $"the command plaintext is {command.Length} bytes");

        // (b) A reply as the bot sends it: an m.notice that is a Matrix reply, ~500 bytes of plaintext.
        _outbound = OutboundGroupSession.Create();
        _reply = Plaintext(RoomId, "m.room.message", new JsonObject
        {
            ["msgtype"] = "m.notice",
            ["body"] = "> <@alice:example.org> !gate join\n\nWelcome! Your membership of Gate runs until 2026-12-25 18:30 UTC (30 days from now). "
                + "Say !gate status to see it, !gate renew to extend it. The next invoice comes three days before the end; "
                + "pay it by Lightning to stay in the room.",
            ["m.relates_to"] = new JsonObject { ["m.in_reply_to"] = new JsonObject { ["event_id"] = "$Rqnc-F-dvnEYJTyHq_iKxU2bZ1CI92-kuZq3a5lr5Zg" } },
        });
        Require(_reply.Length is >= 450 and <= 550, $"the reply plaintext is {_reply.Length} bytes");

        // (c) Olm: the m.room_key to-device payload the bot sends (and receives) for a new Megolm session.
        _alice = OlmAccount.Create();
        _bob = OlmAccount.Create();
        _bob.GenerateFallbackKey();
        _bobFallbackKey = _bob.UnpublishedFallbackKey!.Value.Value;
        _roomKeyPayload = Encoding.UTF8.GetBytes(RoomKeyPayload(Alice, _alice.Ed25519Key, Bot, _bob.Ed25519Key, OutboundGroupSession.Create()).ToJsonString());
        // An established session: Bob has answered, so Alice's messages are normal (type 1) messages on one chain.
        _aliceToBob = _alice.CreateOutboundSession(_bob.Curve25519Key, _bobFallbackKey);
        _bobFromAlice = _bob.CreateInboundSession(_alice.Curve25519Key, _aliceToBob.Encrypt(_roomKeyPayload)).Session;
        _aliceToBob.Decrypt(_bobFromAlice.Encrypt("{}"u8));
        Require(_aliceToBob.Encrypt(_roomKeyPayload) is { Type: OlmMessage.NormalType } m && _bobFromAlice.Decrypt(m).Length == _roomKeyPayload.Length,
            "the established Olm session does not send normal messages");
        Require(OlmPreKey() == _roomKeyPayload.Length, "the pre-key message does not decrypt");

        SetupMachineAsync().GetAwaiter().GetResult();

        // (e) A device keys object as /keys/query returns it, signed by its device.
        var device = Ed25519KeyPair.Generate();
        _deviceSigningKey = device.PublicKey;
        _deviceKeys = JsonSigning.Sign(new JsonObject
        {
            ["user_id"] = Alice,
            ["device_id"] = "ALICEPHONE",
            ["algorithms"] = new JsonArray(DeviceList.OlmAlgorithm, DeviceList.MegolmAlgorithm),
            ["keys"] = new JsonObject
            {
                ["curve25519:ALICEPHONE"] = Curve25519KeyPair.Generate().PublicKeyBase64,
                ["ed25519:ALICEPHONE"] = device.PublicKeyBase64,
            },
            ["unsigned"] = new JsonObject { ["device_display_name"] = "Alice's phone" },
        }, Alice, "ALICEPHONE", device);
        Require(VerifyDeviceKeys(), "the device keys' signature does not verify");
    }

    /// <summary>
    /// A <see cref="CryptoMachine"/> for the bot over a <see cref="MemoryCryptoStore"/>, with a client that answers
    /// key uploads from memory; Alice's device gives it a room key over Olm (a pre-key message to one of the
    /// one-time keys it published) in a sync's to_device, and sends it <see cref="Messages"/> encrypted commands.
    /// </summary>
    private async Task SetupMachineAsync()
    {
        var server = new MemoryHomeserver();
        _http = new HttpClient(server);
        _client = new MatrixClient(_http, _http, new HomeserverAddress(new Uri("http://localhost/")), new MatrixClientOptions(), TimeProvider.System);
        _machine = new CryptoMachine(_client, new FreshReplayIndexStore(), Bot, BotDevice, TimeProvider.System, NullLogger.Instance);
        await _machine.InitializeAsync(CancellationToken.None);
        var oneTimeKey = server.OneTimeKeys.First();

        var alice = OlmAccount.Create();
        var megolm = OutboundGroupSession.Create();
        var olm = alice.CreateOutboundSession(_machine.IdentityKey, oneTimeKey);
        var message = olm.Encrypt(Encoding.UTF8.GetBytes(RoomKeyPayload(Alice, alice.Ed25519Key, Bot, _machine.FingerprintKey, megolm).ToJsonString()));
        var toDevice = Event("m.room.encrypted", null, new JsonObject
        {
            ["algorithm"] = DeviceList.OlmAlgorithm,
            ["sender_key"] = alice.Curve25519Key,
            ["ciphertext"] = new JsonObject { [_machine.IdentityKey] = new JsonObject { ["type"] = message.Type, ["body"] = message.Body } },
        });
        await _machine.ReceiveSyncAsync(new SyncResponse { NextBatch = "s1", ToDevice = new EventList { Events = [toDevice] } }, CancellationToken.None);

        var command = Plaintext(RoomId, "m.room.message", new JsonObject { ["msgtype"] = "m.text", ["body"] = "!gate join" });
        for (var i = 0; i < Messages; i++)
        {
            _encryptedEvents[i] = Event("m.room.encrypted", $"$command{i}", new JsonObject
            {
                ["algorithm"] = DeviceList.MegolmAlgorithm,
                ["ciphertext"] = megolm.Encrypt(command),
                ["session_id"] = megolm.SessionId,
                ["sender_key"] = alice.Curve25519Key,
                ["device_id"] = "ALICEPHONE",
            });
        }
        var decrypted = await _machine.DecryptAsync(RoomId, _encryptedEvents[^1], CancellationToken.None);
        Require(decrypted.Event is { Type: "m.room.message" }, $"the machine did not decrypt the command: {decrypted.Failure} {decrypted.Detail}");
        Require(await MachineDecrypt() == Messages, "the machine did not decrypt every command");

        // An unencrypted batch, parsed: what the machine is given with every sync when no one sends it anything.
        _unencryptedSync = JsonSerializer.Deserialize(CompactSync.Load(1_000), MatrixJson.SyncResponse)! with
        {
            OneTimeKeysCount = new Dictionary<string, int> { ["signed_curve25519"] = 50 },
            UnusedFallbackKeyTypes = ["signed_curve25519"],
        };
        var uploads = server.Requests;
        await MachineReceiveUnencryptedSync();
        Require(server.Requests == uploads, "an unencrypted sync made the machine call the server");
    }

    /// <summary>(a) <c>InboundGroupSession.Decrypt</c> of a command (~100 bytes), a session's messages in order.</summary>
    [Benchmark(OperationsPerInvoke = Messages)]
    public int MegolmDecryptCommand()
    {
        var total = 0;
        foreach (var ciphertext in _commandCiphertexts)
            total += _inbound.Decrypt(ciphertext).Plaintext.Length;
        return total;
    }

    /// <summary>(b) <c>OutboundGroupSession.Encrypt</c> of a reply (~500 bytes).</summary>
    [Benchmark]
    public string MegolmEncryptReply() => _outbound.Encrypt(_reply);

    /// <summary>
    /// (c) An m.room_key to a device the bot has no session with: Alice starts a session from Bob's fallback key
    /// (three X25519 agreements), encrypts a pre-key message, and Bob starts his side from it (three more) and decrypts.
    /// </summary>
    [Benchmark]
    public int OlmPreKey()
    {
        var session = _alice.CreateOutboundSession(_bob.Curve25519Key, _bobFallbackKey);
        var message = session.Encrypt(_roomKeyPayload);
        return _bob.CreateInboundSession(_alice.Curve25519Key, message).Plaintext.Length;
    }

    /// <summary>(c) An m.room_key over an established session: encrypt and decrypt of a normal message.</summary>
    [Benchmark]
    public int OlmNormal() => _bobFromAlice.Decrypt(_aliceToBob.Encrypt(_roomKeyPayload)).Length;

    /// <summary>
    /// (d) <c>CryptoMachine.DecryptAsync</c> of a session's commands in order, as the bot decrypts its timeline: store
    /// read and JSON of the session record, Megolm, replay index (written, as for an event not seen before), the
    /// plaintext's JSON and the decrypted event.
    /// </summary>
    [Benchmark(OperationsPerInvoke = Messages)]
    public async Task<int> MachineDecrypt()
    {
        var decrypted = 0;
        foreach (var e in _encryptedEvents)
        {
            if ((await _machine.DecryptAsync(RoomId, e, CancellationToken.None)).Event is not null)
                decrypted++;
        }
        return decrypted;
    }

    /// <summary>
    /// What the machine costs a sync batch with nothing for it (1,000 unencrypted events, key counts as Synapse
    /// sends them, no to-device events): <c>ReceiveSyncAsync</c> on the parsed batch.
    /// </summary>
    [Benchmark]
    public Task MachineReceiveUnencryptedSync() => _machine.ReceiveSyncAsync(_unencryptedSync, CancellationToken.None);

    /// <summary>(e) Canonical JSON of a device keys object and the Ed25519 check of its device's signature.</summary>
    [Benchmark]
    public bool VerifyDeviceKeys() => JsonSigning.Verify(_deviceKeys, Alice, "ALICEPHONE", _deviceSigningKey);

    /// <summary>(e) The canonical JSON part of <see cref="VerifyDeviceKeys"/> alone.</summary>
    [Benchmark]
    public byte[] CanonicalDeviceKeys() => JsonSigning.SignedBytes(_deviceKeys);

    [GlobalCleanup]
    public void Dispose()
    {
        _machine.Dispose();
        _client.Dispose();
        _http.Dispose();
        GC.SuppressFinalize(this);
    }

    private static byte[] Plaintext(string roomId, string type, JsonObject content) =>
        Encoding.UTF8.GetBytes(new JsonObject { ["type"] = type, ["content"] = content, ["room_id"] = roomId }.ToJsonString());

    /// <summary>The Olm plaintext of an m.room_key as <c>CryptoMachine</c> sends it (CS API "m.olm.v1.curve25519-aes-sha2").</summary>
    private static JsonObject RoomKeyPayload(string sender, string senderEd25519, string recipient, string recipientEd25519, OutboundGroupSession session) => new()
    {
        ["type"] = "m.room_key",
        ["content"] = new JsonObject
        {
            ["algorithm"] = DeviceList.MegolmAlgorithm,
            ["room_id"] = RoomId,
            ["session_id"] = session.SessionId,
            ["session_key"] = session.SessionKey(),
        },
        ["sender"] = sender,
        ["sender_device"] = "ALICEPHONE",
        ["keys"] = new JsonObject { ["ed25519"] = senderEd25519 },
        ["recipient"] = recipient,
        ["recipient_keys"] = new JsonObject { ["ed25519"] = recipientEd25519 },
    };

    private static ClientEvent Event(string type, string? eventId, JsonObject content)
    {
        using var document = JsonDocument.Parse(content.ToJsonString());
        return new ClientEvent { Type = type, EventId = eventId, Sender = Alice, OriginServerTs = 1_790_000_000_000, Content = document.RootElement.Clone() };
    }

    private static void Require(bool condition, string problem)
    {
        if (!condition)
            throw new InvalidOperationException(problem);
    }

    /// <summary>Answers the key uploads of <see cref="CryptoMachine.InitializeAsync"/>, keeping the one-time keys it published.</summary>
    private sealed class MemoryHomeserver : HttpMessageHandler
    {
        public List<string> OneTimeKeys { get; } = [];

        public int Requests { get; private set; }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Requests++;
            var path = request.RequestUri!.AbsolutePath;
            var body = request.Content is null ? null : JsonNode.Parse(await request.Content.ReadAsStringAsync(cancellationToken)) as JsonObject;
            string answer;
            switch (path)
            {
                case "/_matrix/client/v3/keys/upload":
                    foreach (var (_, key) in body?["one_time_keys"] as JsonObject ?? [])
                        OneTimeKeys.Add(key!["key"]!.GetValue<string>());
                    answer = """{"one_time_key_counts":{"signed_curve25519":50}}""";
                    break;
                case "/_matrix/client/v3/keys/device_signing/upload":
                case "/_matrix/client/v3/keys/signatures/upload":
                    answer = "{}";
                    break;
                default:
                    return new HttpResponseMessage(HttpStatusCode.NotFound)
                    {
                        Content = new StringContent("""{"errcode":"M_UNRECOGNIZED","error":"not in the benchmark"}""", Encoding.UTF8, "application/json"),
                    };
            }
            return new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(answer, Encoding.UTF8, "application/json") };
        }
    }

    /// <summary>
    /// A <see cref="MemoryCryptoStore"/> whose Megolm replay index never remembers a read: every decryption takes
    /// the path of an event seen for the first time (a miss, then the write), however often the benchmark repeats
    /// a session's events.
    /// </summary>
    private sealed class FreshReplayIndexStore : ICryptoStore
    {
        private const string IndexKind = "megolm-index"; // CryptoMachine's kind for (session, index) → event id
        private readonly MemoryCryptoStore _inner = new();

        public Task<byte[]?> GetAsync(string kind, string key, CancellationToken cancellationToken) =>
            kind == IndexKind ? Task.FromResult<byte[]?>(null) : _inner.GetAsync(kind, key, cancellationToken);

        public Task<IReadOnlyList<KeyValuePair<string, byte[]>>> ListAsync(string kind, string keyPrefix, CancellationToken cancellationToken) =>
            _inner.ListAsync(kind, keyPrefix, cancellationToken);

        public Task PutAsync(string kind, string key, byte[] value, CancellationToken cancellationToken) => _inner.PutAsync(kind, key, value, cancellationToken);

        public Task DeleteAsync(string kind, string key, CancellationToken cancellationToken) => _inner.DeleteAsync(kind, key, cancellationToken);
    }
}
