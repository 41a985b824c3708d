using System.Security.Cryptography;
using Rfc7748 = Org.BouncyCastle.Math.EC.Rfc7748.X25519;

namespace Doorman.Matrix.Crypto;

/// <summary>
/// An X25519 key (RFC 7748): Olm's identity, one-time, fallback, base and ratchet keys. The scalar is clamped
/// by the multiplication itself, so any 32 random bytes are a private key.
/// </summary>
public sealed class Curve25519KeyPair
{
    public const int KeySize = 32;

    private readonly byte[] _private;

    public Curve25519KeyPair(ReadOnlySpan<byte> privateKey)
    {
        if (privateKey.Length != KeySize)
            throw new ArgumentException($"An X25519 private key is {KeySize} bytes.", nameof(privateKey));
        _private = privateKey.ToArray();
        PublicKey = new byte[KeySize];
        Rfc7748.ScalarMultBase(_private, 0, PublicKey, 0);
    }

    public static Curve25519KeyPair Generate() => new(RandomNumberGenerator.GetBytes(KeySize));

    public byte[] PublicKey { get; }

    public string PublicKeyBase64 => Base64Unpadded.Encode(PublicKey);

    /// <summary>The private key, for the encrypted store only.</summary>
    public byte[] ExportPrivate() => (byte[])_private.Clone();

    /// <summary>
    /// The shared secret with another party's public key. A public key of low order gives an all-zero secret;
    /// that is refused (RFC 7748 §6.1), as it would let the other party fix the result.
    /// </summary>
    public byte[] Agree(ReadOnlySpan<byte> otherPublicKey)
    {
        if (otherPublicKey.Length != KeySize)
            throw new CryptographicException($"A Curve25519 public key is {KeySize} bytes.");
        var shared = new byte[KeySize];
        if (!Rfc7748.CalculateAgreement(_private, 0, otherPublicKey.ToArray(), 0, shared, 0))
            throw new CryptographicException("The other party's Curve25519 key is of low order.");
        return shared;
    }
}
