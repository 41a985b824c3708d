using System.Text.Json.Serialization;
using Doorman.Matrix.Events;

namespace Doorman.Matrix.Sync;

/// <summary><c>GET /_matrix/client/v3/sync</c> response (CS API §"Syncing"), the parts a bot reads.</summary>
public sealed record SyncResponse
{
    [JsonPropertyName("next_batch")] public string NextBatch { get; init; } = "";
    [JsonPropertyName("rooms")] public SyncRooms? Rooms { get; init; }
    [JsonPropertyName("account_data")] public EventList? AccountData { get; init; }
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

public sealed record Timeline
{
    [JsonPropertyName("events")] public List<ClientEvent>? Events { get; init; }

    /// <summary>True when events between the previous batch and this one were left out.</summary>
    [JsonPropertyName("limited")] public bool Limited { get; init; }

    [JsonPropertyName("prev_batch")] public string? PrevBatch { get; init; }
}

public sealed record EventList
{
    [JsonPropertyName("events")] public List<ClientEvent>? Events { get; init; }
}

public sealed record RoomSummary
{
    [JsonPropertyName("m.joined_member_count")] public int? JoinedMemberCount { get; init; }
    [JsonPropertyName("m.invited_member_count")] public int? InvitedMemberCount { get; init; }
}
