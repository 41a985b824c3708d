using System.Text.Json.Nodes;

namespace Doorman.Sandbox.Homeserver;

/// <summary>
/// One device of an account (CS API §"Relationship between access tokens and devices") and what end-to-end
/// encryption keeps for it: its identity keys, one-time and fallback keys, and its to-device inbox.
/// </summary>
internal sealed class Device(string deviceId, string? displayName)
{
    public string DeviceId { get; } = deviceId;

    public string? DisplayName { get; } = displayName;

    /// <summary>The device keys as uploaded (CS API §"POST /keys/upload" <c>device_keys</c>), or null before any upload.</summary>
    public JsonObject? Keys { get; set; }

    /// <summary>
    /// Signatures of <see cref="Keys"/> by the owner's self-signing key, key id → signature. Synapse keeps them
    /// apart from the device keys (e2e_cross_signing_signatures) and merges them in when the keys are queried.
    /// </summary>
    public Dictionary<string, string> CrossSignatures { get; } = new(StringComparer.Ordinal);

    /// <summary>Unclaimed one-time keys in upload order (Synapse claims the oldest first).</summary>
    public List<OneTimeKey> OneTimeKeys { get; } = [];

    /// <summary>The fallback key per algorithm (at most one each).</summary>
    public Dictionary<string, FallbackKey> FallbackKeys { get; } = new(StringComparer.Ordinal);

    /// <summary>To-device events not yet acknowledged by a sync of this device, oldest first.</summary>
    public List<ToDeviceMessage> Inbox { get; } = [];
}

internal sealed record OneTimeKey(string Algorithm, string KeyId, JsonNode Key);

internal sealed class FallbackKey(string keyId, JsonNode key)
{
    public string KeyId { get; } = keyId;

    public JsonNode Key { get; } = key;

    /// <summary>Set once the key was handed out by a claim; a new upload of a different key clears it.</summary>
    public bool Used { get; set; }
}

/// <summary>A to-device event (<c>sender</c>, <c>type</c>, <c>content</c>) at its position in the server-wide stream.</summary>
internal sealed record ToDeviceMessage(long Position, JsonObject Event);
