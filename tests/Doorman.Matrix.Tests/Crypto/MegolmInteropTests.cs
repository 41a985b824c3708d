using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Doorman.Matrix.Crypto.Megolm;
using Doorman.TestSupport;

namespace Doorman.Matrix.Tests.Crypto;

/// <summary>Megolm against libolm 3.2.15 in both directions, and matrix-sdk-crypto-wasm (tests/peer/crypto/megolm.mjs).</summary>
public class MegolmInteropTests
{
    [CryptoPeerFact]
    public async Task Libolm_messages_decrypt_here_in_any_order_from_its_session_key()
    {
        await using var peer = await CryptoPeer.StartAsync();
        var outbound = (await peer.CallAsync("megolm.outbound.create"))!;
        var handle = outbound["handle"]!.GetValue<string>();
        var messages = new List<string>();
        for (var i = 0; i < 40; i++)
            messages.Add(await EncryptAsync(peer, handle, $"libolm says {i}"));

        var inbound = InboundGroupSession.FromSessionKey(outbound["session_key"]!.GetValue<string>());

        Assert.Equal(outbound["session_id"]!.GetValue<string>(), inbound.SessionId);
        foreach (var i in new[] { 0, 1, 7, 39, 2, 38 })
        {
            var decrypted = inbound.Decrypt(messages[i]);
            Assert.Equal($"libolm says {i}", Encoding.UTF8.GetString(decrypted.Plaintext));
            Assert.Equal((uint)i, decrypted.MessageIndex);
        }
    }

    [CryptoPeerFact]
    public async Task A_libolm_session_key_given_mid_session_decrypts_from_there()
    {
        await using var peer = await CryptoPeer.StartAsync();
        var handle = (await peer.CallAsync("megolm.outbound.create"))!["handle"]!.GetValue<string>();
        for (var i = 0; i < 3; i++)
            await EncryptAsync(peer, handle, "not for you");
        var key = await peer.CallForStringAsync("megolm.outbound.sessionKey", new JsonObject { ["handle"] = handle });
        var message = await EncryptAsync(peer, handle, "for you");

        var inbound = InboundGroupSession.FromSessionKey(key);

        Assert.Equal(3u, inbound.FirstKnownIndex);
        Assert.Equal("for you", Encoding.UTF8.GetString(inbound.Decrypt(message).Plaintext));
    }

    [CryptoPeerFact]
    public async Task Our_messages_decrypt_in_libolm_with_the_same_session_id()
    {
        await using var peer = await CryptoPeer.StartAsync();
        var outbound = OutboundGroupSession.Create();
        outbound.Encrypt(Text("before the key"));
        var inbound = (await peer.CallAsync("megolm.inbound.create", new JsonObject { ["sessionKey"] = outbound.SessionKey() }))!;
        var handle = inbound["handle"]!.GetValue<string>();

        Assert.Equal(outbound.SessionId, inbound["session_id"]!.GetValue<string>());
        Assert.Equal(1, inbound["first_known_index"]!.GetValue<int>());
        var messages = Enumerable.Range(1, 300).Select(i => outbound.Encrypt(Text($"doorman says {i} ✓"))).ToList();
        foreach (var i in new[] { 1, 2, 299, 256, 300 })
        {
            var decrypted = (await peer.CallAsync("megolm.inbound.decrypt", new JsonObject { ["handle"] = handle, ["ciphertext"] = messages[i - 1] }))!;
            Assert.Equal($"doorman says {i} ✓", decrypted["plaintext"]!.GetValue<string>());
            Assert.Equal(i, decrypted["message_index"]!.GetValue<int>());
        }
    }

    [CryptoPeerFact]
    public async Task Our_export_at_an_index_lets_libolm_decrypt_from_there_and_not_before()
    {
        await using var peer = await CryptoPeer.StartAsync();
        var outbound = OutboundGroupSession.Create();
        var ours = InboundGroupSession.FromSessionKey(outbound.SessionKey());
        var messages = Enumerable.Range(0, 8).Select(i => outbound.Encrypt(Text($"m{i}"))).ToList();

        var handle = (await peer.CallAsync("megolm.inbound.import", new JsonObject { ["exportedKey"] = ours.Export(5) }))!["handle"]!.GetValue<string>();

        Assert.Equal("m5", (await DecryptInLibolmAsync(peer, handle, messages[5]))["plaintext"]!.GetValue<string>());
        Assert.Equal("m7", (await DecryptInLibolmAsync(peer, handle, messages[7]))["plaintext"]!.GetValue<string>());
        var refused = await Assert.ThrowsAsync<CryptoPeerException>(() => DecryptInLibolmAsync(peer, handle, messages[4]));
        Assert.Contains("UNKNOWN_MESSAGE_INDEX", refused.Message);
    }

