using System.Text.Json;

namespace Doorman.Matrix.Events;

/// <summary>
/// Reads a JSON array of events where one bad event must not cost the others: an element that is not an object, or
/// an object with a field of the wrong JSON type (<see cref="ClientEventConverter.ReadEvent"/>), is skipped and
/// counted; the well-formed events keep their order. The containers that hold event lists in responses (/sync's
/// <c>events</c>, /messages' <c>chunk</c> and <c>state</c>) read them through this and keep the count.
/// </summary>
internal static class EventArray
{
    /// <summary>The reader is on the array's <c>StartArray</c>; it is left on its <c>EndArray</c>.</summary>
    public static List<ClientEvent> Read(ref Utf8JsonReader reader, out int skipped)
    {
        skipped = 0;
        var events = new List<ClientEvent>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                ClientEventConverter.SkipValue(ref reader);
                skipped++;
                continue;
            }
            var e = ClientEventConverter.ReadEvent(ref reader, out var problem);
            if (problem is null)
                events.Add(e);
            else
                skipped++;
        }
        return events;
    }

    /// <summary>
    /// The value of a field that should be an event array: the events, or null (and nothing counted) when the value
    /// is null or not an array at all — a container of the wrong type holds no events to count.
    /// </summary>
    public static List<ClientEvent>? ReadField(ref Utf8JsonReader reader, out int skipped)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            ClientEventConverter.SkipValue(ref reader);
            skipped = 0;
            return null;
        }
        return Read(ref reader, out skipped);
    }

    public static void Write(Utf8JsonWriter writer, List<ClientEvent>? events)
    {
        if (events is null)
        {
            writer.WriteNullValue();
            return;
        }
        writer.WriteStartArray();
        foreach (var e in events)
            JsonSerializer.Serialize(writer, e, MatrixJsonContext.Default.ClientEvent);
        writer.WriteEndArray();
    }
}
