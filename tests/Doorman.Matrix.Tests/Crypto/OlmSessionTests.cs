using System.Text;
using System.Text.Json;
using Doorman.Matrix.Crypto;
using Doorman.Matrix.Crypto.Olm;

namespace Doorman.Matrix.Tests.Crypto;

/// <summary>Olm between two of our own accounts: the ratchet, its bounds, and failures that change nothing.</summary>
public class OlmSessionTests
{
    private static byte[] Text(string text) => Encoding.UTF8.GetBytes(text);

    private static string Read(byte[] bytes) => Encoding.UTF8.GetString(bytes);

    /// <summary>Alice starts a session to Bob's one-time key; Bob accepts her first message.</summary>
    private static (OlmAccount Alice, OlmAccount Bob, OlmSession AliceSession, OlmSession BobSession) Start()
    {
        var alice = OlmAccount.Create();
        var bob = OlmAccount.Create();
        bob.GenerateOneTimeKeys(1);
        var oneTimeKey = bob.UnpublishedOneTimeKeys.Values.Single();
        bob.MarkKeysAsPublished();
        var aliceSession = alice.CreateOutboundSession(bob.Curve25519Key, oneTimeKey);
        var first = aliceSession.Encrypt(Text("hello bob"));
        var created = bob.CreateInboundSession(alice.Curve25519Key, first);
        Assert.Equal("hello bob", Read(created.Plaintext));
        return (alice, bob, aliceSession, created.Session);
    }

    [Fact]
    public void Messages_are_pre_key_until_the_first_reply_and_then_normal_both_ways()
    {
        var alice = OlmAccount.Create();
        var bob = OlmAccount.Create();
        bob.GenerateOneTimeKeys(2);
        var oneTimeKey = bob.UnpublishedOneTimeKeys.Values.First();
        var aliceSession = alice.CreateOutboundSession(bob.Curve25519Key, oneTimeKey);

        var first = aliceSession.Encrypt(Text("one"));
        var second = aliceSession.Encrypt(Text("two"));
        Assert.Equal(OlmMessage.PreKeyType, first.Type);
        Assert.Equal(OlmMessage.PreKeyType, second.Type);
        Assert.False(aliceSession.HasReceivedMessage);

        var created = bob.CreateInboundSession(alice.Curve25519Key, first);
        var bobSession = created.Session;
        Assert.Equal("one", Read(created.Plaintext));
        Assert.Equal(aliceSession.SessionId, bobSession.SessionId);
        Assert.True(bobSession.MatchesInbound(alice.Curve25519Key, second));
        Assert.False(bobSession.MatchesInbound(bob.Curve25519Key, second));
        Assert.Equal("two", Read(bobSession.Decrypt(second)));
        Assert.DoesNotContain(oneTimeKey, bob.UnpublishedOneTimeKeys.Values);
        Assert.Single(bob.UnpublishedOneTimeKeys);

        var reply = bobSession.Encrypt(Text("hi alice"));
        Assert.Equal(OlmMessage.NormalType, reply.Type);
        Assert.Equal("hi alice", Read(aliceSession.Decrypt(reply)));
        Assert.True(aliceSession.HasReceivedMessage);

        var third = aliceSession.Encrypt(Text("three"));
        Assert.Equal(OlmMessage.NormalType, third.Type);
        Assert.Equal("three", Read(bobSession.Decrypt(third)));
    }

    [Fact]
    public void A_used_one_time_key_cannot_start_a_second_session()
    {
        var alice = OlmAccount.Create();
        var bob = OlmAccount.Create();
        bob.GenerateOneTimeKeys(1);
        var aliceSession = alice.CreateOutboundSession(bob.Curve25519Key, bob.UnpublishedOneTimeKeys.Values.Single());
        var first = aliceSession.Encrypt(Text("one"));

        bob.CreateInboundSession(alice.Curve25519Key, first);

        var error = Assert.Throws<OlmException>(() => bob.CreateInboundSession(alice.Curve25519Key, first));
        Assert.Contains("one-time key", error.Message);
    }