    [CryptoPeerFact]
    public async Task A_libolm_export_imports_here()
    {
        await using var peer = await CryptoPeer.StartAsync();
        var outbound = (await peer.CallAsync("megolm.outbound.create"))!;
        var sender = outbound["handle"]!.GetValue<string>();
        var receiver = (await peer.CallAsync("megolm.inbound.create", new JsonObject { ["sessionKey"] = outbound["session_key"]!.DeepClone() }))!["handle"]!.GetValue<string>();
        var messages = new List<string>();
        for (var i = 0; i < 6; i++)
            messages.Add(await EncryptAsync(peer, sender, $"m{i}"));

        var exported = await peer.CallForStringAsync("megolm.inbound.export", new JsonObject { ["handle"] = receiver, ["index"] = 2 });
        var imported = InboundGroupSession.Import(exported);

        Assert.Equal(outbound["session_id"]!.GetValue<string>(), imported.SessionId);
        Assert.Equal(2u, imported.FirstKnownIndex);
        Assert.Equal("m2", Encoding.UTF8.GetString(imported.Decrypt(messages[2]).Plaintext));
        Assert.Equal("m5", Encoding.UTF8.GetString(imported.Decrypt(messages[5]).Plaintext));
        Assert.Throws<MegolmException>(() => imported.Decrypt(messages[1]));
    }

    /// <summary>libolm's export at an index advances its own ratchet: the same bytes as ours prove the far jumps agree.</summary>
    [CryptoPeerFact]
    public async Task Libolm_and_we_ratchet_to_far_indexes_alike()
    {
        await using var peer = await CryptoPeer.StartAsync();
        var outbound = OutboundGroupSession.Create();
        var ours = InboundGroupSession.FromSessionKey(outbound.SessionKey());
        var handle = (await peer.CallAsync("megolm.inbound.create", new JsonObject { ["sessionKey"] = outbound.SessionKey() }))!["handle"]!.GetValue<string>();

        foreach (var index in new uint[] { 255, 256, 65_536 + 3, (1u << 24) + 5, (3u << 24) + (7u << 16) + (9u << 8) + 11, 1000 })
        {
            var theirs = await peer.CallForStringAsync("megolm.inbound.export", new JsonObject { ["handle"] = handle, ["index"] = index });
            Assert.Equal(theirs, ours.Export(index));
        }
    }

    /// <summary>matrix-sdk-crypto-wasm (vodozemac) takes our export as a key import, decrypts our room events, and
    /// its own key export of the session imports back here.</summary>
    [CryptoPeerFact]
    public async Task Matrix_sdk_crypto_decrypts_our_room_events_and_its_export_imports_here()
    {
        const string RoomId = "!megolm:localhost";
        await using var peer = await CryptoPeer.StartAsync();
        var outbound = OutboundGroupSession.Create();
        var ours = InboundGroupSession.FromSessionKey(outbound.SessionKey());
        var messages = Enumerable.Range(0, 5).Select(i => outbound.Encrypt(Text(
            $$$"""{"type":"m.room.message","room_id":"{{{RoomId}}}","content":{"msgtype":"m.text","body":"event {{{i}}}"}}"""))).ToList();
        var sender = new JsonObject
        {
            ["roomId"] = RoomId,
            ["senderKey"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('='),
            ["sessionId"] = outbound.SessionId,
        };

        var import = (await peer.CallAsync("megolm.wasm.import", With(sender, new() { ["exportedKey"] = ours.Export(0), ["signingKey"] = ours.SigningKey })))!;
        Assert.Equal(1, import["imported"]!.GetValue<int>());
        var handle = import["handle"]!.GetValue<string>();
        foreach (var i in new[] { 3, 0, 4 })
        {
            var eventJson = await peer.CallForStringAsync("megolm.wasm.decrypt", With(sender, new() { ["handle"] = handle, ["ciphertext"] = messages[i], ["eventId"] = $"$event{i}" }));
            Assert.Equal($"event {i}", JsonNode.Parse(eventJson)!["content"]!["body"]!.GetValue<string>());
        }

        var export = JsonNode.Parse(await peer.CallForStringAsync("megolm.wasm.export", new JsonObject { ["handle"] = handle }))!.AsArray();
        var imported = InboundGroupSession.Import(Assert.Single(export)!["session_key"]!.GetValue<string>());
        Assert.Equal(outbound.SessionId, imported.SessionId);
        Assert.Contains("event 2", Encoding.UTF8.GetString(imported.Decrypt(messages[2]).Plaintext));
    }

    private static JsonObject With(JsonObject common, JsonObject more)
    {
        var all = (JsonObject)common.DeepClone();
        foreach (var (name, value) in more)
            all[name] = value?.DeepClone();
        return all;
    }

    private static async Task<string> EncryptAsync(CryptoPeer peer, string handle, string plaintext) =>
        (await peer.CallAsync("megolm.outbound.encrypt", new JsonObject { ["handle"] = handle, ["plaintext"] = plaintext }))!["ciphertext"]!.GetValue<string>();

    private static async Task<JsonNode> DecryptInLibolmAsync(CryptoPeer peer, string handle, string ciphertext) =>
        (await peer.CallAsync("megolm.inbound.decrypt", new JsonObject { ["handle"] = handle, ["ciphertext"] = ciphertext }))!;

    private static byte[] Text(string text) => Encoding.UTF8.GetBytes(text);
}
