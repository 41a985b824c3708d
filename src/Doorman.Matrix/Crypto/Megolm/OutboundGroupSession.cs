namespace Doorman.Matrix.Crypto.Megolm;

/// <summary>
/// The sending side of a Megolm session (spec: Megolm "Session setup", "Message encryption"): a ratchet and an
/// Ed25519 key whose public half is the session id. Share <see cref="SessionKey"/> over Olm in an
/// <c>m.room_key</c> event (CS API "End-to-End Encryption", <c>m.megolm.v1.aes-sha2</c>) before sending.
/// </summary>
public sealed class OutboundGroupSession
{
    private readonly MegolmRatchet _ratchet;
    private readonly Ed25519KeyPair _signingKey;

    private OutboundGroupSession(MegolmRatchet ratchet, Ed25519KeyPair signingKey)
    {
        _ratchet = ratchet;
        _signingKey = signingKey;
    }

    public static OutboundGroupSession Create() => new(MegolmRatchet.Create(), Ed25519KeyPair.Generate());

    /// <summary>The Ed25519 public key, unpadded base64, as libolm and vodozemac name the session.</summary>
    public string SessionId => _signingKey.PublicKeyBase64;

    /// <summary>The index the next message is encrypted at.</summary>
    public uint MessageIndex => _ratchet.Index;

    /// <summary>The session sharing format (version 2, signed) at the current index: who receives it can
    /// decrypt this message index and every later one.</summary>
    public string SessionKey() => MegolmSessionKeys.WriteSharing(_ratchet, _signingKey);

    /// <summary>Encrypts at <see cref="MessageIndex"/>, then advances the ratchet so no key is used twice.</summary>
    public string Encrypt(ReadOnlySpan<byte> plaintext)
    {
        var message = MegolmMessage.Encrypt(_ratchet, _signingKey, plaintext);
        _ratchet.Advance();
        return Base64Unpadded.Encode(message);
    }

    public GroupSessionPickle Pickle() => new(
        Base64Unpadded.Encode(_ratchet.Bytes), _ratchet.Index, SessionId, Base64Unpadded.Encode(_signingKey.ExportSeed()));

    public static OutboundGroupSession Unpickle(GroupSessionPickle pickle)
    {
        ArgumentNullException.ThrowIfNull(pickle);
        var seed = Base64Unpadded.TryDecode(pickle.SigningSeed);
        if (seed is not { Length: Ed25519KeyPair.KeySize })
            throw new MegolmException("The outbound Megolm pickle has no 32-byte signing seed.");
        var signingKey = new Ed25519KeyPair(seed);
        if (signingKey.PublicKeyBase64 != pickle.SigningKey)
            throw new MegolmException("The outbound Megolm pickle's signing seed does not give its signing key.");
        return new OutboundGroupSession(pickle.ReadRatchet(), signingKey);
    }
}
