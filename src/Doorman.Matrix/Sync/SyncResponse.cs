using System.Text.Json.Serialization;
using Doorman.Matrix.Events;

namespace Doorman.Matrix.Sync;

/// <summary><c>GET /_matrix/client/v3/sync</c> response (CS API §"Syncing"), the parts a bot reads.</summary>
public sealed record SyncResponse
{
    [JsonPropertyName("next_batch")] public string NextBatch { get; init; } = "";
    [JsonPropertyName("rooms")] public SyncRooms? Rooms { get; init; }
    [JsonPropertyName("account_data")] public EventList? AccountData { get; init; }

    /// <summary>
    /// Events sent to this device (CS API "Send-to-Device messaging", "Extensions to /sync"): encrypted room keys
    /// and the like. The server deletes them once a later sync acknowledges this batch's token, so they must be
    /// handled before the token is stored.
    /// </summary>
    [JsonPropertyName("to_device")] public EventList? ToDevice { get; init; }

    /// <summary>Users whose devices changed, or who no longer share an encrypted room (CS API "Extensions to /sync").</summary>
    [JsonPropertyName("device_lists")] public DeviceLists? DeviceLists { get; init; }

    /// <summary>How many unclaimed one-time keys this device has on the server, per algorithm.</summary>
    [JsonPropertyName("device_one_time_keys_count")] public Dictionary<string, int>? OneTimeKeysCount { get; init; }

    /// <summary>The algorithms for which this device's fallback key is still unused (absent on servers without fallback keys).</summary>
    [JsonPropertyName("device_unused_fallback_key_types")] public List<string>? UnusedFallbackKeyTypes { get; init; }

    /// <summary>
    /// The malformed events left out of this response, wherever they were (see <see cref="EventList.Skipped"/>):
    /// how many, and in which rooms. Walks the rooms, not the events; <see cref="SyncLoop"/> logs it once per batch.
    /// </summary>
    public SkippedEvents CountSkippedEvents()
    {
        var accountData = AccountData?.Skipped ?? 0;
        var toDevice = ToDevice?.Skipped ?? 0;
        Dictionary<string, int>? rooms = null;
        void Add(string roomId, int count)
        {
            if (count == 0)
                return;
            rooms ??= new Dictionary<string, int>(StringComparer.Ordinal);
            rooms[roomId] = rooms.GetValueOrDefault(roomId) + count;
        }

        foreach (var (roomId, room) in Rooms?.Join ?? [])
            Add(roomId, (room.State?.Skipped ?? 0) + (room.Timeline?.Skipped ?? 0) + (room.AccountData?.Skipped ?? 0));
        foreach (var (roomId, room) in Rooms?.Leave ?? [])
            Add(roomId, (room.State?.Skipped ?? 0) + (room.Timeline?.Skipped ?? 0));
        foreach (var (roomId, room) in Rooms?.Invite ?? [])
            Add(roomId, room.InviteState?.Skipped ?? 0);
        foreach (var (roomId, room) in Rooms?.Knock ?? [])
            Add(roomId, room.KnockState?.Skipped ?? 0);

        return accountData == 0 && toDevice == 0 && rooms is null
            ? SkippedEvents.None
            : new SkippedEvents(accountData + toDevice + (rooms?.Values.Sum() ?? 0), accountData,
                (IReadOnlyDictionary<string, int>?)rooms ?? SkippedEvents.None.Rooms, toDevice);
    }
}

/// <summary>Malformed events left out of a response: how many in all, in global account data, per room, and sent to the device.</summary>
/// <param name="Rooms">Room id → how many of that room's events (timeline, state, account data, stripped state) were left out.</param>
public sealed record SkippedEvents(int Count, int AccountData, IReadOnlyDictionary<string, int> Rooms, int ToDevice = 0)
{
    public static SkippedEvents None { get; } = new(0, 0, new Dictionary<string, int>());

    /// <summary>Where they were, for a log line: room ids with counts, never event contents.</summary>
    public override string ToString() =>
        string.Join(", ", Rooms.Select(r => $"{r.Key}: {r.Value}").Append(AccountData > 0 ? $"account data: {AccountData}" : null)
            .Append(ToDevice > 0 ? $"to-device: {ToDevice}" : null).OfType<string>());
}

public sealed record DeviceLists
{
    [JsonPropertyName("changed")] public List<string>? Changed { get; init; }
    [JsonPropertyName("left")] public List<string>? Left { get; init; }
}

public sealed record SyncRooms
{
    [JsonPropertyName("join")] public Dictionary<string, JoinedRoom>? Join { get; init; }
    [JsonPropertyName("invite")] public Dictionary<string, InvitedRoom>? Invite { get; init; }
    [JsonPropertyName("leave")] public Dictionary<string, LeftRoom>? Leave { get; init; }
    [JsonPropertyName("knock")] public Dictionary<string, KnockedRoom>? Knock { get; init; }
}

public sealed record JoinedRoom
{
    [JsonPropertyName("state")] public EventList? State { get; init; }
    [JsonPropertyName("timeline")] public Timeline? Timeline { get; init; }
    [JsonPropertyName("account_data")] public EventList? AccountData { get; init; }
    [JsonPropertyName("summary")] public RoomSummary? Summary { get; init; }
}

public sealed record InvitedRoom
{
    [JsonPropertyName("invite_state")] public EventList? InviteState { get; init; }
}

public sealed record KnockedRoom
{
    [JsonPropertyName("knock_state")] public EventList? KnockState { get; init; }
}

public sealed record LeftRoom
{
    [JsonPropertyName("state")] public EventList? State { get; init; }
    [JsonPropertyName("timeline")] public Timeline? Timeline { get; init; }
}

/// <summary>A room's timeline in a batch. Read leniently (<see cref="TimelineConverter"/>).</summary>
[JsonConverter(typeof(TimelineConverter))]
public sealed record Timeline
{
    /// <summary>The well-formed events, in order; malformed ones are left out and counted in <see cref="Skipped"/>.</summary>
    [JsonPropertyName("events")] public List<ClientEvent>? Events { get; init; }

    /// <summary>
    /// True when events between the previous batch and this one were left out (by the server, for the filter's
    /// limit): fetch them with <see cref="MatrixClient.GetTimelineGapAsync"/> from <see cref="PrevBatch"/>.
    /// </summary>
    [JsonPropertyName("limited")] public bool Limited { get; init; }

    [JsonPropertyName("prev_batch")] public string? PrevBatch { get; init; }

    /// <summary>Malformed events (a field of the wrong JSON type, or not an object) left out of <see cref="Events"/>.</summary>
    [JsonIgnore] public int Skipped { get; init; }
}

/// <summary>A list of events (state, account data, stripped state). Read leniently (<see cref="EventListConverter"/>).</summary>
[JsonConverter(typeof(EventListConverter))]
public sealed record EventList
{
    /// <summary>The well-formed events, in order; malformed ones are left out and counted in <see cref="Skipped"/>.</summary>
    [JsonPropertyName("events")] public List<ClientEvent>? Events { get; init; }

    /// <summary>Malformed events (a field of the wrong JSON type, or not an object) left out of <see cref="Events"/>.</summary>
    [JsonIgnore] public int Skipped { get; init; }
}

[JsonConverter(typeof(RoomSummaryConverter))]
public sealed record RoomSummary
{
    [JsonPropertyName("m.joined_member_count")] public int? JoinedMemberCount { get; init; }
    [JsonPropertyName("m.invited_member_count")] public int? InvitedMemberCount { get; init; }
}
