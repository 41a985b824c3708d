namespace Doorman.Matrix.Crypto.Olm;

/// <summary>
/// A pre-key Olm message (spec: Olm, "Pre-key message format"): version 3, then the one-time key (tag 1), the
/// sender's base key (tag 2), the sender's identity key (tag 3) and an encoded normal message (tag 4). It has no
/// MAC of its own; the inner message's MAC covers the content.
/// </summary>
internal sealed class PreKeyMessage
{
    public const byte Version = 3;

    private PreKeyMessage(SessionKeys keys, byte[] innerBytes, NormalMessage inner)
    {
        Keys = keys;
        InnerBytes = innerBytes;
        Inner = inner;
    }

    public SessionKeys Keys { get; }

    public byte[] InnerBytes { get; }

    public NormalMessage Inner { get; }

    public static byte[] Encode(SessionKeys keys, ReadOnlySpan<byte> inner)
    {
        var output = new List<byte> { Version };
        OlmWire.WriteBytesField(output, 1, keys.OneTimeKey);
        OlmWire.WriteBytesField(output, 2, keys.BaseKey);
        OlmWire.WriteBytesField(output, 3, keys.IdentityKey);
        OlmWire.WriteBytesField(output, 4, inner);
        return [.. output];
    }

    public static PreKeyMessage Decode(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length == 0)
            throw new OlmException("Malformed Olm pre-key message: empty.");
        if (bytes[0] != Version)
            throw new OlmException($"Unsupported Olm pre-key message version {bytes[0]}.");
        byte[]? oneTimeKey = null, baseKey = null, identityKey = null, inner = null;
        foreach (var field in OlmWire.ReadFields(bytes[1..]))
        {
            if (field.Tag is >= 1 and <= 4 && field.Bytes is null)
                throw new OlmException($"Malformed Olm pre-key message: field {field.Tag} of the wrong type.");
            switch (field.Tag)
            {
                case 1: oneTimeKey = field.Bytes; break;
                case 2: baseKey = field.Bytes; break;
                case 3: identityKey = field.Bytes; break;
                case 4: inner = field.Bytes; break;
            }
        }
        if (oneTimeKey is not { Length: Curve25519KeyPair.KeySize }
            || baseKey is not { Length: Curve25519KeyPair.KeySize }
            || identityKey is not { Length: Curve25519KeyPair.KeySize })
            throw new OlmException("Malformed Olm pre-key message: missing or invalid keys.");
        if (inner is null)
            throw new OlmException("Malformed Olm pre-key message: missing inner message.");
        return new PreKeyMessage(new SessionKeys(identityKey, baseKey, oneTimeKey), inner, NormalMessage.Decode(inner));
    }

    /// <summary>Decodes either kind to the normal message inside (a pre-key message carries one).</summary>
    public static NormalMessage DecodeAny(OlmMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var bytes = OlmWire.DecodeBody(message.Body);
        return message.Type switch
        {
            OlmMessage.PreKeyType => Decode(bytes).Inner,
            OlmMessage.NormalType => NormalMessage.Decode(bytes),
            _ => throw new OlmException($"Unknown Olm message type {message.Type}."),
        };
    }

    public static PreKeyMessage DecodePreKey(OlmMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (message.Type != OlmMessage.PreKeyType)
            throw new OlmException($"Expected an Olm pre-key message (type 0), got type {message.Type}.");
        return Decode(OlmWire.DecodeBody(message.Body));
    }
}
