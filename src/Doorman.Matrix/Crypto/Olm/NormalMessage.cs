namespace Doorman.Matrix.Crypto.Olm;

/// <summary>
/// A normal Olm message (spec: Olm, "Normal message format"): version 3, then ratchet key (tag 1, bytes),
/// chain index (tag 2, varint), ciphertext (tag 4, bytes), then an 8-byte MAC over everything before it.
/// </summary>
internal sealed class NormalMessage
{
    public const byte Version = 3;
    public const int MacSize = 8;

    private NormalMessage(byte[] ratchetKey, ulong chainIndex, byte[] ciphertext, byte[] macInput, byte[] mac)
    {
        RatchetKey = ratchetKey;
        ChainIndex = chainIndex;
        Ciphertext = ciphertext;
        MacInput = macInput;
        Mac = mac;
    }

    public byte[] RatchetKey { get; }

    public ulong ChainIndex { get; }

    public byte[] Ciphertext { get; }

    /// <summary>The bytes the MAC covers, as received (libolm also MACs the received bytes, not a re-encoding).</summary>
    public byte[] MacInput { get; }

    public byte[] Mac { get; }

    /// <summary>Encrypts with a message key and encodes, MAC included.</summary>
    public static byte[] Encrypt(ReadOnlySpan<byte> messageKey, ReadOnlySpan<byte> ratchetKey, ulong chainIndex, ReadOnlySpan<byte> plaintext)
    {
        var cipher = AesSha2.FromSecret(messageKey, AesSha2.OlmKeysInfo);
        var ciphertext = cipher.Encrypt(plaintext);
        var output = new List<byte> { Version };
        OlmWire.WriteBytesField(output, 1, ratchetKey);
        OlmWire.WriteVarintField(output, 2, chainIndex);
        OlmWire.WriteBytesField(output, 4, ciphertext);
        var encoded = output.ToArray();
        return [.. encoded, .. cipher.Mac(encoded)];
    }

    public static NormalMessage Decode(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length == 0)
            throw new OlmException("Malformed Olm message: empty.");
        if (bytes[0] != Version)
            throw new OlmException($"Unsupported Olm message version {bytes[0]}.");
        if (bytes.Length < 1 + MacSize)
            throw new OlmException("Malformed Olm message: too short for its MAC.");
        var body = bytes[..^MacSize];
        byte[]? ratchetKey = null;
        byte[]? ciphertext = null;
        ulong chainIndex = 0;
        foreach (var field in OlmWire.ReadFields(body[1..]))
        {
            switch (field.Tag)
            {
                case 1 when field.Bytes is not null: ratchetKey = field.Bytes; break;
                case 2 when field.Bytes is null: chainIndex = field.Value; break;
                case 4 when field.Bytes is not null: ciphertext = field.Bytes; break;
                case 1 or 2 or 4: throw new OlmException($"Malformed Olm message: field {field.Tag} of the wrong type.");
            }
        }
        if (ratchetKey is not { Length: Curve25519KeyPair.KeySize })
            throw new OlmException("Malformed Olm message: missing or invalid ratchet key.");
        if (ciphertext is null)
            throw new OlmException("Malformed Olm message: missing ciphertext.");
        return new NormalMessage(ratchetKey, chainIndex, ciphertext, body.ToArray(), bytes[^MacSize..].ToArray());
    }

    /// <summary>Checks the MAC, then decrypts: a forged message never reaches the cipher.</summary>
    public byte[] Decrypt(ReadOnlySpan<byte> messageKey)
    {
        var cipher = AesSha2.FromSecret(messageKey, AesSha2.OlmKeysInfo);
        if (!cipher.VerifyMac(MacInput, Mac))
            throw new OlmException("Bad Olm message MAC.");
        try
        {
            return cipher.Decrypt(Ciphertext);
        }
        catch (System.Security.Cryptography.CryptographicException)
        {
            throw new OlmException("Olm message ciphertext does not decrypt (bad padding or length).");
        }
    }
}
