namespace Doorman.Matrix.Crypto.Megolm;

/// <summary>
/// A Megolm message (spec: Megolm "Message format"): version 3, a protobuf-style payload (0x08 message index as
/// a varint, 0x12 ciphertext as a length-prefixed string), the 8-byte truncated MAC over everything before it and
/// the 64-byte Ed25519 signature over everything before that.
/// </summary>
internal sealed class MegolmMessage
{
    public const byte Version = 3;
    public const int MacSize = 8;

    private const byte IndexTag = 0x08;
    private const byte CiphertextTag = 0x12;

    private readonly byte[] _bytes;

    private MegolmMessage(byte[] bytes, uint messageIndex, byte[] ciphertext)
    {
        _bytes = bytes;
        MessageIndex = messageIndex;
        Ciphertext = ciphertext;
    }

    public uint MessageIndex { get; }

    public byte[] Ciphertext { get; }

    /// <summary>Version and payload: what the MAC covers.</summary>
    public ReadOnlySpan<byte> MacInput => _bytes.AsSpan(0, _bytes.Length - MacSize - Ed25519KeyPair.SignatureSize);

    public ReadOnlySpan<byte> Mac => _bytes.AsSpan(_bytes.Length - MacSize - Ed25519KeyPair.SignatureSize, MacSize);

    /// <summary>Everything but the signature: what the signature covers.</summary>
    public ReadOnlySpan<byte> SignatureInput => _bytes.AsSpan(0, _bytes.Length - Ed25519KeyPair.SignatureSize);

    public ReadOnlySpan<byte> Signature => _bytes.AsSpan(_bytes.Length - Ed25519KeyPair.SignatureSize);

    /// <summary>Encrypts, MACs and signs one message at the ratchet's index (spec: Megolm "Message encryption").</summary>
    public static byte[] Encrypt(MegolmRatchet ratchet, Ed25519KeyPair signingKey, ReadOnlySpan<byte> plaintext)
    {
        var cipher = AesSha2.FromSecret(ratchet.Bytes, AesSha2.MegolmKeysInfo);
        var ciphertext = cipher.Encrypt(plaintext);

        var payload = new List<byte>(ciphertext.Length + 16 + MacSize + Ed25519KeyPair.SignatureSize) { Version, IndexTag };
        WriteVarint(payload, ratchet.Index);
        payload.Add(CiphertextTag);
        WriteVarint(payload, (uint)ciphertext.Length);
        payload.AddRange(ciphertext);
        payload.AddRange(cipher.Mac(payload.ToArray()));
        payload.AddRange(signingKey.Sign(payload.ToArray()));
        return [.. payload];
    }

    /// <summary>Parses the layout only; the caller checks signature and MAC. Anything malformed: <see cref="MegolmException"/>.</summary>
    public static MegolmMessage Parse(string base64)
    {
        var bytes = Base64Unpadded.TryDecode(base64) ?? throw new MegolmException("The Megolm message is not base64.");
        if (bytes.Length == 0)
            throw new MegolmException("The Megolm message is empty.");
        if (bytes[0] != Version)
            throw new MegolmException($"Megolm message version {bytes[0]}, expected {Version}.");
        var payloadEnd = bytes.Length - MacSize - Ed25519KeyPair.SignatureSize;
        if (payloadEnd < 1)
            throw new MegolmException("The Megolm message is too short for its MAC and signature.");

        uint? index = null;
        byte[]? ciphertext = null;
        var position = 1;
        while (position < payloadEnd)
        {
            var tag = ReadVarint(bytes, ref position, payloadEnd);
            switch (tag & 7)
            {
                case 0:
                    var number = ReadVarint(bytes, ref position, payloadEnd);
                    if (tag == IndexTag)
                        index = number <= uint.MaxValue ? (uint)number : throw new MegolmException("The Megolm message index is over 32 bits.");
                    break;
                case 2:
                    var length = ReadVarint(bytes, ref position, payloadEnd);
                    if (length > (ulong)(payloadEnd - position))
                        throw new MegolmException("A Megolm message field runs past the payload.");
                    if (tag == CiphertextTag)
                        ciphertext = bytes[position..(position + (int)length)];
                    position += (int)length;
                    break;
                default:
                    throw new MegolmException($"Megolm message field tag {tag} has an unsupported wire type.");
            }
        }
        if (index is null || ciphertext is null)
            throw new MegolmException("The Megolm message lacks its index or ciphertext.");
        return new MegolmMessage(bytes, index.Value, ciphertext);
    }

    // Spec "Message format": seven bits a byte, least significant first, the high bit set on all but the last.
    private static void WriteVarint(List<byte> output, uint value)
    {
        for (; value >= 0x80; value >>= 7)
            output.Add((byte)(value | 0x80));
        output.Add((byte)value);
    }

    private static ulong ReadVarint(byte[] bytes, ref int position, int end)
    {
        ulong value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if (position >= end)
                throw new MegolmException("A varint in the Megolm message is truncated.");
            var b = bytes[position++];
            value |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
                return value;
        }
        throw new MegolmException("A varint in the Megolm message is longer than 64 bits.");
    }
}
