using System.Text.Json;
using System.Text.Json.Serialization;

namespace Doorman.Matrix.Events;

/// <summary>
/// An event in the client format (CS API §"Room Event Format"), as /sync, /state and /messages return it.
/// <see cref="Content"/> stays raw; the typed views below read the parts the bot needs.
/// Stripped state events (invite_state, knock_state) have no event id or timestamp.
/// </summary>
[JsonConverter(typeof(ClientEventConverter))]
public sealed record ClientEvent
{
    [JsonPropertyName("event_id")] public string? EventId { get; init; }
    [JsonPropertyName("type")] public string Type { get; init; } = "";
    [JsonPropertyName("sender")] public string Sender { get; init; } = "";
    [JsonPropertyName("state_key")] public string? StateKey { get; init; }
    [JsonPropertyName("origin_server_ts")] public long OriginServerTs { get; init; }
    [JsonPropertyName("content")] public JsonElement Content { get; init; }
    [JsonPropertyName("unsigned")] public UnsignedData? UnsignedData { get; init; }

    [JsonIgnore] public bool IsState => StateKey is not null;

    /// <summary>
    /// A string field of the content, or null when absent, not a string, or not text (invalid UTF-8 or a lone
    /// surrogate escape: content is kept raw, and such a string only fails when read; it comes from another server,
    /// so reading it must not throw in the middle of handling a batch).
    /// </summary>
    public string? ContentString(string name)
    {
        if (Content.ValueKind != JsonValueKind.Object || !Content.TryGetProperty(name, out var v) || v.ValueKind != JsonValueKind.String)
            return null;
        try
        {
            return v.GetString();
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>A boolean field of the content; false when absent.</summary>
    public bool ContentBool(string name) =>
        Content.ValueKind == JsonValueKind.Object && Content.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.True;
}

public sealed record UnsignedData
{
    [JsonPropertyName("age")] public long? Age { get; init; }
    [JsonPropertyName("transaction_id")] public string? TransactionId { get; init; }
    [JsonPropertyName("redacted_because")] public JsonElement? RedactedBecause { get; init; }

    /// <summary>A state event's previous content (CS API §"ClientEvent", <c>unsigned.prev_content</c>): e.g. a member's previous membership.</summary>
    [JsonPropertyName("prev_content")] public JsonElement? PrevContent { get; init; }
}

/// <summary>Event types and membership values the bot reads. CS API §"Room Events".</summary>
public static class EventTypes
{
    public const string Message = "m.room.message";
    public const string Member = "m.room.member";
    public const string Create = "m.room.create";
    public const string PowerLevels = "m.room.power_levels";
    public const string JoinRules = "m.room.join_rules";
    public const string Encryption = "m.room.encryption";
    public const string Encrypted = "m.room.encrypted";
    public const string Name = "m.room.name";
    public const string CanonicalAlias = "m.room.canonical_alias";
    public const string Tombstone = "m.room.tombstone";
    public const string Direct = "m.direct";
}

public static class Membership
{
    public const string Join = "join";
    public const string Invite = "invite";
    public const string Leave = "leave";
    public const string Ban = "ban";
    public const string Knock = "knock";
}
