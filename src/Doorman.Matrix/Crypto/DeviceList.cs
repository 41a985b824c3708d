using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;

namespace Doorman.Matrix.Crypto;

/// <summary>A device of another user (or of the bot), as its signed keys describe it.</summary>
/// <param name="Ed25519">The device's fingerprint key, unpadded base64; pinned on first sight.</param>
/// <param name="Curve25519">The device's Olm identity key, unpadded base64.</param>
public sealed record DeviceInfo(string UserId, string DeviceId, string Ed25519, string Curve25519);

/// <summary>What the bot knows of one user's devices, and whether it must ask again (<c>device_lists.changed</c>).</summary>
public sealed record UserDevices(Dictionary<string, DeviceInfo> Devices, bool Outdated);

/// <summary>
/// Reading <c>POST /keys/query</c> (CS API "Tracking the device list for a user"): a device is kept only when
/// its <c>user_id</c> and <c>device_id</c> are the ones it is listed under, it has both keys, and its keys carry
/// a valid signature by its own Ed25519 key. A device whose Ed25519 key differs from the one seen first keeps the
/// first (trust on first use): a homeserver cannot swap a device's identity.
/// </summary>
public static class DeviceList
{
    public const string OlmAlgorithm = "m.olm.v1.curve25519-aes-sha2";
    public const string MegolmAlgorithm = "m.megolm.v1.aes-sha2";

    /// <summary>The devices of <paramref name="userId"/> in a query response, checked against what was known before.</summary>
    public static Dictionary<string, DeviceInfo> Read(JsonElement response, string userId, UserDevices? known, ILogger logger)
    {
        var devices = new Dictionary<string, DeviceInfo>(StringComparer.Ordinal);
        if (response.ValueKind != JsonValueKind.Object || !response.TryGetProperty("device_keys", out var all)
            || all.ValueKind != JsonValueKind.Object || !all.TryGetProperty(userId, out var listed) || listed.ValueKind != JsonValueKind.Object)
            return devices;
        foreach (var entry in listed.EnumerateObject())
        {
            var device = Check(userId, entry.Name, entry.Value);
            if (device is null)
            {
                logger.LogWarning("Ignoring device {DeviceId} of {UserId}: its keys are malformed or not signed by itself", entry.Name, userId);
                continue;
            }
            if (known?.Devices.GetValueOrDefault(device.DeviceId) is { } pinned && pinned.Ed25519 != device.Ed25519)
            {
                logger.LogWarning("Device {DeviceId} of {UserId} now shows another Ed25519 key; keeping the one seen first", entry.Name, userId);
                devices[device.DeviceId] = pinned;
                continue;
            }
            devices[device.DeviceId] = device;
        }
        return devices;
    }

    /// <summary>A device's signed keys if they are what they claim, else null.</summary>
    public static DeviceInfo? Check(string userId, string deviceId, JsonElement keys)
    {
        if (keys.ValueKind != JsonValueKind.Object)
            return null;
        JsonObject obj;
        try
        {
            obj = JsonNode.Parse(keys.GetRawText())!.AsObject();
        }
        catch (JsonException)
        {
            return null;
        }
        if (JsonText.Of(obj["user_id"]) != userId || JsonText.Of(obj["device_id"]) != deviceId)
            return null;
        var published = obj["keys"] as JsonObject;
        var ed25519 = JsonText.Of(published?[$"ed25519:{deviceId}"]);
        var curve25519 = JsonText.Of(published?[$"curve25519:{deviceId}"]);
        if (Base64Unpadded.TryDecode(ed25519) is not { Length: Ed25519KeyPair.KeySize } fingerprint
            || Base64Unpadded.TryDecode(curve25519) is not { Length: Curve25519KeyPair.KeySize })
            return null;
        return JsonSigning.Verify(obj, userId, deviceId, fingerprint) ? new DeviceInfo(userId, deviceId, ed25519!, curve25519!) : null;
    }
}
