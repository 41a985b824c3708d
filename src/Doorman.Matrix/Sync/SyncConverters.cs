using System.Text.Json;
using System.Text.Json.Serialization;
using Doorman.Matrix.Events;

namespace Doorman.Matrix.Sync;

// The room-level objects of a /sync response, read by hand so that nothing inside a room fails the whole batch:
// their event lists drop malformed events and count them (EventArray), and a field of the wrong JSON type is taken
// as absent — `"limited": "yes"` as false, `"prev_batch": 5` as none, `"timeline": 5` as no timeline. The shape
// above them (next_batch, the rooms maps, each room an object) is the homeserver's own and stays strict.
// Written back as the generated serializer would: declaration order, nulls included.

/// <summary><see cref="Timeline"/>: <c>events</c>, <c>limited</c>, <c>prev_batch</c>.</summary>
internal sealed class TimelineConverter : JsonConverter<Timeline>
{
    public override Timeline? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            ClientEventConverter.SkipValue(ref reader);
            return null;
        }

        List<ClientEvent>? events = null;
        var skipped = 0;
        var limited = false;
        string? prevBatch = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("events"u8))
            {
                reader.Read();
                events = EventArray.ReadField(ref reader, out skipped);
            }
            else if (reader.ValueTextEquals("limited"u8))
            {
                reader.Read();
                limited = reader.TokenType == JsonTokenType.True;
                ClientEventConverter.SkipValue(ref reader);
            }
            else if (reader.ValueTextEquals("prev_batch"u8))
            {
                reader.Read();
                if (!ClientEventConverter.TryGetString(ref reader, nullable: true, out prevBatch))
                    ClientEventConverter.SkipValue(ref reader);
            }
            else
            {
                reader.Read();
                ClientEventConverter.SkipValue(ref reader);
            }
        }
        return new Timeline { Events = events, Limited = limited, PrevBatch = prevBatch, Skipped = skipped };
    }

    public override void Write(Utf8JsonWriter writer, Timeline value, JsonSerializerOptions options)
    {
        writer.WriteStartObject();
        writer.WritePropertyName("events"u8);
        EventArray.Write(writer, value.Events);
        writer.WriteBoolean("limited"u8, value.Limited);
        writer.WriteString("prev_batch"u8, value.PrevBatch);
        writer.WriteEndObject();
    }
}

/// <summary><see cref="EventList"/>: <c>events</c>.</summary>
internal sealed class EventListConverter : JsonConverter<EventList>
{
    public override EventList? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            ClientEventConverter.SkipValue(ref reader);
            return null;
        }

        List<ClientEvent>? events = null;
        var skipped = 0;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var isEvents = reader.ValueTextEquals("events"u8);
            reader.Read();
            if (isEvents)
                events = EventArray.ReadField(ref reader, out skipped);
            else
                ClientEventConverter.SkipValue(ref reader);
        }
        return new EventList { Events = events, Skipped = skipped };
    }

    public override void Write(Utf8JsonWriter writer, EventList value, JsonSerializerOptions options)
    {
        writer.WriteStartObject();
        writer.WritePropertyName("events"u8);
        EventArray.Write(writer, value.Events);
        writer.WriteEndObject();
    }
}

/// <summary><see cref="RoomSummary"/>: the two member counts; a count that is not an integer is absent.</summary>
internal sealed class RoomSummaryConverter : JsonConverter<RoomSummary>
{
    public override RoomSummary? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            ClientEventConverter.SkipValue(ref reader);
            return null;
        }

        int? joined = null, invited = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var isJoined = reader.ValueTextEquals("m.joined_member_count"u8);
            var isInvited = !isJoined && reader.ValueTextEquals("m.invited_member_count"u8);
            reader.Read();
            int? count = reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out var n) ? n : null;
            if (isJoined)
                joined = count;
            else if (isInvited)
                invited = count;
            ClientEventConverter.SkipValue(ref reader);
        }
        return new RoomSummary { JoinedMemberCount = joined, InvitedMemberCount = invited };
    }

    public override void Write(Utf8JsonWriter writer, RoomSummary value, JsonSerializerOptions options)
    {
        writer.WriteStartObject();
        WriteCount(writer, "m.joined_member_count"u8, value.JoinedMemberCount);
        WriteCount(writer, "m.invited_member_count"u8, value.InvitedMemberCount);
        writer.WriteEndObject();
    }

    private static void WriteCount(Utf8JsonWriter writer, ReadOnlySpan<byte> name, int? count)
    {
        if (count is { } n)
            writer.WriteNumber(name, n);
        else
            writer.WriteNull(name);
    }
}
