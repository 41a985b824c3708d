using System.Text.Json.Serialization;

namespace Doorman.Matrix.Crypto.Megolm;

/// <summary>
/// A Megolm session's state for storage. It holds the ratchet, so whoever reads it can decrypt the session from
/// <see cref="Index"/> on (and, with <see cref="SigningSeed"/>, forge its messages): keep it in the encrypted
/// store only. Serialize it with <see cref="MegolmPickleJson"/>.
/// </summary>
/// <param name="Ratchet">R(i,0) ‖ R(i,1) ‖ R(i,2) ‖ R(i,3), unpadded base64 of 128 bytes: the outbound session's
/// current ratchet, or the inbound session's earliest (first known index).</param>
/// <param name="Index">The counter i of <paramref name="Ratchet"/>.</param>
/// <param name="SigningKey">The Ed25519 public key, unpadded base64: the session id.</param>
/// <param name="SigningSeed">The Ed25519 seed, unpadded base64; outbound sessions only.</param>
public sealed record GroupSessionPickle(string Ratchet, uint Index, string SigningKey, string? SigningSeed)
{
    internal MegolmRatchet ReadRatchet()
    {
        var ratchet = Base64Unpadded.TryDecode(Ratchet);
        if (ratchet is not { Length: MegolmRatchet.Size })
            throw new MegolmException($"The Megolm pickle's ratchet is not {MegolmRatchet.Size} bytes of base64.");
        return new MegolmRatchet(ratchet, Index);
    }
}

/// <summary>Source-generated JSON for <see cref="GroupSessionPickle"/> (the library is AOT-compatible).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(GroupSessionPickle))]
public sealed partial class MegolmPickleJson : JsonSerializerContext;
