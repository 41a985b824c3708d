using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Doorman.Matrix.Crypto.Olm;
using Doorman.TestSupport;

namespace Doorman.Matrix.Tests.Crypto;

/// <summary>Our Olm against libolm 3.2.15 through the crypto peer (tests/peer/crypto/olm.mjs), both directions.</summary>
public class OlmInteropTests
{
    private static string Read(byte[] bytes) => Encoding.UTF8.GetString(bytes);

    private static async Task<(string Handle, string Curve25519)> CreateAccountAsync(CryptoPeer peer)
    {
        var account = (await peer.CallAsync("olm.account.create"))!;
        return (account["account"]!.GetValue<string>(), account["curve25519"]!.GetValue<string>());
    }

    private static async Task<OlmMessage> EncryptAsync(CryptoPeer peer, string session, string plaintext)
    {
        var message = (await peer.CallAsync("olm.session.encrypt", new JsonObject { ["session"] = session, ["plaintext"] = plaintext }))!;
        return new OlmMessage(message["type"]!.GetValue<int>(), message["body"]!.GetValue<string>());
    }

    private static Task<string> DecryptAsync(CryptoPeer peer, string session, OlmMessage message) =>
        peer.CallForStringAsync("olm.session.decrypt", new JsonObject { ["session"] = session, ["type"] = message.Type, ["body"] = message.Body });

    [CryptoPeerFact]
    public async Task Libolm_starts_a_session_to_our_one_time_key_and_we_talk_for_several_turns()
    {
        await using var peer = await CryptoPeer.StartAsync();
        var (theirAccount, theirIdentity) = await CreateAccountAsync(peer);
        var ours = OlmAccount.Create();
        ours.GenerateOneTimeKeys(5);
        var oneTimeKey = ours.UnpublishedOneTimeKeys.Values.ElementAt(2);
        ours.MarkKeysAsPublished();

        var outbound = (await peer.CallAsync("olm.session.outbound", new JsonObject
        {
            ["account"] = theirAccount, ["identityKey"] = ours.Curve25519Key, ["oneTimeKey"] = oneTimeKey,
        }))!;
        var theirSession = outbound["session"]!.GetValue<string>();
        var first = await EncryptAsync(peer, theirSession, "hello from libolm");
        var second = await EncryptAsync(peer, theirSession, "and again");
        Assert.Equal(OlmMessage.PreKeyType, first.Type);

        var created = ours.CreateInboundSession(theirIdentity, first);
        var session = created.Session;
        Assert.Equal("hello from libolm", Read(created.Plaintext));
        Assert.Equal(outbound["sessionId"]!.GetValue<string>(), session.SessionId);
        Assert.True(session.MatchesInbound(theirIdentity, second));
        Assert.Equal("and again", Read(session.Decrypt(second)));
        Assert.Throws<OlmException>(() => ours.CreateInboundSession(theirIdentity, first));

        for (var turn = 0; turn < 6; turn++)
        {
            var replies = Enumerable.Range(0, 1 + turn % 3).Select(i => session.Encrypt(Encoding.UTF8.GetBytes($"ours {turn}.{i}"))).ToList();
            for (var i = 0; i < replies.Count; i++)
            {
                Assert.Equal(OlmMessage.NormalType, replies[i].Type);
                Assert.Equal($"ours {turn}.{i}", await DecryptAsync(peer, theirSession, replies[i]));
            }
            var theirs = new List<OlmMessage>();
            for (var i = 0; i < 1 + turn % 2; i++)
                theirs.Add(await EncryptAsync(peer, theirSession, $"theirs {turn}.{i}"));
            theirs.Reverse();
            foreach (var (message, i) in theirs.Select((m, i) => (m, theirs.Count - 1 - i)))
                Assert.Equal($"theirs {turn}.{i}", Read(session.Decrypt(message)));
        }
    }

