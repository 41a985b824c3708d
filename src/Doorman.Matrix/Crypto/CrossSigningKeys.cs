using System.Text.Json.Nodes;

namespace Doorman.Matrix.Crypto;

/// <summary>
/// The bot's own cross-signing identity (CS API "Cross-signing"): a master key, a self-signing key the master
/// signs, and a user-signing key the master signs. The self-signing key signs the bot's device, so clients that
/// share room keys only with cross-signed devices (spec v1.18 "Recommended client behaviour"; Element's "exclude
/// insecure devices") share them with the bot. Generated once and kept: a new master key shows every user an
/// "identity changed" warning.
/// </summary>
public sealed class CrossSigningKeys
{
    private CrossSigningKeys(Ed25519KeyPair master, Ed25519KeyPair selfSigning, Ed25519KeyPair userSigning)
    {
        Master = master;
        SelfSigning = selfSigning;
        UserSigning = userSigning;
    }

    public Ed25519KeyPair Master { get; }

    public Ed25519KeyPair SelfSigning { get; }

    public Ed25519KeyPair UserSigning { get; }

    public static CrossSigningKeys Create() => new(Ed25519KeyPair.Generate(), Ed25519KeyPair.Generate(), Ed25519KeyPair.Generate());

    public static CrossSigningKeys FromSeeds(CrossSigningSeeds seeds) =>
        new(new Ed25519KeyPair(seeds.Master), new Ed25519KeyPair(seeds.SelfSigning), new Ed25519KeyPair(seeds.UserSigning));

    /// <summary>The private seeds, for the encrypted store only.</summary>
    public CrossSigningSeeds ExportSeeds() => new(Master.ExportSeed(), SelfSigning.ExportSeed(), UserSigning.ExportSeed());

    /// <summary>
    /// The body of <c>POST /_matrix/client/v3/keys/device_signing/upload</c>: the three public keys, the self-signing
    /// and user-signing keys signed by the master key (CS API "Cross-signing", CrossSigningKey objects; a key's id is
    /// its public key).
    /// </summary>
    public JsonObject UploadBody(string userId) => new()
    {
        ["master_key"] = KeyObject(userId, "master", Master),
        ["self_signing_key"] = SignedByMaster(KeyObject(userId, "self_signing", SelfSigning), userId),
        ["user_signing_key"] = SignedByMaster(KeyObject(userId, "user_signing", UserSigning), userId),
    };

    /// <summary>
    /// The device's keys signed by the self-signing key, as <c>POST /keys/signatures/upload</c> takes them: the
    /// whole device keys object with the new signature added (and any it already had).
    /// </summary>
    public JsonObject SignDevice(JsonObject deviceKeys, string userId) =>
        JsonSigning.Sign((JsonObject)deviceKeys.DeepClone(), userId, SelfSigning.PublicKeyBase64, SelfSigning);

    private JsonObject SignedByMaster(JsonObject key, string userId) => JsonSigning.Sign(key, userId, Master.PublicKeyBase64, Master);

    private static JsonObject KeyObject(string userId, string usage, Ed25519KeyPair key) => new()
    {
        ["user_id"] = userId,
        ["usage"] = new JsonArray(usage),
        ["keys"] = new JsonObject { [$"ed25519:{key.PublicKeyBase64}"] = key.PublicKeyBase64 },
    };
}

/// <summary>The three cross-signing seeds (32 bytes each).</summary>
public sealed record CrossSigningSeeds(byte[] Master, byte[] SelfSigning, byte[] UserSigning);