    [Fact]
    public void Many_ratchet_turns_with_several_messages_each_way()
    {
        var (_, _, alice, bob) = Start();
        for (var turn = 0; turn < 40; turn++)
        {
            var (sender, receiver) = turn % 2 == 0 ? (bob, alice) : (alice, bob);
            var messages = Enumerable.Range(0, 1 + turn % 4).Select(i => (Text: $"turn {turn} message {i}", Message: sender.Encrypt(Text($"turn {turn} message {i}")))).ToList();
            foreach (var (text, message) in messages)
            {
                Assert.Equal(OlmMessage.NormalType, message.Type);
                Assert.Equal(text, Read(receiver.Decrypt(message)));
            }
        }
    }

    [Fact]
    public void Messages_out_of_order_and_across_chains_decrypt_once_each()
    {
        var (_, _, alice, bob) = Start();
        Assert.Equal("x", Read(alice.Decrypt(bob.Encrypt(Text("x")))));
        var firstChain = Enumerable.Range(0, 5).Select(i => alice.Encrypt(Text($"a{i}"))).ToList();
        Assert.Equal("a4", Read(bob.Decrypt(firstChain[4])));
        // Bob answers, Alice starts a new chain; the old chain's skipped messages still open.
        Assert.Equal("y", Read(alice.Decrypt(bob.Encrypt(Text("y")))));
        var secondChain = alice.Encrypt(Text("b0"));
        Assert.Equal("b0", Read(bob.Decrypt(secondChain)));
        foreach (var i in new[] { 0, 2, 1, 3 })
            Assert.Equal($"a{i}", Read(bob.Decrypt(firstChain[i])));

        Assert.Throws<OlmException>(() => bob.Decrypt(firstChain[2]));
        Assert.Throws<OlmException>(() => bob.Decrypt(firstChain[4]));
        Assert.Throws<OlmException>(() => bob.Decrypt(secondChain));
        Assert.Equal("after", Read(bob.Decrypt(alice.Encrypt(Text("after")))));
    }

    [Fact]
    public void Only_the_last_forty_skipped_message_keys_are_kept()
    {
        var (_, _, alice, bob) = Start();
        Assert.Equal("x", Read(alice.Decrypt(bob.Encrypt(Text("x")))));
        var messages = Enumerable.Range(0, 51).Select(i => alice.Encrypt(Text($"m{i}"))).ToList();

        Assert.Equal("m50", Read(bob.Decrypt(messages[50])));

        Assert.Throws<OlmException>(() => bob.Decrypt(messages[9]));
        Assert.Equal("m10", Read(bob.Decrypt(messages[10])));
        Assert.Equal("m49", Read(bob.Decrypt(messages[49])));
    }

    [Fact]
    public void A_message_more_than_two_thousand_ahead_is_refused_and_changes_nothing()
    {
        var (_, _, alice, bob) = Start();
        Assert.Equal("x", Read(alice.Decrypt(bob.Encrypt(Text("x")))));
        var messages = Enumerable.Range(0, 2002).Select(i => alice.Encrypt(Text($"m{i}"))).ToList();

        var error = Assert.Throws<OlmException>(() => bob.Decrypt(messages[2001]));
        Assert.Contains("too far ahead", error.Message);

        Assert.Equal("m0", Read(bob.Decrypt(messages[0])));
        Assert.Equal("m2001", Read(bob.Decrypt(messages[2001])));
    }

    [Fact]
    public void A_replayed_message_is_refused()
    {
        var (_, _, alice, bob) = Start();
        var reply = bob.Encrypt(Text("once"));
        Assert.Equal("once", Read(alice.Decrypt(reply)));

        var error = Assert.Throws<OlmException>(() => alice.Decrypt(reply));
        Assert.Contains("already used", error.Message);
    }

