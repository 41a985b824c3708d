using System.Text.Json;
using System.Text.Json.Serialization;

namespace Doorman.Matrix.Events;

/// <summary>
/// Reads and writes <see cref="ClientEvent"/> by hand. A /sync batch is mostly events, and the source generator reads
/// a record with init-only properties through its parameterized-constructor path: an <c>object[]</c> of arguments
/// and a box for the timestamp and the content, per event. This reads the same fields, with the same rules (unknown
/// fields skipped, the last of a repeated field wins), straight into the record, and hands out the common event types
/// as the shared <see cref="EventTypes"/> strings.
/// <para>
/// A field whose value has the wrong JSON type makes the event malformed (<see cref="ReadEvent"/>). Read alone (e.g.
/// <c>GET /event</c>) a malformed event is refused; in a list (<see cref="EventArray"/>) it is skipped alone, because
/// events come from other servers and one of them must not stop a whole /sync batch.
/// </para>
/// </summary>
internal sealed class ClientEventConverter : JsonConverter<ClientEvent>
{
    public override ClientEvent Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
            throw new JsonException($"An event must be a JSON object, not {reader.TokenType}.");
        var e = ReadEvent(ref reader, out var problem);
        return problem is null ? e : throw new JsonException(problem);
    }

    public override void Write(Utf8JsonWriter writer, ClientEvent value, JsonSerializerOptions options)
    {
        // As the generated serializer wrote it: declaration order, nulls included (the context never ignores them).
        writer.WriteStartObject();
        writer.WriteString("event_id"u8, value.EventId);
        writer.WriteString("type"u8, value.Type);
        writer.WriteString("sender"u8, value.Sender);
        writer.WriteString("state_key"u8, value.StateKey);
        writer.WriteNumber("origin_server_ts"u8, value.OriginServerTs);
        writer.WritePropertyName("content"u8);
        JsonSerializer.Serialize(writer, value.Content, MatrixJsonContext.Default.JsonElement);
        writer.WritePropertyName("unsigned"u8);
        JsonSerializer.Serialize(writer, value.UnsignedData, MatrixJsonContext.Default.UnsignedData);
        writer.WriteEndObject();
    }

    /// <summary>
    /// Reads one event object, the reader on its <c>StartObject</c>, and leaves the reader on its <c>EndObject</c>
    /// whatever the fields held. A value of the wrong JSON type is skipped and named in <paramref name="problem"/>
    /// (null when the event is well formed); the fields and their types are those of CS API v1.12 §"Room Event Format"
    /// and §"Stripped state": <c>type</c> and <c>sender</c> strings, <c>event_id</c> and <c>state_key</c> strings
    /// (or absent), <c>origin_server_ts</c> an integer, <c>content</c> an object, <c>unsigned</c> an object.
    /// </summary>
    internal static ClientEvent ReadEvent(ref Utf8JsonReader reader, out string? problem)
    {
        problem = null;
        string? eventId = null, stateKey = null;
        string type = "", sender = "";
        long originServerTs = 0;
        JsonElement content = default;
        UnsignedData? unsigned = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            // Synapse sends the fields in alphabetical order; the order here is only the likeliest first.
            if (reader.ValueTextEquals("content"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.StartObject)
                    content = JsonElement.ParseValue(ref reader);
                else
                    Wrong(ref reader, ref problem, "content must be a JSON object");
            }
            else if (reader.ValueTextEquals("event_id"u8))
            {
                reader.Read();
                if (!TryGetString(ref reader, nullable: true, out eventId))
                    Wrong(ref reader, ref problem, "event_id must be a string");
            }
            else if (reader.ValueTextEquals("origin_server_ts"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out originServerTs))
                    Wrong(ref reader, ref problem, "origin_server_ts must be an integer");
            }
            else if (reader.ValueTextEquals("sender"u8))
            {
                reader.Read();
                if (TryGetString(ref reader, nullable: false, out var value))
                    sender = value!;
                else
                    Wrong(ref reader, ref problem, "sender must be a string");
            }
            else if (reader.ValueTextEquals("type"u8))
            {
                reader.Read();
                if (ReadType(ref reader) is { } value)
                    type = value;
                else
                    Wrong(ref reader, ref problem, "type must be a string");
            }
            else if (reader.ValueTextEquals("unsigned"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.StartObject)
                    unsigned = ReadUnsigned(ref reader, ref problem);
                else if (reader.TokenType == JsonTokenType.Null)
                    unsigned = null;
                else
                    Wrong(ref reader, ref problem, "unsigned must be a JSON object");
            }
            else if (reader.ValueTextEquals("state_key"u8))
            {
                reader.Read();
                if (!TryGetString(ref reader, nullable: true, out stateKey))
                    Wrong(ref reader, ref problem, "state_key must be a string");
            }
            else
            {
                reader.Read();
                SkipValue(ref reader);
            }
        }

        return new ClientEvent
        {
            EventId = eventId,
            Type = type,
            Sender = sender,
            StateKey = stateKey,
            OriginServerTs = originServerTs,
            Content = content,
            UnsignedData = unsigned,
        };
    }

    /// <summary>
    /// A value (any JSON: a scalar, an array, an object) the reader stands on; skipped, so the reader is left on its
    /// last token. The serializer hands a converter like this one the whole value at once, but the reader of a
    /// streamed body is not a final block, where <see cref="Utf8JsonReader.Skip"/> refuses to work: TrySkip does not.
    /// </summary>
    internal static void SkipValue(ref Utf8JsonReader reader)
    {
        if (!reader.TrySkip())
            throw new JsonException("An event was cut short.");
    }

    /// <summary>A field of the wrong type: skipped, and the first such one named (the message is made only then).</summary>
    private static void Wrong(ref Utf8JsonReader reader, ref string? problem, string rule)
    {
        problem ??= reader.TokenType == JsonTokenType.String ? $"{rule} of valid UTF-8 without lone surrogates." : $"{rule}, not {reader.TokenType}.";
        SkipValue(ref reader);
    }

    /// <summary>
    /// A string (or null where <paramref name="nullable"/>). False for any other token, and for a string that is not
    /// text: the reader checks UTF-8 and <c>\u</c> escapes only when the value is taken, and throws then (invalid
    /// UTF-8, a lone surrogate such as <c>"\ud800"</c>). Taking the value does not move the reader, so it can go on.
    /// </summary>
    internal static bool TryGetString(ref Utf8JsonReader reader, bool nullable, out string? value)
    {
        value = null;
        if (reader.TokenType == JsonTokenType.Null)
            return nullable;
        if (reader.TokenType != JsonTokenType.String)
            return false;
        try
        {
            value = reader.GetString();
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>The event type, or null when it is not a string; the common ones are the shared constants, not a new string each.</summary>
    private static string? ReadType(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.String && !reader.ValueIsEscaped && !reader.HasValueSequence)
        {
            var value = reader.ValueSpan;
            if (value.SequenceEqual("m.room.message"u8))
                return EventTypes.Message;
            if (value.SequenceEqual("m.room.member"u8))
                return EventTypes.Member;
            if (value.SequenceEqual("m.room.encrypted"u8))
                return EventTypes.Encrypted;
        }
        return TryGetString(ref reader, nullable: false, out var type) ? type : null;
    }

    /// <summary><c>unsigned</c>: the same rules as the event, read in place rather than through another parameterized constructor.</summary>
    private static UnsignedData ReadUnsigned(ref Utf8JsonReader reader, ref string? problem)
    {
        long? age = null;
        string? transactionId = null;
        JsonElement? redactedBecause = null, prevContent = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("age"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.Null)
                    age = null;
                else if (reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var value))
                    age = value;
                else
                    Wrong(ref reader, ref problem, "unsigned.age must be an integer");
            }
            else if (reader.ValueTextEquals("transaction_id"u8))
            {
                reader.Read();
                if (!TryGetString(ref reader, nullable: true, out transactionId))
                    Wrong(ref reader, ref problem, "unsigned.transaction_id must be a string");
            }
            else if (reader.ValueTextEquals("redacted_because"u8))
            {
                reader.Read();
                redactedBecause = reader.TokenType == JsonTokenType.Null ? null : JsonElement.ParseValue(ref reader);
            }
            else if (reader.ValueTextEquals("prev_content"u8))
            {
                // Only a state event's previous content, as an object; anything else is as if absent.
                reader.Read();
                if (reader.TokenType == JsonTokenType.StartObject)
                    prevContent = JsonElement.ParseValue(ref reader);
                else
                    SkipValue(ref reader);
            }
            else
            {
                reader.Read();
                SkipValue(ref reader);
            }
        }
        return new UnsignedData { Age = age, TransactionId = transactionId, RedactedBecause = redactedBecause, PrevContent = prevContent };
    }
}
