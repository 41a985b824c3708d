using System.Text.Json;
using System.Text.Json.Serialization;

namespace Doorman.Matrix.Rooms;

/// <summary>
/// <c>m.room.power_levels</c> content. Absent fields take the spec's defaults (CS API §"m.room.power_levels").
/// Levels may arrive as strings in old rooms (room versions before 10 allowed it); we accept both.
/// </summary>
public sealed record PowerLevelsContent
{
    [JsonPropertyName("users")] public Dictionary<string, long>? Users { get; init; }
    [JsonPropertyName("users_default")] public long? UsersDefault { get; init; }
    [JsonPropertyName("events")] public Dictionary<string, long>? Events { get; init; }
    [JsonPropertyName("events_default")] public long? EventsDefault { get; init; }
    [JsonPropertyName("state_default")] public long? StateDefault { get; init; }
    [JsonPropertyName("invite")] public long? Invite { get; init; }
    [JsonPropertyName("kick")] public long? Kick { get; init; }
    [JsonPropertyName("ban")] public long? Ban { get; init; }
    [JsonPropertyName("redact")] public long? Redact { get; init; }
}

/// <summary><c>m.room.create</c> content plus its sender, which room version 12 makes a creator.</summary>
public sealed record CreateContent
{
    [JsonPropertyName("room_version")] public string? RoomVersion { get; init; }

    /// <summary>Present up to room version 10; removed in 11 (the sender is the creator).</summary>
    [JsonPropertyName("creator")] public string? Creator { get; init; }

    /// <summary>Room version 12: further creators with the same unlimited power.</summary>
    [JsonPropertyName("additional_creators")] public List<string>? AdditionalCreators { get; init; }

    [JsonPropertyName("type")] public string? Type { get; init; }
}

/// <summary>What the power rules need to know about a room's creation.</summary>
/// <param name="Sender">The sender of <c>m.room.create</c>.</param>
/// <param name="Content">Its content.</param>
public sealed record RoomCreation(string Sender, CreateContent Content)
{
    /// <summary>The room version; "1" when absent (CS API: room_version defaults to "1").</summary>
    public string RoomVersion => string.IsNullOrEmpty(Content.RoomVersion) ? "1" : Content.RoomVersion;

    /// <summary>
    /// Room version 12 (MSC4289) gives the creators unlimited power: they outrank everyone, are never listed in
    /// <c>users</c>, and cannot be kicked or banned. Later versions keep the rule; unknown textual versions
    /// (experimental ones such as "org.matrix.hydra.11") are treated as not having it.
    /// </summary>
    public bool CreatorsHaveInfinitePower => int.TryParse(RoomVersion, out var v) && v >= 12;

    /// <summary>The creators: the sender plus, from room version 12, <c>additional_creators</c>.</summary>
    public IReadOnlyList<string> Creators =>
        CreatorsHaveInfinitePower && Content.AdditionalCreators is { Count: > 0 } more
            ? [Sender, .. more]
            : [Sender];
}

/// <summary>
/// A user's effective power in a room, following every room version: in v12+ creators have unlimited power
/// (<see cref="long.MaxValue"/> here); otherwise <c>users[id]</c>, else <c>users_default</c>; with no power
/// levels event at all the creator has 100 and everyone else 0 (room version spec, auth rules §"power levels").
/// </summary>
public sealed class RoomPower(RoomCreation creation, PowerLevelsContent? powerLevels)
{
    public const long Infinite = long.MaxValue;

    public RoomCreation Creation { get; } = creation;

    public PowerLevelsContent? PowerLevels { get; } = powerLevels;

    public bool IsCreator(string userId) => Creation.Creators.Contains(userId, StringComparer.Ordinal);

    public long LevelOf(string userId)
    {
        if (Creation.CreatorsHaveInfinitePower && IsCreator(userId))
            return Infinite;
        if (PowerLevels is null)
            return userId == (Creation.Content.Creator ?? Creation.Sender) ? 100 : 0;
        if (PowerLevels.Users is { } users && users.TryGetValue(userId, out var level))
            return level;
        return PowerLevels.UsersDefault ?? 0;
    }

    /// <summary>The level a state event of this type needs. No power levels event: 0 (anyone may).</summary>
    public long RequiredForState(string eventType) =>
        PowerLevels is null ? 0
        : PowerLevels.Events is { } events && events.TryGetValue(eventType, out var level) ? level
        : PowerLevels.StateDefault ?? 50;

    public long RequiredForMessage(string eventType) =>
        PowerLevels is null ? 0
        : PowerLevels.Events is { } events && events.TryGetValue(eventType, out var level) ? level
        : PowerLevels.EventsDefault ?? 0;

    public long InviteLevel => PowerLevels is null ? 0 : PowerLevels.Invite ?? 0;

    public long KickLevel => PowerLevels is null ? 50 : PowerLevels.Kick ?? 50;

    public long BanLevel => PowerLevels is null ? 50 : PowerLevels.Ban ?? 50;

    public long UsersDefault => PowerLevels?.UsersDefault ?? 0;

    public bool CanInvite(string userId) => LevelOf(userId) >= InviteLevel;

    /// <summary>Kick needs the kick level and strictly more power than the target (auth rules, membership "leave").</summary>
    public bool CanKick(string actor, string target) =>
        LevelOf(actor) >= KickLevel && LevelOf(actor) > LevelOf(target) && !(Creation.CreatorsHaveInfinitePower && IsCreator(target));

    public bool CanBan(string actor, string target) =>
        LevelOf(actor) >= BanLevel && LevelOf(actor) > LevelOf(target) && !(Creation.CreatorsHaveInfinitePower && IsCreator(target));

    /// <summary>May send <c>m.room.power_levels</c>, i.e. administer the room.</summary>
    public bool CanChangePowerLevels(string userId) => LevelOf(userId) >= RequiredForState(EventTypesPowerLevels);

    private const string EventTypesPowerLevels = "m.room.power_levels";

    /// <summary>Reads power levels content leniently: integer levels, or (old rooms) integer strings.</summary>
    public static PowerLevelsContent ParsePowerLevels(JsonElement content)
    {
        static long? Level(JsonElement obj, string name) =>
            obj.TryGetProperty(name, out var v) ? ReadLevel(v) : null;

        static Dictionary<string, long>? Map(JsonElement obj, string name)
        {
            if (!obj.TryGetProperty(name, out var v) || v.ValueKind != JsonValueKind.Object)
                return null;
            var map = new Dictionary<string, long>(StringComparer.Ordinal);
            foreach (var p in v.EnumerateObject())
                if (ReadLevel(p.Value) is { } level)
                    map[p.Name] = level;
            return map;
        }

        if (content.ValueKind != JsonValueKind.Object)
            return new PowerLevelsContent();
        return new PowerLevelsContent
        {
            Users = Map(content, "users"),
            UsersDefault = Level(content, "users_default"),
            Events = Map(content, "events"),
            EventsDefault = Level(content, "events_default"),
            StateDefault = Level(content, "state_default"),
            Invite = Level(content, "invite"),
            Kick = Level(content, "kick"),
            Ban = Level(content, "ban"),
            Redact = Level(content, "redact"),
        };
    }

    private static long? ReadLevel(JsonElement v) => v.ValueKind switch
    {
        JsonValueKind.Number when v.TryGetInt64(out var n) => n,
        JsonValueKind.String when long.TryParse(v.GetString(), System.Globalization.NumberStyles.AllowLeadingSign,
            System.Globalization.CultureInfo.InvariantCulture, out var n) => n,
        _ => null,
    };
}