    [CryptoPeerFact]
    public async Task We_start_a_session_to_a_libolm_one_time_key_and_libolm_accepts_it()
    {
        await using var peer = await CryptoPeer.StartAsync();
        var (theirAccount, theirIdentity) = await CreateAccountAsync(peer);
        var keys = (await peer.CallAsync("olm.account.oneTimeKeys", new JsonObject { ["account"] = theirAccount, ["count"] = 1 }))!.AsObject();
        var ours = OlmAccount.Create();

        var session = ours.CreateOutboundSession(theirIdentity, keys.Single().Value!.GetValue<string>());
        var first = session.Encrypt("hello from Doorman"u8);
        var second = session.Encrypt("second"u8);
        var inbound = (await peer.CallAsync("olm.session.inbound", new JsonObject
        {
            ["account"] = theirAccount, ["identityKey"] = ours.Curve25519Key, ["body"] = first.Body,
        }))!;
        var theirSession = inbound["session"]!.GetValue<string>();

        Assert.Equal("hello from Doorman", inbound["plaintext"]!.GetValue<string>());
        Assert.Equal(session.SessionId, inbound["sessionId"]!.GetValue<string>());
        Assert.True((await peer.CallAsync("olm.session.matchesInbound", new JsonObject
        {
            ["session"] = theirSession, ["identityKey"] = ours.Curve25519Key, ["body"] = second.Body,
        }))!.GetValue<bool>());
        Assert.Equal("second", await DecryptAsync(peer, theirSession, second));

        for (var turn = 0; turn < 5; turn++)
        {
            var reply = await EncryptAsync(peer, theirSession, $"theirs {turn}");
            Assert.Equal(OlmMessage.NormalType, reply.Type);
            Assert.Equal($"theirs {turn}", Read(session.Decrypt(reply)));
            var ourMessage = session.Encrypt(Encoding.UTF8.GetBytes($"ours {turn}"));
            Assert.Equal(OlmMessage.NormalType, ourMessage.Type);
            Assert.Equal($"ours {turn}", await DecryptAsync(peer, theirSession, ourMessage));
        }
    }

    [CryptoPeerFact]
    public async Task Libolm_starts_sessions_to_our_fallback_key_which_stays()
    {
        await using var peer = await CryptoPeer.StartAsync();
        var ours = OlmAccount.Create();
        ours.GenerateFallbackKey();
        var fallback = ours.UnpublishedFallbackKey!.Value.Value;
        ours.MarkKeysAsPublished();

        for (var i = 0; i < 2; i++)
        {
            var (theirAccount, theirIdentity) = await CreateAccountAsync(peer);
            var outbound = (await peer.CallAsync("olm.session.outbound", new JsonObject
            {
                ["account"] = theirAccount, ["identityKey"] = ours.Curve25519Key, ["oneTimeKey"] = fallback,
            }))!;
            var theirSession = outbound["session"]!.GetValue<string>();
            var first = await EncryptAsync(peer, theirSession, $"to the fallback key {i}");

            var created = ours.CreateInboundSession(theirIdentity, first);

            Assert.Equal($"to the fallback key {i}", Read(created.Plaintext));
            Assert.Equal(outbound["sessionId"]!.GetValue<string>(), created.Session.SessionId);
            Assert.Equal("back", await DecryptAsync(peer, theirSession, created.Session.Encrypt("back"u8)));
        }
    }

    [CryptoPeerFact]
    public async Task A_pickled_session_carries_on_with_libolm()
    {
        await using var peer = await CryptoPeer.StartAsync();
        var (theirAccount, theirIdentity) = await CreateAccountAsync(peer);
        var keys = (await peer.CallAsync("olm.account.oneTimeKeys", new JsonObject { ["account"] = theirAccount, ["count"] = 1 }))!.AsObject();
        var ours = OlmAccount.Create();
        var session = ours.CreateOutboundSession(theirIdentity, keys.Single().Value!.GetValue<string>());
        var inbound = (await peer.CallAsync("olm.session.inbound", new JsonObject
        {
            ["account"] = theirAccount, ["identityKey"] = ours.Curve25519Key, ["body"] = session.Encrypt("one"u8).Body,
        }))!;
        var theirSession = inbound["session"]!.GetValue<string>();
        Assert.Equal("two", Read(session.Decrypt(await EncryptAsync(peer, theirSession, "two"))));
        var pending = await EncryptAsync(peer, theirSession, "pending");

        var restored = OlmSession.Unpickle(JsonSerializer.Deserialize(
            JsonSerializer.Serialize(session.Pickle(), OlmPickleJson.Default.SessionPickle),
            OlmPickleJson.Default.SessionPickle)!);

        Assert.Equal("pending", Read(restored.Decrypt(pending)));
        Assert.Equal("three", await DecryptAsync(peer, theirSession, restored.Encrypt("three"u8)));
    }
}
