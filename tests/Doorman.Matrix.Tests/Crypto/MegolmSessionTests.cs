using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using Doorman.Matrix.Crypto;
using Doorman.Matrix.Crypto.Megolm;

namespace Doorman.Matrix.Tests.Crypto;

public class MegolmSessionTests
{
    [Fact]
    public void Many_messages_round_trip_in_order_out_of_order_and_twice()
    {
        var outbound = OutboundGroupSession.Create();
        var inbound = InboundGroupSession.FromSessionKey(outbound.SessionKey());
        var messages = Enumerable.Range(0, 300).Select(i => outbound.Encrypt(Text($"message {i}"))).ToList();

        Assert.Equal(outbound.SessionId, inbound.SessionId);
        Assert.Equal(outbound.SessionId, inbound.SigningKey);
        Assert.Equal(300u, outbound.MessageIndex);
        foreach (var i in new[] { 0, 1, 2, 299, 5, 257, 256, 3, 299, 0 })
        {
            var decrypted = inbound.Decrypt(messages[i]);
            Assert.Equal($"message {i}", Encoding.UTF8.GetString(decrypted.Plaintext));
            Assert.Equal((uint)i, decrypted.MessageIndex);
        }
        Assert.Equal(0u, inbound.FirstKnownIndex);
    }

    [Fact]
    public void A_session_key_shared_later_decrypts_from_its_index_and_not_before()
    {
        var outbound = OutboundGroupSession.Create();
        var early = outbound.Encrypt(Text("before"));
        var inbound = InboundGroupSession.FromSessionKey(outbound.SessionKey());
        var late = outbound.Encrypt(Text("after"));

        Assert.Equal(1u, inbound.FirstKnownIndex);
        Assert.Equal("after", Encoding.UTF8.GetString(inbound.Decrypt(late).Plaintext));
        Assert.Throws<MegolmException>(() => inbound.Decrypt(early));
    }

    [Fact]
    public void An_export_decrypts_from_its_index_on_and_nothing_earlier()
    {
        var outbound = OutboundGroupSession.Create();
        var inbound = InboundGroupSession.FromSessionKey(outbound.SessionKey());
        var messages = Enumerable.Range(0, 10).Select(i => outbound.Encrypt(Text($"m{i}"))).ToList();

        var imported = InboundGroupSession.Import(inbound.Export(4));

        Assert.Equal(4u, imported.FirstKnownIndex);
        Assert.Equal(inbound.SessionId, imported.SessionId);
        Assert.Equal("m4", Encoding.UTF8.GetString(imported.Decrypt(messages[4]).Plaintext));
        Assert.Equal("m9", Encoding.UTF8.GetString(imported.Decrypt(messages[9]).Plaintext));
        Assert.Throws<MegolmException>(() => imported.Decrypt(messages[3]));
        Assert.Throws<MegolmException>(() => imported.Export(3));
        // The original still holds index 0 after exporting at 4.
        Assert.Equal("m0", Encoding.UTF8.GetString(inbound.Decrypt(messages[0]).Plaintext));
    }

    [Fact]
    public void A_message_re_signed_by_another_key_is_refused()
    {
        var outbound = OutboundGroupSession.Create();
        var inbound = InboundGroupSession.FromSessionKey(outbound.SessionKey());
        var message = Base64Unpadded.Decode(outbound.Encrypt(Text("hello")));

        var forger = Ed25519KeyPair.Generate();
        var signed = message[..^64];
        var forged = Base64Unpadded.Encode([.. signed, .. forger.Sign(signed)]);

        var error = Assert.Throws<MegolmException>(() => inbound.Decrypt(forged));
        Assert.Contains("signature", error.Message);
        Assert.Equal("hello", Encoding.UTF8.GetString(inbound.Decrypt(Base64Unpadded.Encode(message)).Plaintext));
    }

    [Fact]
    public void A_message_with_any_byte_flipped_is_refused()
    {
        var outbound = OutboundGroupSession.Create();
        var inbound = InboundGroupSession.FromSessionKey(outbound.SessionKey());
        var message = Base64Unpadded.Decode(outbound.Encrypt(Text("hello, room")));

        for (var i = 0; i < message.Length; i++)
        {
            var flipped = (byte[])message.Clone();
            flipped[i] ^= 0x01;
            Assert.Throws<MegolmException>(() => inbound.Decrypt(Base64Unpadded.Encode(flipped)));
        }
    }

