using System.Buffers.Binary;

namespace Doorman.Matrix.Crypto.Megolm;

/// <summary>
/// The two ways a Megolm ratchet travels (spec: Megolm "Session sharing format" and "Session export format"):
/// version, big-endian 32-bit index, R(i,0)..R(i,3), the Ed25519 public key, and for sharing (version 2) a
/// signature by that key over all of it; the export (version 1, for forwarded and backed-up keys) has none.
/// </summary>
internal static class MegolmSessionKeys
{
    public const byte SharingVersion = 2;
    public const byte ExportVersion = 1;

    private const int UnsignedSize = 1 + 4 + MegolmRatchet.Size + Ed25519KeyPair.KeySize;

    public static string WriteSharing(MegolmRatchet ratchet, Ed25519KeyPair signingKey)
    {
        var unsigned = Write(SharingVersion, ratchet, signingKey.PublicKey);
        return Base64Unpadded.Encode([.. unsigned, .. signingKey.Sign(unsigned)]);
    }

    public static string WriteExport(MegolmRatchet ratchet, ReadOnlySpan<byte> signingKey) =>
        Base64Unpadded.Encode(Write(ExportVersion, ratchet, signingKey));

    /// <summary>A session key as <c>m.room_key</c> carries it, its signature checked.</summary>
    public static (MegolmRatchet Ratchet, byte[] SigningKey) ReadSharing(string base64)
    {
        var bytes = Decode(base64, SharingVersion, UnsignedSize + Ed25519KeyPair.SignatureSize, "session key");
        var (ratchet, signingKey) = Read(bytes);
        if (!Ed25519KeyPair.Verify(signingKey, bytes.AsSpan(0, UnsignedSize), bytes.AsSpan(UnsignedSize)))
            throw new MegolmException("The Megolm session key's signature does not match its key.");
        return (ratchet, signingKey);
    }

    /// <summary>An exported session key, which carries no signature to check.</summary>
    public static (MegolmRatchet Ratchet, byte[] SigningKey) ReadExport(string base64) =>
        Read(Decode(base64, ExportVersion, UnsignedSize, "exported session key"));

    private static byte[] Write(byte version, MegolmRatchet ratchet, ReadOnlySpan<byte> signingKey)
    {
        var bytes = new byte[UnsignedSize];
        bytes[0] = version;
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(1), ratchet.Index);
        ratchet.Bytes.CopyTo(bytes.AsSpan(5));
        signingKey.CopyTo(bytes.AsSpan(5 + MegolmRatchet.Size));
        return bytes;
    }

    private static byte[] Decode(string base64, byte version, int size, string what)
    {
        var bytes = Base64Unpadded.TryDecode(base64) ?? throw new MegolmException($"The Megolm {what} is not base64.");
        if (bytes.Length == 0 || bytes[0] != version)
            throw new MegolmException($"The Megolm {what} is not version {version}.");
        if (bytes.Length != size)
            throw new MegolmException($"The Megolm {what} is {bytes.Length} bytes, expected {size}.");
        return bytes;
    }

    private static (MegolmRatchet, byte[]) Read(byte[] bytes) =>
        (new MegolmRatchet(bytes.AsSpan(5, MegolmRatchet.Size), BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(1))),
         bytes[(5 + MegolmRatchet.Size)..UnsignedSize]);
}