    [Fact]
    public void A_tampered_message_is_refused_and_the_session_still_works()
    {
        var (_, _, alice, bob) = Start();
        Assert.Equal("opens the chain", Read(alice.Decrypt(bob.Encrypt(Text("opens the chain")))));
        var reply = bob.Encrypt(Text("genuine"));
        var bytes = Base64Unpadded.Decode(reply.Body);

        foreach (var position in new[] { bytes.Length - 1, bytes.Length - 12, 40 })
        {
            var tampered = (byte[])bytes.Clone();
            tampered[position] ^= 0x01;
            var error = Assert.Throws<OlmException>(() => alice.Decrypt(reply with { Body = Base64Unpadded.Encode(tampered) }));
            Assert.Contains("MAC", error.Message);
        }
        // Another ratchet key (byte 3 is inside it) would start a new chain: refused too, with no chain kept.
        var forged = (byte[])bytes.Clone();
        forged[3] ^= 0x01;
        Assert.Throws<OlmException>(() => alice.Decrypt(reply with { Body = Base64Unpadded.Encode(forged) }));

        Assert.Equal("genuine", Read(alice.Decrypt(reply)));
        Assert.Equal("onward", Read(bob.Decrypt(alice.Encrypt(Text("onward")))));
    }

    [Fact]
    public void A_forged_pre_key_message_creates_no_session_and_keeps_the_one_time_key()
    {
        var alice = OlmAccount.Create();
        var bob = OlmAccount.Create();
        bob.GenerateOneTimeKeys(1);
        var aliceSession = alice.CreateOutboundSession(bob.Curve25519Key, bob.UnpublishedOneTimeKeys.Values.Single());
        var first = aliceSession.Encrypt(Text("one"));
        var bytes = Base64Unpadded.Decode(first.Body);
        bytes[^1] ^= 0x01;

        Assert.Throws<OlmException>(() => bob.CreateInboundSession(alice.Curve25519Key, first with { Body = Base64Unpadded.Encode(bytes) }));

        Assert.Equal("one", Read(bob.CreateInboundSession(alice.Curve25519Key, first).Plaintext));
    }

    [Fact]
    public void Chains_older_than_the_last_five_are_forgotten()
    {
        var (_, _, alice, bob) = Start();
        Assert.Equal("x", Read(alice.Decrypt(bob.Encrypt(Text("x")))));
        var early = alice.Encrypt(Text("early"));
        var sameChain = alice.Encrypt(Text("same chain"));
        Assert.Equal("same chain", Read(bob.Decrypt(sameChain)));
        for (var turn = 0; turn < 5; turn++)
        {
            Assert.Equal("b", Read(alice.Decrypt(bob.Encrypt(Text("b")))));
            Assert.Equal("a", Read(bob.Decrypt(alice.Encrypt(Text("a")))));
        }

        Assert.Throws<OlmException>(() => bob.Decrypt(early));
        Assert.Equal("still", Read(bob.Decrypt(alice.Encrypt(Text("still")))));
    }

    [Fact]
    public void A_fallback_key_starts_sessions_and_stays_until_two_newer_ones()
    {
        var bob = OlmAccount.Create();
        bob.GenerateFallbackKey();
        var fallback = bob.UnpublishedFallbackKey!.Value;
        bob.MarkKeysAsPublished();
        Assert.Null(bob.UnpublishedFallbackKey);

        foreach (var text in new[] { "first", "second" })
        {
            var alice = OlmAccount.Create();
            var message = alice.CreateOutboundSession(bob.Curve25519Key, fallback.Value).Encrypt(Text(text));
            Assert.Equal(text, Read(bob.CreateInboundSession(alice.Curve25519Key, message).Plaintext));
        }

        bob.GenerateFallbackKey();
        Assert.NotEqual(fallback.Key, bob.UnpublishedFallbackKey!.Value.Key);
        var carol = OlmAccount.Create();
        var toPrevious = carol.CreateOutboundSession(bob.Curve25519Key, fallback.Value).Encrypt(Text("previous"));
        Assert.Equal("previous", Read(bob.CreateInboundSession(carol.Curve25519Key, toPrevious).Plaintext));

        bob.GenerateFallbackKey();
        Assert.Throws<OlmException>(() => bob.CreateInboundSession(carol.Curve25519Key, toPrevious));
    }

