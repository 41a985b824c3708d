using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text.Json.Nodes;

namespace Doorman.Matrix.Crypto;

/// <summary>
/// Files in encrypted rooms (CS API "Sending encrypted attachments"): AES-256-CTR under a fresh key, with a
/// 128-bit counter block whose low 64 bits start at zero, and the SHA-256 of the ciphertext. The ciphertext is
/// what gets uploaded; the key, IV and hash travel inside the encrypted event as its <c>file</c> object.
/// </summary>
public static class EncryptedAttachment
{
    /// <summary>Encrypts a file; <see cref="FileObject"/> then makes the event's <c>file</c> object once it is uploaded.</summary>
    public static (byte[] Ciphertext, AttachmentKeys Keys) Encrypt(ReadOnlySpan<byte> plaintext)
    {
        var key = RandomNumberGenerator.GetBytes(32);
        var iv = new byte[16];
        RandomNumberGenerator.Fill(iv.AsSpan(0, 8));
        var ciphertext = Ctr(key, iv, plaintext);
        return (ciphertext, new AttachmentKeys(key, iv, SHA256.HashData(ciphertext)));
    }

    /// <summary>
    /// The <c>file</c> object (EncryptedFile) for the uploaded ciphertext at <paramref name="mxcUri"/>: the key as a
    /// JSON Web Key (RFC 7517, URL-safe base64), IV and SHA-256 in unpadded base64, version v2.
    /// </summary>
    public static JsonObject FileObject(string mxcUri, AttachmentKeys keys) => new()
    {
        ["url"] = mxcUri,
        ["key"] = new JsonObject
        {
            ["kty"] = "oct",
            ["key_ops"] = new JsonArray("encrypt", "decrypt"),
            ["alg"] = "A256CTR",
            ["k"] = Base64Unpadded.Encode(keys.Key).Replace('+', '-').Replace('/', '_'),
            ["ext"] = true,
        },
        ["iv"] = Base64Unpadded.Encode(keys.Iv),
        ["hashes"] = new JsonObject { ["sha256"] = Base64Unpadded.Encode(keys.Sha256) },
        ["v"] = "v2",
    };

    /// <summary>
    /// Decrypts a downloaded file with its <c>file</c> object, after checking the hash. Throws
    /// <see cref="CryptographicException"/> when the object is malformed or the ciphertext is not the one it names.
    /// </summary>
    public static byte[] Decrypt(ReadOnlySpan<byte> ciphertext, JsonObject file)
    {
        var k = JsonText.Of((file["key"] as JsonObject)?["k"]);
        var key = Base64Unpadded.TryDecode(k?.Replace('-', '+').Replace('_', '/'));
        var iv = Base64Unpadded.TryDecode(JsonText.Of(file["iv"]));
        var hash = Base64Unpadded.TryDecode(JsonText.Of((file["hashes"] as JsonObject)?["sha256"]));
        if (key is not { Length: 32 } || iv is not { Length: 16 } || hash is not { Length: 32 })
            throw new CryptographicException("The file object's key, iv or sha256 hash is missing or malformed.");
        if (!CryptographicOperations.FixedTimeEquals(SHA256.HashData(ciphertext), hash))
            throw new CryptographicException("The file does not match its SHA-256 hash.");
        return Ctr(key, iv, ciphertext);
    }

    /// <summary>AES-CTR (NIST SP 800-38A §6.5) with a 128-bit big-endian counter block; the BCL has ECB, not CTR.</summary>
    private static byte[] Ctr(byte[] key, byte[] iv, ReadOnlySpan<byte> input)
    {
        using var aes = Aes.Create();
        aes.Key = key;
        var output = new byte[input.Length];
        var counter = (byte[])iv.Clone();
        var keystream = new byte[16];
        for (var offset = 0; offset < input.Length; offset += 16)
        {
            aes.EncryptEcb(counter, keystream, PaddingMode.None);
            var n = Math.Min(16, input.Length - offset);
            for (var i = 0; i < n; i++)
                output[offset + i] = (byte)(input[offset + i] ^ keystream[i]);
            Increment(counter);
        }
        return output;
    }

    private static void Increment(byte[] counter)
    {
        var low = BinaryPrimitives.ReadUInt64BigEndian(counter.AsSpan(8));
        BinaryPrimitives.WriteUInt64BigEndian(counter.AsSpan(8), unchecked(low + 1));
        if (low == ulong.MaxValue)
            BinaryPrimitives.WriteUInt64BigEndian(counter, unchecked(BinaryPrimitives.ReadUInt64BigEndian(counter) + 1));
    }
}

/// <summary>The secrets of one encrypted file: AES key, initial counter block, SHA-256 of the ciphertext.</summary>
public sealed record AttachmentKeys(byte[] Key, byte[] Iv, byte[] Sha256);
