using System.Text.Json.Serialization;
using Doorman.Matrix.Rooms;

namespace Doorman.Matrix;

/// <summary>What the homeserver supports, from <c>/versions</c> and <c>/capabilities</c>; features are gated on it.</summary>
public sealed record ServerSupport(IReadOnlyList<string> Versions, string DefaultRoomVersion, IReadOnlyDictionary<string, string> RoomVersions)
{
    /// <summary>Assumed before probing: a current server.</summary>
    public static readonly ServerSupport Current = new(["v1.12"], "11", new Dictionary<string, string> { ["10"] = "stable", ["11"] = "stable", ["12"] = "stable" });

    /// <summary>Authenticated media (<c>/_matrix/client/v1/media</c>) arrived in v1.11.</summary>
    public bool AuthenticatedMedia => Versions.Any(v => AtLeast(v, 1, 11));

    /// <summary>Knocking needs room version 7 or later to be available.</summary>
    public bool Knocking => RoomVersions.Keys.Any(v => int.TryParse(v, out var n) && n >= 7);

    public static ServerSupport From(VersionsResponse versions, CapabilitiesResponse? capabilities)
    {
        var rooms = capabilities?.Capabilities?.RoomVersions;
        return new ServerSupport(versions.Versions, rooms?.Default ?? "1",
            rooms?.Available ?? new Dictionary<string, string> { ["1"] = "stable" });
    }

    private static bool AtLeast(string version, int major, int minor) =>
        version.StartsWith('v') && version[1..].Split('.') is [var a, var b]
        && int.TryParse(a, out var ma) && int.TryParse(b, out var mi) && (ma > major || (ma == major && mi >= minor));
}

/// <summary><c>GET /_matrix/client/v3/capabilities</c>.</summary>
public sealed record CapabilitiesResponse([property: JsonPropertyName("capabilities")] Capabilities? Capabilities);

public sealed record Capabilities([property: JsonPropertyName("m.room_versions")] RoomVersionsCapability? RoomVersions);

public sealed record RoomVersionsCapability(
    [property: JsonPropertyName("default")] string? Default,
    [property: JsonPropertyName("available")] Dictionary<string, string>? Available);

/// <summary><c>POST /_matrix/client/v3/login</c> with <c>m.login.password</c>.</summary>
public sealed record LoginRequest
{
    [JsonPropertyName("type")] public string Type { get; init; } = "m.login.password";
    [JsonPropertyName("identifier")] public required UserIdentifier Identifier { get; init; }
    [JsonPropertyName("password")] public required string Password { get; init; }

    [JsonPropertyName("device_id"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? DeviceId { get; init; }

    [JsonPropertyName("initial_device_display_name"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? InitialDeviceDisplayName { get; init; }

    /// <summary>Never print the password.</summary>
    public override string ToString() => $"login {Identifier.User} (device {DeviceId ?? "new"})";
}

public sealed record UserIdentifier
{
    [JsonPropertyName("type")] public string Type { get; init; } = "m.id.user";
    [JsonPropertyName("user")] public required string User { get; init; }
}

public sealed record LoginResponse(
    [property: JsonPropertyName("user_id")] string UserId,
    [property: JsonPropertyName("access_token")] string AccessToken,
    [property: JsonPropertyName("device_id")] string DeviceId)
{
    /// <summary>Never print the token.</summary>
    public override string ToString() => $"{UserId} (device {DeviceId})";
}
