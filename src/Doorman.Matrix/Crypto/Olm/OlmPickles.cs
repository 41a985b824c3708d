using System.Text.Json.Serialization;

namespace Doorman.Matrix.Crypto.Olm;

// The state of accounts and sessions, for the encrypted store: private keys included, so never log or send these.
// Not libolm's pickle format; serialize with OlmPickleJson (byte arrays become base64 strings).

/// <summary>An <see cref="OlmAccount"/>: its two identity keys, one-time keys and fallback keys.</summary>
public sealed record AccountPickle(
    byte[] Ed25519Seed,
    byte[] Curve25519PrivateKey,
    ulong NextOneTimeKeyId,
    IReadOnlyList<OlmKeyPickle> OneTimeKeys,
    ulong NextFallbackKeyId,
    OlmKeyPickle? FallbackKey,
    OlmKeyPickle? PreviousFallbackKey);

/// <summary>A one-time or fallback key: its id, private key and whether it has been uploaded.</summary>
public sealed record OlmKeyPickle(ulong KeyId, byte[] PrivateKey, bool Published);

/// <summary>
/// An <see cref="OlmSession"/>. <see cref="SenderChain"/> is null when the next message starts a new chain
/// (we received since we last sent); then <see cref="RemoteRatchetKey"/> is the ratchet key that chain answers.
/// </summary>
public sealed record SessionPickle(
    byte[] IdentityKey,
    byte[] BaseKey,
    byte[] OneTimeKey,
    byte[] RootKey,
    SenderChainPickle? SenderChain,
    byte[]? RemoteRatchetKey,
    IReadOnlyList<ReceiverChainPickle> ReceiverChains);

public sealed record SenderChainPickle(byte[] RatchetPrivateKey, byte[] ChainKey, ulong Index);

public sealed record ReceiverChainPickle(byte[] RatchetKey, byte[] ChainKey, ulong Index, IReadOnlyList<SkippedMessageKeyPickle> SkippedMessageKeys);

public sealed record SkippedMessageKeyPickle(ulong Index, byte[] Key);

/// <summary>Source-generated JSON for the pickles (the library is AOT-compatible: no reflection).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, RespectNullableAnnotations = true)]
[JsonSerializable(typeof(AccountPickle))]
[JsonSerializable(typeof(SessionPickle))]
public sealed partial class OlmPickleJson : JsonSerializerContext;