    [Fact]
    public void One_time_keys_have_distinct_ids_and_are_unpublished_until_marked()
    {
        var account = OlmAccount.Create();
        account.GenerateOneTimeKeys(3);
        Assert.Equal(3, account.UnpublishedOneTimeKeys.Count);
        Assert.All(account.UnpublishedOneTimeKeys.Values, k => Assert.Equal(32, Base64Unpadded.Decode(k).Length));
        Assert.Equal(32, Base64Unpadded.Decode(account.Curve25519Key).Length);
        Assert.Equal(account.SigningKey.PublicKeyBase64, account.Ed25519Key);
        Assert.True(account.MaxOneTimeKeys > 0);

        account.MarkKeysAsPublished();
        Assert.Empty(account.UnpublishedOneTimeKeys);
        account.GenerateOneTimeKeys(2);
        Assert.Equal(2, account.UnpublishedOneTimeKeys.Count);
    }

    [Fact]
    public void Pickled_mid_conversation_both_sides_carry_on()
    {
        var (aliceAccount, _, alice, bob) = Start();
        Assert.Equal("x", Read(alice.Decrypt(bob.Encrypt(Text("x")))));
        var skipped = alice.Encrypt(Text("skipped"));
        Assert.Equal("y", Read(bob.Decrypt(alice.Encrypt(Text("y")))));
        var pending = bob.Encrypt(Text("pending"));

        alice = RoundTrip(alice);
        bob = RoundTrip(bob);

        Assert.Equal("pending", Read(alice.Decrypt(pending)));
        Assert.Equal("skipped", Read(bob.Decrypt(skipped)));
        Assert.Equal("z", Read(bob.Decrypt(alice.Encrypt(Text("z")))));
        Assert.Equal("w", Read(alice.Decrypt(bob.Encrypt(Text("w")))));

        var json = JsonSerializer.Serialize(aliceAccount.Pickle(), OlmPickleJson.Default.AccountPickle);
        var restored = OlmAccount.Unpickle(JsonSerializer.Deserialize(json, OlmPickleJson.Default.AccountPickle)!);
        Assert.Equal(aliceAccount.Curve25519Key, restored.Curve25519Key);
        Assert.Equal(aliceAccount.Ed25519Key, restored.Ed25519Key);
    }

    [Fact]
    public void A_session_that_has_only_sent_is_pickled_and_carries_on()
    {
        // The bot's session to a device it shares a room key with: it sends, and is stored before any answer.
        var (_, _, alice, bob) = Start();
        var json = JsonSerializer.Serialize(alice.Pickle(), OlmPickleJson.Default.SessionPickle);
        alice = OlmSession.Unpickle(JsonSerializer.Deserialize(json, OlmPickleJson.Default.SessionPickle)!);

        var again = alice.Encrypt(Text("again"));
        Assert.Equal(OlmMessage.PreKeyType, again.Type);
        Assert.Equal("again", Read(bob.Decrypt(again)));
        Assert.Equal("reply", Read(alice.Decrypt(bob.Encrypt(Text("reply")))));
    }

    [Fact]
    public void A_pickled_account_keeps_its_one_time_and_fallback_keys()
    {
        var bob = OlmAccount.Create();
        bob.GenerateOneTimeKeys(2);
        bob.GenerateFallbackKey();
        var oneTimeKey = bob.UnpublishedOneTimeKeys.Values.First();
        var fallback = bob.UnpublishedFallbackKey!.Value.Value;
        var json = JsonSerializer.Serialize(bob.Pickle(), OlmPickleJson.Default.AccountPickle);
        var restored = OlmAccount.Unpickle(JsonSerializer.Deserialize(json, OlmPickleJson.Default.AccountPickle)!);

        Assert.Equal(bob.UnpublishedOneTimeKeys, restored.UnpublishedOneTimeKeys);
        Assert.Equal(bob.UnpublishedFallbackKey, restored.UnpublishedFallbackKey);
        var alice = OlmAccount.Create();
        foreach (var key in new[] { oneTimeKey, fallback })
        {
            var message = alice.CreateOutboundSession(restored.Curve25519Key, key).Encrypt(Text(key));
            Assert.Equal(key, Read(restored.CreateInboundSession(alice.Curve25519Key, message).Plaintext));
        }
    }

    private static OlmSession RoundTrip(OlmSession session)
    {
        var json = JsonSerializer.Serialize(session.Pickle(), OlmPickleJson.Default.SessionPickle);
        return OlmSession.Unpickle(JsonSerializer.Deserialize(json, OlmPickleJson.Default.SessionPickle)!);
    }
}
