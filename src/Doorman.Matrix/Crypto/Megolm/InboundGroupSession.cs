using System.Security.Cryptography;

namespace Doorman.Matrix.Crypto.Megolm;

/// <summary>
/// The receiving side of a Megolm session. It keeps the earliest ratchet it was given, so it decrypts any index
/// from <see cref="FirstKnownIndex"/> on in any order, and a second ratchet at the latest index asked for, so
/// messages in order cost one step each (spec: Megolm "Advancing the ratchet": inbound sessions keep their
/// earliest known ratchet value).
/// </summary>
public sealed class InboundGroupSession
{
    private readonly MegolmRatchet _initial;
    private readonly byte[] _signingKey;
    private MegolmRatchet _latest;

    private InboundGroupSession(MegolmRatchet initial, byte[] signingKey)
    {
        _initial = initial;
        _latest = initial.Clone();
        _signingKey = signingKey;
    }

    /// <summary>From the session sharing format of an <c>m.room_key</c>; its signature must match its key.</summary>
    public static InboundGroupSession FromSessionKey(string sessionKey)
    {
        ArgumentNullException.ThrowIfNull(sessionKey);
        var (ratchet, signingKey) = MegolmSessionKeys.ReadSharing(sessionKey);
        return new InboundGroupSession(ratchet, signingKey);
    }

    /// <summary>
    /// From the session export format (<c>m.forwarded_room_key</c>, key backup, key export). It carries no
    /// signature: the key's authenticity is only as good as whoever forwarded it.
    /// </summary>
    public static InboundGroupSession Import(string exportedKey)
    {
        ArgumentNullException.ThrowIfNull(exportedKey);
        var (ratchet, signingKey) = MegolmSessionKeys.ReadExport(exportedKey);
        return new InboundGroupSession(ratchet, signingKey);
    }

    public string SessionId => Base64Unpadded.Encode(_signingKey);

    /// <summary>The sender's Ed25519 key for this session, unpadded base64 (the same as <see cref="SessionId"/>).</summary>
    public string SigningKey => SessionId;

    public uint FirstKnownIndex => _initial.Index;

    /// <summary>
    /// Checks the signature, then the MAC, then decrypts. An index before <see cref="FirstKnownIndex"/> cannot be
    /// decrypted. The same message decrypts every time it is given: replay protection (spec: Megolm "Message
    /// Replays") is the caller's, by remembering which event each (session, index) came from.
    /// </summary>
    public MegolmDecryption Decrypt(string ciphertext)
    {
        ArgumentNullException.ThrowIfNull(ciphertext);
        var message = MegolmMessage.Parse(ciphertext);
        if (!Ed25519KeyPair.Verify(_signingKey, message.SignatureInput, message.Signature))
            throw new MegolmException("The Megolm message's signature does not match the session's key.");

        var cipher = AesSha2.FromSecret(RatchetAt(message.MessageIndex).Bytes, AesSha2.MegolmKeysInfo);
        if (!cipher.VerifyMac(message.MacInput, message.Mac))
            throw new MegolmException("The Megolm message's MAC does not match.");
        try
        {
            return new MegolmDecryption(cipher.Decrypt(message.Ciphertext), message.MessageIndex);
        }
        catch (CryptographicException)
        {
            throw new MegolmException("The Megolm message's ciphertext has bad padding.");
        }
    }

    /// <summary>The session export format at <paramref name="index"/> (≥ <see cref="FirstKnownIndex"/>), for
    /// forwarding: who receives it decrypts from that index on, and nothing earlier.</summary>
    public string Export(uint index) => MegolmSessionKeys.WriteExport(RatchetAt(index), _signingKey);

    /// <summary>Keeps the earliest ratchet only; the latest is a cache that rebuilds itself.</summary>
    public GroupSessionPickle Pickle() => new(Base64Unpadded.Encode(_initial.Bytes), _initial.Index, SessionId, null);

    public static InboundGroupSession Unpickle(GroupSessionPickle pickle)
    {
        ArgumentNullException.ThrowIfNull(pickle);
        if (pickle.SigningSeed is not null)
            throw new MegolmException("This Megolm pickle is an outbound session's.");
        var signingKey = Base64Unpadded.TryDecode(pickle.SigningKey);
        if (signingKey is not { Length: Ed25519KeyPair.KeySize })
            throw new MegolmException("The Megolm pickle's signing key is not 32 bytes of base64.");
        return new InboundGroupSession(pickle.ReadRatchet(), signingKey);
    }

    private MegolmRatchet RatchetAt(uint index)
    {
        if (index < _initial.Index)
            throw new MegolmException($"Megolm index {index} is before this session's first known index {_initial.Index}.");
        if (index == _initial.Index)
            return _initial;
        if (index < _latest.Index)
            _latest = _initial.Clone();
        _latest.AdvanceTo(index);
        return _latest;
    }
}
