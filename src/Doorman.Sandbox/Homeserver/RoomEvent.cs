using System.Text.Json.Nodes;

namespace Doorman.Sandbox.Homeserver;

/// <summary>One persisted room event. Immutable once appended; <see cref="Content"/> is never handed out uncloned.</summary>
internal sealed class RoomEvent
{
    public required string EventId { get; init; }

    public required string RoomId { get; init; }

    public required string Type { get; init; }

    public required string Sender { get; init; }

    /// <summary>Null for message events; the empty string is a valid state key.</summary>
    public string? StateKey { get; init; }

    public required JsonObject Content { get; init; }

    public required long OriginServerTs { get; init; }

    /// <summary>Position in the server-wide stream; sync tokens are positions in this stream.</summary>
    public required long StreamPosition { get; init; }

    /// <summary>The state event this one replaced, for <c>unsigned.prev_content</c>.</summary>
    public RoomEvent? Replaces { get; init; }

    /// <summary>The client transaction id and the device that sent it (CS API §"Transaction identifiers").</summary>
    public (string DeviceId, string TxnId)? Transaction { get; init; }

    public bool IsState => StateKey is not null;

    /// <summary>The <c>membership</c> of an <c>m.room.member</c> event.</summary>
    public string? Membership => Content["membership"] is JsonValue v && v.TryGetValue<string>(out var m) ? m : null;

    /// <summary>
    /// The client format (CS API §"Room event format"): <c>unsigned.age</c> from <paramref name="nowMs"/>,
    /// <c>prev_content</c> for replaced state, and <c>transaction_id</c> only for the device that sent it.
    /// </summary>
    public JsonObject ToClientEvent(long nowMs, string? viewerDeviceId, bool includeRoomId)
    {
        var unsigned = new JsonObject { ["age"] = Math.Max(0, nowMs - OriginServerTs) };
        if (Replaces is not null)
        {
            unsigned["prev_content"] = Replaces.Content.DeepClone();
            unsigned["prev_sender"] = Replaces.Sender;
            unsigned["replaces_state"] = Replaces.EventId;
        }

        if (Transaction is { } txn && txn.DeviceId == viewerDeviceId)
        {
            unsigned["transaction_id"] = txn.TxnId;
        }

        var json = new JsonObject
        {
            ["content"] = Content.DeepClone(),
            ["event_id"] = EventId,
            ["origin_server_ts"] = OriginServerTs,
            ["sender"] = Sender,
            ["type"] = Type,
        };
        if (includeRoomId)
        {
            json["room_id"] = RoomId;
        }

        if (StateKey is not null)
        {
            json["state_key"] = StateKey;
        }

        json["unsigned"] = unsigned;
        return json;
    }

    /// <summary>Stripped state (CS API §"Stripped state"): type, state_key, sender and content only.</summary>
    public JsonObject ToStrippedState() => new()
    {
        ["content"] = Content.DeepClone(),
        ["sender"] = Sender,
        ["state_key"] = StateKey,
        ["type"] = Type,
    };
}