    [Fact]
    public void A_message_signed_by_the_session_but_with_a_bad_mac_is_refused_for_its_mac()
    {
        // Only the holder of the signing key can make this: it proves the MAC is checked, not only the signature.
        var outbound = OutboundGroupSession.Create();
        var pickle = outbound.Pickle();
        var signingKey = new Ed25519KeyPair(Base64Unpadded.Decode(pickle.SigningSeed!));
        var inbound = InboundGroupSession.FromSessionKey(outbound.SessionKey());
        var message = Base64Unpadded.Decode(outbound.Encrypt(Text("hello")));

        var unsigned = message[..^64];
        unsigned[^1] ^= 0x80;
        var badMac = Base64Unpadded.Encode([.. unsigned, .. signingKey.Sign(unsigned)]);

        var error = Assert.Throws<MegolmException>(() => inbound.Decrypt(badMac));
        Assert.Contains("MAC", error.Message);
    }

    [Fact]
    public void A_session_key_with_a_bad_signature_is_refused()
    {
        var outbound = OutboundGroupSession.Create();
        var key = Base64Unpadded.Decode(outbound.SessionKey());

        var otherRatchet = (byte[])key.Clone();
        otherRatchet[10] ^= 0x01;
        var forger = Ed25519KeyPair.Generate();
        var otherSigner = (byte[])key.Clone();
        forger.Sign(key.AsSpan(0, 165)).CopyTo(otherSigner, 165);

        Assert.Throws<MegolmException>(() => InboundGroupSession.FromSessionKey(Base64Unpadded.Encode(otherRatchet)));
        Assert.Throws<MegolmException>(() => InboundGroupSession.FromSessionKey(Base64Unpadded.Encode(otherSigner)));
        Assert.Equal(outbound.SessionId, InboundGroupSession.FromSessionKey(Base64Unpadded.Encode(key)).SessionId);
    }

    [Fact]
    public void The_session_key_names_its_index_and_key_in_the_sharing_format()
    {
        var outbound = OutboundGroupSession.Create();
        outbound.Encrypt(Text("one"));
        outbound.Encrypt(Text("two"));

        var key = Base64Unpadded.Decode(outbound.SessionKey());

        Assert.Equal(229, key.Length);
        Assert.Equal(2, key[0]);
        Assert.Equal(2u, BinaryPrimitives.ReadUInt32BigEndian(key.AsSpan(1)));
        Assert.Equal(outbound.SessionId, Base64Unpadded.Encode(key.AsSpan(133, 32)));
    }

    [Fact]
    public void An_outbound_session_unpickled_continues_at_its_index()
    {
        var outbound = OutboundGroupSession.Create();
        var inbound = InboundGroupSession.FromSessionKey(outbound.SessionKey());
        outbound.Encrypt(Text("zero"));
        outbound.Encrypt(Text("one"));

        var json = JsonSerializer.Serialize(outbound.Pickle(), MegolmPickleJson.Default.GroupSessionPickle);
        var restored = OutboundGroupSession.Unpickle(JsonSerializer.Deserialize(json, MegolmPickleJson.Default.GroupSessionPickle)!);
        var message = restored.Encrypt(Text("two"));

        Assert.Contains("\"signing_seed\"", json);
        Assert.Equal(outbound.SessionId, restored.SessionId);
        Assert.Equal(3u, restored.MessageIndex);
        var decrypted = inbound.Decrypt(message);
        Assert.Equal(2u, decrypted.MessageIndex);
        Assert.Equal("two", Encoding.UTF8.GetString(decrypted.Plaintext));
    }

    [Fact]
    public void An_inbound_session_unpickled_still_decrypts_from_its_first_known_index()
    {
        var outbound = OutboundGroupSession.Create();
        outbound.Encrypt(Text("unknown"));
        var inbound = InboundGroupSession.FromSessionKey(outbound.SessionKey());
        var messages = Enumerable.Range(1, 5).Select(i => outbound.Encrypt(Text($"m{i}"))).ToList();
        inbound.Decrypt(messages[^1]);

        var json = JsonSerializer.Serialize(inbound.Pickle(), MegolmPickleJson.Default.GroupSessionPickle);
        var restored = InboundGroupSession.Unpickle(JsonSerializer.Deserialize(json, MegolmPickleJson.Default.GroupSessionPickle)!);

        Assert.Equal(1u, restored.FirstKnownIndex);
        Assert.Equal(inbound.SessionId, restored.SessionId);
        Assert.Equal("m1", Encoding.UTF8.GetString(restored.Decrypt(messages[0]).Plaintext));
        Assert.Equal("m5", Encoding.UTF8.GetString(restored.Decrypt(messages[4]).Plaintext));
    }

    [Fact]
    public void Pickles_that_do_not_fit_their_session_are_refused()
    {
        var outbound = OutboundGroupSession.Create().Pickle();
        var inbound = InboundGroupSession.FromSessionKey(OutboundGroupSession.Create().SessionKey()).Pickle();

        Assert.Throws<MegolmException>(() => OutboundGroupSession.Unpickle(inbound));
        Assert.Throws<MegolmException>(() => InboundGroupSession.Unpickle(outbound));
        Assert.Throws<MegolmException>(() => OutboundGroupSession.Unpickle(outbound with { SigningKey = inbound.SigningKey }));
        Assert.Throws<MegolmException>(() => InboundGroupSession.Unpickle(inbound with { Ratchet = "AAAA" }));
        Assert.Throws<MegolmException>(() => InboundGroupSession.Unpickle(inbound with { SigningKey = "not base64!" }));
    }

