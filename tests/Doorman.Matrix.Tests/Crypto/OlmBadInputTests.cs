using Doorman.Matrix.Crypto;
using Doorman.Matrix.Crypto.Olm;

namespace Doorman.Matrix.Tests.Crypto;

/// <summary>Malformed Olm input from other parties: always an <see cref="OlmException"/>, never another exception, and no harm done.</summary>
public class OlmBadInputTests
{
    private static readonly byte[] SomeKey = [.. Enumerable.Range(1, 32).Select(i => (byte)i)];

    /// <summary>An established session pair and one genuine normal message Bob has not read yet.</summary>
    private static (OlmAccount Alice, OlmAccount Bob, OlmSession AliceSession, OlmSession BobSession, OlmMessage Genuine) Start()
    {
        var alice = OlmAccount.Create();
        var bob = OlmAccount.Create();
        bob.GenerateOneTimeKeys(1);
        var aliceSession = alice.CreateOutboundSession(bob.Curve25519Key, bob.UnpublishedOneTimeKeys.Values.Single());
        var bobSession = bob.CreateInboundSession(alice.Curve25519Key, aliceSession.Encrypt("hi"u8)).Session;
        aliceSession.Decrypt(bobSession.Encrypt("hi"u8));
        bobSession.Decrypt(aliceSession.Encrypt("opens the chain the genuine message is on"u8));
        var genuine = aliceSession.Encrypt("genuine"u8);
        Assert.Equal(OlmMessage.NormalType, genuine.Type);
        return (alice, bob, aliceSession, bobSession, genuine);
    }

    public static TheoryData<string> NormalMessageForgeries =>
    [
        "not base64", "empty body", "wrong version 2", "wrong version 4", "version only", "truncated in the ratchet key",
        "truncated before the MAC", "bad MAC", "MAC one byte short", "unknown type", "short ratchet key", "no ciphertext",
        "unsupported wire type", "varint too long", "field length past the end", "pre-key body as normal", "tag zero",
    ];

    private static OlmMessage Forge(string how, OlmMessage genuine, OlmMessage preKey)
    {
        var bytes = Base64Unpadded.Decode(genuine.Body);
        byte[] mac = [.. bytes[^8..]];
        return how switch
        {
            "not base64" => genuine with { Body = "this is %% not base64!" },
            "empty body" => genuine with { Body = "" },
            "wrong version 2" => genuine with { Body = Base64Unpadded.Encode([2, .. bytes[1..]]) },
            "wrong version 4" => genuine with { Body = Base64Unpadded.Encode([4, .. bytes[1..]]) },
            "version only" => genuine with { Body = Base64Unpadded.Encode([3]) },
            "truncated in the ratchet key" => genuine with { Body = Base64Unpadded.Encode(bytes.AsSpan(..20)) },
            "truncated before the MAC" => genuine with { Body = Base64Unpadded.Encode(bytes.AsSpan(..^8)) },
            "bad MAC" => genuine with { Body = Base64Unpadded.Encode([.. bytes[..^1], (byte)(bytes[^1] ^ 0x80)]) },
            "MAC one byte short" => genuine with { Body = Base64Unpadded.Encode(bytes.AsSpan(..^1)) },
            "unknown type" => genuine with { Type = 2 },
            "short ratchet key" => genuine with { Body = Base64Unpadded.Encode([3, 0x0A, 5, 1, 2, 3, 4, 5, 0x10, 0, 0x22, 16, .. new byte[16], .. mac]) },
            "no ciphertext" => genuine with { Body = Base64Unpadded.Encode([3, 0x0A, 32, .. SomeKey, 0x10, 0, .. mac]) },
            "unsupported wire type" => genuine with { Body = Base64Unpadded.Encode([3, 0x0D, 1, 2, 3, 4, .. mac]) },
            "varint too long" => genuine with { Body = Base64Unpadded.Encode([3, 0x10, .. Enumerable.Repeat((byte)0xFF, 11), 0x01, .. mac]) },
            "field length past the end" => genuine with { Body = Base64Unpadded.Encode([3, 0x22, 0x7F, 1, 2, .. mac]) },
            "pre-key body as normal" => genuine with { Body = preKey.Body },
            "tag zero" => genuine with { Body = Base64Unpadded.Encode([3, 0x02, 0, .. mac]) },
            _ => throw new ArgumentOutOfRangeException(nameof(how)),
        };
    }

    [Theory]
    [MemberData(nameof(NormalMessageForgeries))]
    public void A_malformed_message_is_an_OlmException_and_the_genuine_one_still_decrypts(string how)
    {
        var (alice, bob, aliceSession, bobSession, genuine) = Start();
        var preKey = OlmAccount.Create().CreateOutboundSession(bob.Curve25519Key, alice.Curve25519Key).Encrypt("x"u8);

        Assert.Throws<OlmException>(() => bobSession.Decrypt(Forge(how, genuine, preKey)));

        Assert.Equal("genuine"u8.ToArray(), bobSession.Decrypt(genuine));
        Assert.Equal("on"u8.ToArray(), aliceSession.Decrypt(bobSession.Encrypt("on"u8)));
    }

