using System.Security.Cryptography;

namespace Doorman.Matrix.Crypto.Olm;

/// <summary>
/// The three public keys that name a session: the creator's identity key, the creator's base key and the
/// receiver's one-time (or fallback) key. The session id is the SHA-256 of the three, in that order, as libolm
/// and vodozemac compute it (vodozemac <c>src/olm/session_keys.rs</c>), so both ends report the same id.
/// </summary>
internal sealed record SessionKeys(byte[] IdentityKey, byte[] BaseKey, byte[] OneTimeKey)
{
    public string SessionId => Base64Unpadded.Encode(SHA256.HashData([.. IdentityKey, .. BaseKey, .. OneTimeKey]));

    public bool SameAs(SessionKeys other) =>
        IdentityKey.AsSpan().SequenceEqual(other.IdentityKey)
        && BaseKey.AsSpan().SequenceEqual(other.BaseKey)
        && OneTimeKey.AsSpan().SequenceEqual(other.OneTimeKey);
}