    public static TheoryData<string, string> MalformedMessages()
    {
        var outbound = OutboundGroupSession.Create();
        var good = Base64Unpadded.Decode(outbound.Encrypt(Text("hello")));
        byte[] With(byte[] payload) => [.. payload, .. new byte[8 + 64]];
        var wrongVersion = (byte[])good.Clone();
        wrongVersion[0] = 4;
        return new TheoryData<string, string>
        {
            { "empty", "" },
            { "not base64", "%%%%" },
            { "4n+1 characters", "AAAAA" },
            { "version only", Base64Unpadded.Encode([3]) },
            { "wrong version", Base64Unpadded.Encode(wrongVersion) },
            { "shorter than MAC and signature", Base64Unpadded.Encode(good.AsSpan(0, 60)) },
            { "truncated varint", Base64Unpadded.Encode(With([3, 0x08, 0x80])) },
            { "index over 32 bits", Base64Unpadded.Encode(With([3, 0x08, 0x80, 0x80, 0x80, 0x80, 0x10, 0x12, 0x00])) },
            { "ciphertext longer than the payload", Base64Unpadded.Encode(With([3, 0x08, 0x00, 0x12, 0x10, 0xAA])) },
            { "no ciphertext", Base64Unpadded.Encode(With([3, 0x08, 0x05])) },
            { "no index", Base64Unpadded.Encode(With([3, 0x12, 0x01, 0xAA])) },
            { "unsupported wire type", Base64Unpadded.Encode(With([3, 0x0D, 1, 2, 3, 4])) },
            { "zero signature", Base64Unpadded.Encode([.. good[..^64], .. new byte[64]]) },
            { "truncated signature", Base64Unpadded.Encode(good.AsSpan(..^1)) },
        };
    }

    [Theory]
    [MemberData(nameof(MalformedMessages))]
    public void Malformed_messages_are_refused_with_a_megolm_exception(string form, string message)
    {
        var inbound = InboundGroupSession.FromSessionKey(OutboundGroupSession.Create().SessionKey());

        var error = Record.Exception(() => inbound.Decrypt(message));

        Assert.True(error is MegolmException, $"{form}: {error?.GetType().Name ?? "no exception"}");
    }

    public static TheoryData<string, string> MalformedSessionKeys()
    {
        var key = Base64Unpadded.Decode(OutboundGroupSession.Create().SessionKey());
        var export = Base64Unpadded.Decode(InboundGroupSession.FromSessionKey(Base64Unpadded.Encode(key)).Export(0));
        return new TheoryData<string, string>
        {
            { "empty", "" },
            { "not base64", "@@@@" },
            { "export where a session key belongs", Base64Unpadded.Encode(export) },
            { "version 3", Base64Unpadded.Encode([3, .. key[1..]]) },
            { "truncated", Base64Unpadded.Encode(key.AsSpan(..^1)) },
            { "trailing byte", Base64Unpadded.Encode([.. key, 0]) },
        };
    }

    [Theory]
    [MemberData(nameof(MalformedSessionKeys))]
    public void Malformed_session_keys_are_refused_with_a_megolm_exception(string form, string key)
    {
        var error = Record.Exception(() => InboundGroupSession.FromSessionKey(key));

        Assert.True(error is MegolmException, $"{form}: {error?.GetType().Name ?? "no exception"}");
    }

    public static TheoryData<string, string> MalformedExports()
    {
        var key = Base64Unpadded.Decode(OutboundGroupSession.Create().SessionKey());
        var export = Base64Unpadded.Decode(InboundGroupSession.FromSessionKey(Base64Unpadded.Encode(key)).Export(0));
        return new TheoryData<string, string>
        {
            { "empty", "" },
            { "not base64", "!!" },
            { "session key where an export belongs", Base64Unpadded.Encode(key) },
            { "version 2", Base64Unpadded.Encode([2, .. export[1..]]) },
            { "truncated", Base64Unpadded.Encode(export.AsSpan(..^1)) },
        };
    }

    [Theory]
    [MemberData(nameof(MalformedExports))]
    public void Malformed_exports_are_refused_with_a_megolm_exception(string form, string export)
    {
        var error = Record.Exception(() => InboundGroupSession.Import(export));

        Assert.True(error is MegolmException, $"{form}: {error?.GetType().Name ?? "no exception"}");
    }

    private static byte[] Text(string text) => Encoding.UTF8.GetBytes(text);
}
