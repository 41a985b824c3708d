using System.Text.Json;
using System.Text.Json.Serialization;

namespace Doorman.Matrix.Events;

/// <summary>
/// Reads and writes <see cref="ClientEvent"/> by hand. A /sync batch is mostly events, and the source generator reads
/// a record with init-only properties through its parameterized-constructor path: an <c>object[]</c> of arguments
/// and a box for the timestamp and the content, per event. This reads the same fields, with the same rules (unknown
/// fields skipped, the last of a repeated field wins, a value of the wrong JSON type refused), straight into the
/// record, and hands out the common event types as the shared <see cref="EventTypes"/> strings.
/// </summary>
internal sealed class ClientEventConverter : JsonConverter<ClientEvent>
{
    public override ClientEvent Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
            throw new JsonException($"An event must be a JSON object, not {reader.TokenType}.");

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
                content = JsonElement.ParseValue(ref reader);
            }
            else if (reader.ValueTextEquals("event_id"u8))
            {
                reader.Read();
                eventId = reader.GetString();
            }
            else if (reader.ValueTextEquals("origin_server_ts"u8))
            {
                reader.Read();
                originServerTs = reader.TokenType == JsonTokenType.Number
                    ? reader.GetInt64()
                    : throw new JsonException($"origin_server_ts must be an integer, not {reader.TokenType}.");
            }
            else if (reader.ValueTextEquals("sender"u8))
            {
                reader.Read();
                sender = reader.GetString()!;
            }
            else if (reader.ValueTextEquals("type"u8))
            {
                reader.Read();
                type = ReadType(ref reader)!;
            }
            else if (reader.ValueTextEquals("unsigned"u8))
            {
                reader.Read();
                unsigned = ReadUnsigned(ref reader);
            }
            else if (reader.ValueTextEquals("state_key"u8))
            {
                reader.Read();
                stateKey = reader.GetString();
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
    /// An unknown field. The serializer hands a converter like this one the whole event at once, but the reader of a
    /// streamed body is not a final block, where <see cref="Utf8JsonReader.Skip"/> refuses to work: TrySkip does not.
    /// </summary>
    private static void SkipValue(ref Utf8JsonReader reader)
    {
        if (!reader.TrySkip())
            throw new JsonException("An event was cut short.");
    }

    /// <summary>The event type; the ones a bot sees all the time are the shared constants, not a new string each.</summary>
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
        return reader.GetString();
    }

    /// <summary><c>unsigned</c>: the same rules as the event, read in place rather than through another parameterized constructor.</summary>
    private static UnsignedData? ReadUnsigned(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.Null)
            return null;
        if (reader.TokenType != JsonTokenType.StartObject)
            throw new JsonException($"unsigned must be a JSON object, not {reader.TokenType}.");

        long? age = null;
        string? transactionId = null;
        JsonElement? redactedBecause = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("age"u8))
            {
                reader.Read();
                age = reader.TokenType switch
                {
                    JsonTokenType.Null => null,
                    JsonTokenType.Number => reader.GetInt64(),
                    _ => throw new JsonException($"unsigned.age must be an integer, not {reader.TokenType}."),
                };
            }
            else if (reader.ValueTextEquals("transaction_id"u8))
            {
                reader.Read();
                transactionId = reader.GetString();
            }
            else if (reader.ValueTextEquals("redacted_because"u8))
            {
                reader.Read();
                redactedBecause = reader.TokenType == JsonTokenType.Null ? null : JsonElement.ParseValue(ref reader);
            }
            else
            {
                reader.Read();
                SkipValue(ref reader);
            }
        }
        return new UnsignedData { Age = age, TransactionId = transactionId, RedactedBecause = redactedBecause };
    }
}
