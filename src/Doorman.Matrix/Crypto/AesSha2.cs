using System.Security.Cryptography;
using System.Text;

namespace Doorman.Matrix.Crypto;

/// <summary>
/// The cipher Olm and Megolm share: AES-256-CBC with PKCS#7 padding and an HMAC-SHA-256 tag, under keys that
/// HKDF-SHA-256 expands from one secret (spec: Olm "Creating a message key" and Megolm "Encrypting a message";
/// 80 bytes = AES key ‖ HMAC key ‖ IV, salt a single zero byte, which HMAC pads to the same as no salt).
/// </summary>
public sealed class AesSha2
{
    /// <summary>HKDF info for Olm message keys.</summary>
    public static readonly byte[] OlmKeysInfo = Encoding.ASCII.GetBytes("OLM_KEYS");

    /// <summary>HKDF info for Megolm message keys.</summary>
    public static readonly byte[] MegolmKeysInfo = Encoding.ASCII.GetBytes("MEGOLM_KEYS");

    private static readonly byte[] ZeroSalt = [0];

    private readonly byte[] _aesKey;
    private readonly byte[] _macKey;
    private readonly byte[] _iv;

    private AesSha2(byte[] keys)
    {
        _aesKey = keys[..32];
        _macKey = keys[32..64];
        _iv = keys[64..80];
    }

    public static AesSha2 FromSecret(ReadOnlySpan<byte> secret, byte[] info)
    {
        var keys = new byte[80];
        HKDF.DeriveKey(HashAlgorithmName.SHA256, secret, keys, salt: ZeroSalt, info);
        return new AesSha2(keys);
    }

    public byte[] Encrypt(ReadOnlySpan<byte> plaintext)
    {
        using var aes = Aes.Create();
        aes.Key = _aesKey;
        return aes.EncryptCbc(plaintext, _iv, PaddingMode.PKCS7);
    }

    /// <summary>Throws <see cref="CryptographicException"/> for bad padding; check the MAC first.</summary>
    public byte[] Decrypt(ReadOnlySpan<byte> ciphertext)
    {
        using var aes = Aes.Create();
        aes.Key = _aesKey;
        return aes.DecryptCbc(ciphertext, _iv, PaddingMode.PKCS7);
    }

    /// <summary>HMAC-SHA-256 over the message, truncated to the 8 bytes Olm and Megolm carry.</summary>
    public byte[] Mac(ReadOnlySpan<byte> message) => HMACSHA256.HashData(_macKey, message)[..8];

    public bool VerifyMac(ReadOnlySpan<byte> message, ReadOnlySpan<byte> mac) =>
        mac.Length == 8 && CryptographicOperations.FixedTimeEquals(Mac(message), mac);
}
