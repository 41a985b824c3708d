using System.Security.Cryptography;
using Rfc8032 = Org.BouncyCastle.Math.EC.Rfc8032.Ed25519;

namespace Doorman.Matrix.Crypto;

/// <summary>
/// An Ed25519 signing key (RFC 8032), kept as its 32-byte seed. Matrix uses Ed25519 for device fingerprints,
/// JSON signatures, cross-signing keys and Megolm message signatures.
/// </summary>
public sealed class Ed25519KeyPair
{
    public const int KeySize = 32;
    public const int SignatureSize = 64;

    private readonly byte[] _seed;

    public Ed25519KeyPair(ReadOnlySpan<byte> seed)
    {
        if (seed.Length != KeySize)
            throw new ArgumentException($"An Ed25519 seed is {KeySize} bytes.", nameof(seed));
        _seed = seed.ToArray();
        PublicKey = new byte[KeySize];
        Rfc8032.GeneratePublicKey(_seed, 0, PublicKey, 0);
    }

    public static Ed25519KeyPair Generate() => new(RandomNumberGenerator.GetBytes(KeySize));

    public byte[] PublicKey { get; }

    /// <summary>The public key as Matrix writes it (unpadded base64).</summary>
    public string PublicKeyBase64 => Base64Unpadded.Encode(PublicKey);

    /// <summary>The seed, for the encrypted store only.</summary>
    public byte[] ExportSeed() => (byte[])_seed.Clone();

    public byte[] Sign(ReadOnlySpan<byte> message)
    {
        var bytes = message.ToArray();
        var signature = new byte[SignatureSize];
        Rfc8032.Sign(_seed, 0, bytes, 0, bytes.Length, signature, 0);
        return signature;
    }

    /// <summary>False for any malformed key or signature, never an exception: both come from other parties.</summary>
    public static bool Verify(ReadOnlySpan<byte> publicKey, ReadOnlySpan<byte> message, ReadOnlySpan<byte> signature)
    {
        if (publicKey.Length != KeySize || signature.Length != SignatureSize)
            return false;
        var bytes = message.ToArray();
        try
        {
            return Rfc8032.Verify(signature.ToArray(), 0, publicKey.ToArray(), 0, bytes, 0, bytes.Length);
        }
        catch (ArgumentException)
        {
            return false;
        }
    }
}
