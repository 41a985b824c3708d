using System.Text.Json;
using System.Text.Json.Serialization;
using Doorman.Matrix.Events;

namespace Doorman.Matrix.Rooms;

/// <summary>Which way <c>/messages</c> pages (CS API v1.12 §"Getting events for a room", <c>dir</c>).</summary>
public enum Direction
{
    /// <summary><c>b</c>: from the token towards the room's creation, newest first.</summary>
    Backward,

    /// <summary><c>f</c>: from the token towards the present, oldest first.</summary>
    Forward,
}

/// <summary>
/// <c>GET /_matrix/client/v3/rooms/{roomId}/messages</c> response. Malformed events are left out of
/// <see cref="Chunk"/> and <see cref="State"/> and counted in <see cref="Skipped"/>, as in a /sync batch.
/// </summary>
[JsonConverter(typeof(MessagesResponseConverter))]
public sealed record MessagesResponse
{
    /// <summary>The page, in the order asked for: newest first going <see cref="Direction.Backward"/>.</summary>
    [JsonPropertyName("chunk")] public List<ClientEvent> Chunk { get; init; } = [];

    /// <summary>The token the page starts at: the <c>from</c> given.</summary>
    [JsonPropertyName("start")] public string Start { get; init; } = "";

    /// <summary>The token for the next page (pass it as <c>from</c>); null when there are no further events.</summary>
    [JsonPropertyName("end")] public string? End { get; init; }

    /// <summary>State for the chunk (member events of its senders), when the filter lazy-loads members.</summary>
    [JsonPropertyName("state")] public List<ClientEvent>? State { get; init; }

    /// <summary>Malformed events left out of <see cref="Chunk"/> and <see cref="State"/>.</summary>
    [JsonIgnore] public int Skipped { get; init; }
}

/// <summary>
/// What a limited sync left out of a room's timeline, fetched with <see cref="MatrixClient.GetTimelineGapAsync"/>.
/// </summary>
/// <param name="Events">The left-out events, oldest first (the order of a timeline).</param>
/// <param name="Skipped">Malformed events among them, left out.</param>
/// <param name="Complete">False when fetching stopped at the most asked for: the gap may hold older events than <see cref="Events"/>.</param>
public sealed record TimelineGap(IReadOnlyList<ClientEvent> Events, int Skipped, bool Complete);

/// <summary>Reads <see cref="MessagesResponse"/> as the /sync lists are read (see Sync/SyncConverters.cs).</summary>
internal sealed class MessagesResponseConverter : JsonConverter<MessagesResponse>
{
    public override MessagesResponse? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
            throw new JsonException($"A /messages response must be a JSON object, not {reader.TokenType}.");

        List<ClientEvent>? chunk = null, state = null;
        int chunkSkipped = 0, stateSkipped = 0;
        string? start = null, end = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("chunk"u8))
            {
                reader.Read();
                chunk = EventArray.ReadField(ref reader, out chunkSkipped);
            }
            else if (reader.ValueTextEquals("state"u8))
            {
                reader.Read();
                state = EventArray.ReadField(ref reader, out stateSkipped);
            }
            else if (reader.ValueTextEquals("start"u8))
            {
                reader.Read();
                if (!ClientEventConverter.TryGetString(ref reader, nullable: true, out start))
                    ClientEventConverter.SkipValue(ref reader);
            }
            else if (reader.ValueTextEquals("end"u8))
            {
                reader.Read();
                if (!ClientEventConverter.TryGetString(ref reader, nullable: true, out end))
                    ClientEventConverter.SkipValue(ref reader);
            }
            else
            {
                reader.Read();
                ClientEventConverter.SkipValue(ref reader);
            }
        }
        return new MessagesResponse { Chunk = chunk ?? [], Start = start ?? "", End = end, State = state, Skipped = chunkSkipped + stateSkipped };
    }

    public override void Write(Utf8JsonWriter writer, MessagesResponse value, JsonSerializerOptions options)
    {
        writer.WriteStartObject();
        writer.WritePropertyName("chunk"u8);
        EventArray.Write(writer, value.Chunk);
        writer.WriteString("start"u8, value.Start);
        writer.WriteString("end"u8, value.End);
        writer.WritePropertyName("state"u8);
        EventArray.Write(writer, value.State);
        writer.WriteEndObject();
    }
}
