using System.Security.Cryptography;
using System.Text;

namespace Doorman.Matrix.Crypto.Olm;

/// <summary>
/// Olm's key derivations (spec: Olm, "Initial setup", "Advancing the root key", "Advancing the chain key",
/// "Creating a message key"): HKDF-SHA-256 for the root ratchet, HMAC-SHA-256 for the chain ratchet.
/// </summary>
internal static class OlmKdf
{
    public const int KeySize = 32;

    private static readonly byte[] RootInfo = Encoding.ASCII.GetBytes("OLM_ROOT");
    private static readonly byte[] RatchetInfo = Encoding.ASCII.GetBytes("OLM_RATCHET");
    private static readonly byte[] ZeroSalt = [0];
    private static readonly byte[] MessageKeySeed = [0x01];
    private static readonly byte[] ChainKeySeed = [0x02];

    /// <summary>R0 ‖ C0,0 = HKDF(salt 0, S, "OLM_ROOT", 64), S the three Diffie-Hellman secrets in order.</summary>
    public static (byte[] RootKey, byte[] ChainKey) Initial(byte[] first, byte[] second, byte[] third)
    {
        var output = new byte[2 * KeySize];
        HKDF.DeriveKey(HashAlgorithmName.SHA256, [.. first, .. second, .. third], output, ZeroSalt, RootInfo);
        return (output[..KeySize], output[KeySize..]);
    }

    /// <summary>
    /// Ri ‖ Ci,0 = HKDF(salt Ri−1, ECDH(ours, theirs), "OLM_RATCHET", 64). Throws <see cref="OlmException"/>
    /// for a low-order public key.
    /// </summary>
    public static (byte[] RootKey, byte[] ChainKey) Ratchet(byte[] rootKey, Curve25519KeyPair ours, byte[] theirs)
    {
        var output = new byte[2 * KeySize];
        HKDF.DeriveKey(HashAlgorithmName.SHA256, Agree(ours, theirs), output, rootKey, RatchetInfo);
        return (output[..KeySize], output[KeySize..]);
    }

    /// <summary>Mi,j = HMAC(Ci,j, 0x01).</summary>
    public static byte[] MessageKey(byte[] chainKey) => HMACSHA256.HashData(chainKey, MessageKeySeed);

    /// <summary>Ci,j+1 = HMAC(Ci,j, 0x02).</summary>
    public static byte[] NextChainKey(byte[] chainKey) => HMACSHA256.HashData(chainKey, ChainKeySeed);

    public static byte[] Agree(Curve25519KeyPair ours, byte[] theirs)
    {
        try
        {
            return ours.Agree(theirs);
        }
        catch (CryptographicException e)
        {
            throw new OlmException($"Olm key agreement refused: {e.Message}");
        }
    }
}
