using System.Text.Json;
using System.Text.Json.Nodes;
using Doorman.Matrix.Crypto;
using Doorman.Matrix.Events;
using Doorman.Matrix.Rooms;
using Doorman.Tests.Peers;
using Doorman.Tests.Support;
using Doorman.TestSupport;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace Doorman.Tests.Matrix.Crypto;

/// <summary>
/// The bot's <see cref="CryptoMachine"/> and Element's own crypto (matrix-sdk-crypto-wasm, in the crypto peer)
/// on one homeserver, each doing its own HTTP: Element shares a room key with the bot while excluding insecure
/// devices, the bot decrypts Element's message and answers encrypted, and Element decrypts the answer while
/// requiring the sender to be cross-signed.
/// </summary>
public sealed class ElementInteropOnSandboxTests(ITestOutputHelper output)
{
    [CryptoPeerFact]
    public async Task Element_and_the_bot_read_each_others_encrypted_messages()
    {
        await using var hs = await PeerHomeserver.StartSandboxAsync(output.WriteLine);
        await ElementInterop.ConversationAsync(hs, output);
    }
}

public sealed class ElementInteropOnSynapseTests(ITestOutputHelper output)
{
    [SynapseCryptoPeerFact]
    public async Task Element_and_the_bot_read_each_others_encrypted_messages()
    {
        await using var hs = PeerHomeserver.Synapse(output.WriteLine);
        await ElementInterop.ConversationAsync(hs, output);
    }
}

internal static class ElementInterop
{
    public static async Task ConversationAsync(PeerHomeserver hs, ITestOutputHelper output)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var cancellation = timeout.Token;
        var bot = await hs.RegisterAsync("e2ebot");
        var ann = await hs.RegisterAsync("e2eann");
        var botClient = hs.Client(bot);
        var annClient = hs.Client(ann);
        var roomId = await annClient.CreateRoomAsync(new CreateRoomRequest
        {
            Preset = CreateRoomRequest.PrivateChat,
            Invite = [bot.UserId],
            InitialState = [new InitialStateEvent { Type = EventTypes.Encryption, Content = Json("""{"algorithm":"m.megolm.v1.aes-sha2"}""") }],
        }, cancellation);
        await botClient.JoinAsync(roomId, null, null, cancellation);

        using var logs = new XunitLoggerProvider(output, LogLevel.Debug);
        using var machine = new CryptoMachine(botClient, new MemoryCryptoStore(), bot.UserId, bot.DeviceId, TimeProvider.System,
            logs.CreateLogger("CryptoMachine"));
        await machine.InitializeAsync(cancellation);

        await using var peer = await CryptoPeer.StartAsync();
        var element = (await peer.CallAsync("element.start", new JsonObject
        {
            ["homeserver"] = hs.Url.ToString(),
            ["userId"] = ann.UserId,
            ["deviceId"] = ann.DeviceId,
            ["accessToken"] = ann.AccessToken,
            ["password"] = ann.Password,
        }))!["handle"]!.GetValue<string>();

        // Element, excluding insecure devices, still gives the bot the room key: its device is cross-signed.
        var sent = (await peer.CallAsync("element.send", new JsonObject
        {
            ["handle"] = element,
            ["roomId"] = roomId,
            ["members"] = new JsonArray(ann.UserId, bot.UserId),
            ["strategy"] = "identity",
            ["content"] = new JsonObject { ["msgtype"] = "m.text", ["body"] = "join please" },
        }))!;
        var toBot = sent["shared"]!.AsArray().Where(s => s!["user"]!.GetValue<string>() == bot.UserId).Select(s => s!["as"]!.GetValue<string>()).ToList();
        Assert.Equal(["m.room.encrypted"], toBot);

        // The bot syncs: the key arrives over Olm, the message decrypts.
        var eventId = sent["eventId"]!.GetValue<string>();
        string? since = null;
        ClientEvent? encrypted = null;
        while (encrypted is null)
        {
            var response = await botClient.SyncAsync(since, null, TimeSpan.FromSeconds(2), cancellation);
            await machine.ReceiveSyncAsync(response, cancellation);
            since = response.NextBatch;
            encrypted = response.Rooms?.Join?.GetValueOrDefault(roomId)?.Timeline?.Events?.FirstOrDefault(e => e.EventId == eventId);
        }
        var decrypted = await machine.DecryptAsync(roomId, encrypted, cancellation);
        Assert.Null(decrypted.Failure);
        Assert.Equal(EventTypes.Message, decrypted.Event!.Type);
        Assert.Equal("join please", decrypted.Event.ContentString("body"));

        // The bot answers encrypted; Element decrypts it even when it requires a cross-signed sender.
        var content = await machine.EncryptAsync(roomId, EventTypes.Message, new JsonObject { ["msgtype"] = "m.notice", ["body"] = "pay this invoice" },
            [ann.UserId], RoomEncryptionSettings.Default, cancellation);
        var replyId = await botClient.SendEventAsync(roomId, EventTypes.Encrypted, "reply1", Json(content.ToJsonString()), cancellation);
        JsonNode? reply = null;
        for (var attempt = 0; reply is null && attempt < 20; attempt++)
        {
            await peer.CallAsync("element.sync", new JsonObject { ["handle"] = element });
            var messages = (await peer.CallAsync("element.messages", new JsonObject
            {
                ["handle"] = element,
                ["roomId"] = roomId,
                ["sender"] = bot.UserId,
                ["trust"] = "crossSignedOrLegacy",
            }))!.AsArray();
            reply = messages.FirstOrDefault(m => m!["eventId"]!.GetValue<string>() == replyId);
            if (reply is null)
                await Task.Delay(250, cancellation);
        }
        Assert.NotNull(reply);
        Assert.Null(reply["error"]);
        Assert.Equal("pay this invoice", reply["content"]!["body"]!.GetValue<string>());
    }

    private static JsonElement Json(string json) => JsonDocument.Parse(json).RootElement.Clone();
}
