using System.Text.Json;
using System.Text.Json.Serialization;

namespace Doorman.Matrix.Rooms;

/// <summary><c>POST /_matrix/client/v3/createRoom</c> body (CS API §"Creation").</summary>
public sealed record CreateRoomRequest
{
    [JsonPropertyName("preset"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Preset { get; init; }

    [JsonPropertyName("is_direct")] public bool IsDirect { get; init; }

    [JsonPropertyName("invite"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<string>? Invite { get; init; }

    [JsonPropertyName("name"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Name { get; init; }

    [JsonPropertyName("topic"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Topic { get; init; }

    [JsonPropertyName("room_version"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? RoomVersion { get; init; }

    [JsonPropertyName("room_alias_name"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? RoomAliasName { get; init; }

    [JsonPropertyName("initial_state"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<InitialStateEvent>? InitialState { get; init; }

    [JsonPropertyName("power_level_content_override"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public JsonElement? PowerLevelContentOverride { get; init; }

    [JsonPropertyName("creation_content"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public JsonElement? CreationContent { get; init; }

    public const string PrivateChat = "private_chat";
    public const string TrustedPrivateChat = "trusted_private_chat";
    public const string PublicChat = "public_chat";
}

public sealed record InitialStateEvent
{
    [JsonPropertyName("type")] public required string Type { get; init; }
    [JsonPropertyName("state_key")] public string StateKey { get; init; } = "";
    [JsonPropertyName("content")] public required JsonElement Content { get; init; }
}

internal sealed record CreateRoomResponse([property: JsonPropertyName("room_id")] string RoomId);

internal sealed record RoomIdResponse([property: JsonPropertyName("room_id")] string RoomId);

internal sealed record EventIdResponse([property: JsonPropertyName("event_id")] string EventId);

internal sealed record FilterIdResponse([property: JsonPropertyName("filter_id")] string FilterId);

internal sealed record ContentUriResponse([property: JsonPropertyName("content_uri")] string ContentUri);

internal sealed record JoinedRoomsResponse([property: JsonPropertyName("joined_rooms")] List<string> JoinedRooms);

internal sealed record MembersResponse([property: JsonPropertyName("chunk")] List<Events.ClientEvent> Chunk);

internal sealed record UserReason(
    [property: JsonPropertyName("user_id")] string UserId,
    [property: JsonPropertyName("reason"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Reason);

internal sealed record Reason(
    [property: JsonPropertyName("reason"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Text);

/// <summary><c>GET /_matrix/client/v3/directory/room/{alias}</c>.</summary>
public sealed record AliasResolution(
    [property: JsonPropertyName("room_id")] string RoomId,
    [property: JsonPropertyName("servers")] IReadOnlyList<string>? Servers);

/// <summary><c>GET /_matrix/client/v3/account/whoami</c>.</summary>
public sealed record WhoAmI(
    [property: JsonPropertyName("user_id")] string UserId,
    [property: JsonPropertyName("device_id")] string? DeviceId,
    [property: JsonPropertyName("is_guest")] bool IsGuest);

/// <summary><c>GET /_matrix/client/versions</c>.</summary>
public sealed record VersionsResponse(
    [property: JsonPropertyName("versions")] IReadOnlyList<string> Versions,
    [property: JsonPropertyName("unstable_features")] Dictionary<string, bool>? UnstableFeatures);

internal sealed record ErrorResponse(
    [property: JsonPropertyName("errcode")] string? ErrCode,
    [property: JsonPropertyName("error")] string? Error,
    [property: JsonPropertyName("retry_after_ms")] long? RetryAfterMs,
    [property: JsonPropertyName("soft_logout")] bool? SoftLogout);