    public static TheoryData<string> PreKeyForgeries =>
    [
        "normal type", "not base64", "wrong version", "truncated", "missing inner message", "short one-time key",
        "inner message truncated", "bad inner MAC", "unknown one-time key", "another sender", "sender key not base64",
    ];

    [Theory]
    [MemberData(nameof(PreKeyForgeries))]
    public void A_malformed_pre_key_message_is_an_OlmException_and_the_one_time_key_stays(string how)
    {
        var alice = OlmAccount.Create();
        var bob = OlmAccount.Create();
        bob.GenerateOneTimeKeys(1);
        var oneTimeKey = bob.UnpublishedOneTimeKeys.Values.Single();
        var first = alice.CreateOutboundSession(bob.Curve25519Key, oneTimeKey).Encrypt("first"u8);
        var bytes = Base64Unpadded.Decode(first.Body);
        var sender = alice.Curve25519Key;
        OlmMessage forged = how switch
        {
            "normal type" => first with { Type = OlmMessage.NormalType },
            "not base64" => first with { Body = "@@@" },
            "wrong version" => first with { Body = Base64Unpadded.Encode([4, .. bytes[1..]]) },
            "truncated" => first with { Body = Base64Unpadded.Encode(bytes.AsSpan(..50)) },
            "missing inner message" => first with { Body = Base64Unpadded.Encode(bytes.AsSpan(..(1 + 3 * 34))) },
            "short one-time key" => first with { Body = Base64Unpadded.Encode([3, 0x0A, 31, .. bytes[3..34], .. bytes[35..]]) },
            "inner message truncated" => first with { Body = Base64Unpadded.Encode([.. bytes[..(1 + 3 * 34)], 0x22, 10, .. bytes[(1 + 3 * 34 + 2)..][..10]]) },
            "bad inner MAC" => first with { Body = Base64Unpadded.Encode([.. bytes[..^1], (byte)(bytes[^1] ^ 1)]) },
            "unknown one-time key" => OlmAccount.Create().CreateOutboundSession(bob.Curve25519Key, OlmAccount.Create().Curve25519Key).Encrypt("x"u8),
            "another sender" => first,
            "sender key not base64" => first,
            _ => throw new ArgumentOutOfRangeException(nameof(how)),
        };
        if (how == "another sender")
            sender = OlmAccount.Create().Curve25519Key;
        if (how == "sender key not base64")
            sender = "!!";

        Assert.Throws<OlmException>(() => bob.CreateInboundSession(sender, forged));

        Assert.Equal("first"u8.ToArray(), bob.CreateInboundSession(alice.Curve25519Key, first).Plaintext);
    }

    [Theory]
    [InlineData("not base64 at all!")]
    [InlineData("AAAA")]
    [InlineData("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    public void A_bad_one_time_key_for_an_outbound_session_is_an_OlmException(string oneTimeKey)
    {
        var alice = OlmAccount.Create();
        var bob = OlmAccount.Create();

        Assert.Throws<OlmException>(() => alice.CreateOutboundSession(bob.Curve25519Key, oneTimeKey));
        Assert.Throws<OlmException>(() => alice.CreateOutboundSession(oneTimeKey, bob.Curve25519Key));
    }

    [Fact]
    public void Matching_a_malformed_or_normal_message_is_an_OlmException()
    {
        var (alice, _, _, bobSession, genuine) = Start();

        Assert.Throws<OlmException>(() => bobSession.MatchesInbound(alice.Curve25519Key, genuine));
        Assert.Throws<OlmException>(() => bobSession.MatchesInbound(alice.Curve25519Key, new OlmMessage(0, "@@")));
        Assert.Throws<OlmException>(() => bobSession.MatchesInbound(alice.Curve25519Key, new OlmMessage(0, "Aw")));
    }

    [Fact]
    public void A_pickle_with_a_key_of_the_wrong_size_is_an_OlmException()
    {
        var (alice, _, aliceSession, _, _) = Start();

        Assert.Throws<OlmException>(() => OlmSession.Unpickle(aliceSession.Pickle() with { RootKey = new byte[31] }));
        Assert.Throws<OlmException>(() => OlmSession.Unpickle(aliceSession.Pickle() with { SenderChain = null, RemoteRatchetKey = null }));
        Assert.Throws<OlmException>(() => OlmAccount.Unpickle(alice.Pickle() with { Curve25519PrivateKey = [1, 2, 3] }));
    }
}
