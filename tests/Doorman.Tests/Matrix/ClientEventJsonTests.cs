using System.Text.Json;
using Doorman.Matrix;
using Doorman.Matrix.Events;

namespace Doorman.Tests.Matrix;

/// <summary>
/// How an event in the client format is read and written: every field the spec gives it, unknown fields ignored,
/// content kept raw, and a malformed event refused rather than half read. The sync fixtures test the same model on
/// real Synapse output; these pin the edges.
/// </summary>
public sealed class ClientEventJsonTests
{
    private const string Full = """
        {"content":{"body":"!gate status","msgtype":"m.text","m.mentions":{}},"event_id":"$abc:localhost","origin_server_ts":1795598501419,
         "sender":"@alice:localhost","type":"m.room.message","unsigned":{"age":1498581,"membership":"join","transaction_id":"t1"},"room_id":"!r:localhost"}
        """;

    [Fact]
    public void Every_field_of_an_event_is_read_and_unknown_ones_are_ignored()
    {
        var e = Read(Full);
        Assert.Equal("$abc:localhost", e.EventId);
        Assert.Equal(EventTypes.Message, e.Type);
        Assert.Equal("@alice:localhost", e.Sender);
        Assert.Null(e.StateKey);
        Assert.False(e.IsState);
        Assert.Equal(1795598501419, e.OriginServerTs);
        Assert.Equal("!gate status", e.ContentString("body"));
        Assert.Equal(JsonValueKind.Object, e.Content.GetProperty("m.mentions").ValueKind);
        Assert.Equal(1498581, e.UnsignedData?.Age);
        Assert.Equal("t1", e.UnsignedData?.TransactionId);
        Assert.Null(e.UnsignedData?.RedactedBecause);
    }

    [Fact]
    public void A_stripped_state_event_has_no_id_timestamp_or_unsigned()
    {
        var e = Read("""{"content":{"membership":"invite","is_direct":true},"sender":"@bob:localhost","state_key":"@doorman:localhost","type":"m.room.member"}""");
        Assert.Null(e.EventId);
        Assert.Equal(0, e.OriginServerTs);
        Assert.Null(e.UnsignedData);
        Assert.True(e.IsState);
        Assert.Equal("@doorman:localhost", e.StateKey);
        Assert.True(e.ContentBool("is_direct"));
        Assert.Equal(Membership.Invite, e.ContentString("membership"));
    }

    [Fact]
    public void An_empty_state_key_is_state_and_a_missing_content_reads_as_nothing()
    {
        var e = Read("""{"type":"m.room.create","state_key":"","sender":"@c:localhost","event_id":"$c","origin_server_ts":1}""");
        Assert.True(e.IsState);
        Assert.Equal("", e.StateKey);
        Assert.Equal(JsonValueKind.Undefined, e.Content.ValueKind);
        Assert.Null(e.ContentString("body"));
        Assert.False(e.ContentBool("anything"));
    }

    [Fact]
    public void Content_is_kept_whole_including_nested_and_escaped_values()
    {
        var e = Read("""{"type":"m.room.message","sender":"@a:b","content":{"body":"caf\u00e9 \"quoted\" <b>","nested":{"list":[1,2.5,null,true]},"n":null}}""");
        Assert.Equal("café \"quoted\" <b>", e.ContentString("body"));
        Assert.Equal(2.5, e.Content.GetProperty("nested").GetProperty("list")[1].GetDouble());
        Assert.Null(e.ContentString("n"));
    }

    [Fact]
    public void A_redacted_event_carries_what_redacted_it()
    {
        var e = Read("""{"type":"m.room.message","sender":"@a:b","content":{},"unsigned":{"redacted_because":{"type":"m.room.redaction","sender":"@m:b"}}}""");
        Assert.Equal("m.room.redaction", e.UnsignedData?.RedactedBecause?.GetProperty("type").GetString());
        Assert.Null(e.UnsignedData?.Age);
    }

    [Fact]
    public void Event_types_and_senders_are_read_as_sent()
    {
        foreach (var type in new[] { EventTypes.Message, EventTypes.Member, EventTypes.Create, EventTypes.PowerLevels, EventTypes.Encrypted, "m.room.name", "org.example.custom", "" })
            Assert.Equal(type, Read("{\"type\":\"" + type + "\",\"sender\":\"@a:b\",\"content\":{}}").Type);
        Assert.Equal("m.room.message", Read("""{"type":"m.room.mess\u0061ge","sender":"@a:b"}""").Type); // escaped is the same type
    }

    [Theory]
    [InlineData("""{"type":5,"sender":"@a:b"}""")]
    [InlineData("""{"type":"m.room.message","sender":"@a:b","origin_server_ts":"1"}""")]
    [InlineData("""{"type":"m.room.message","sender":"@a:b","origin_server_ts":null}""")]
    [InlineData("""{"type":"m.room.message","sender":"@a:b","origin_server_ts":1.5}""")]
    [InlineData("""{"type":"m.room.message","sender":["@a:b"]}""")]
    [InlineData("""{"type":"m.room.message","sender":"@a:b","unsigned":{"age":"old"}}""")]
    [InlineData("""{"type":"m.room.message","sender":"@a:b","unsigned":[]}""")]
    [InlineData("""["m.room.message"]""")]
    [InlineData("""{"type":"m.room.message","sender":"@a:b",}""")]
    public void A_malformed_event_is_refused(string json) =>
        Assert.ThrowsAny<JsonException>(() => JsonSerializer.Deserialize(json, MatrixJson.ClientEvent));

    [Fact]
    public void A_null_event_in_a_timeline_is_null() =>
        Assert.Null(Assert.Single(JsonSerializer.Deserialize("""{"events":[null]}""", MatrixJsonContext.Default.EventList)!.Events!));

    [Fact]
    public void Writing_an_event_writes_every_field_and_reads_back_the_same()
    {
        var e = Read(Full);
        var json = JsonSerializer.Serialize(e, MatrixJson.ClientEvent);
        Assert.Equal(
            """{"event_id":"$abc:localhost","type":"m.room.message","sender":"@alice:localhost","state_key":null,"origin_server_ts":1795598501419""" +
            ""","content":{"body":"!gate status","msgtype":"m.text","m.mentions":{}},"unsigned":{"age":1498581,"transaction_id":"t1","redacted_because":null}}""",
            json);
        var back = Read(json);
        Assert.Equal((e.EventId, e.Type, e.Sender, e.StateKey, e.OriginServerTs, e.UnsignedData), (back.EventId, back.Type, back.Sender, back.StateKey, back.OriginServerTs, back.UnsignedData));
        Assert.Equal(e.Content.GetRawText(), back.Content.GetRawText());

        var stripped = new ClientEvent { Type = EventTypes.Member, Sender = "@a:b", StateKey = "@a:b", Content = JsonDocument.Parse("""{"membership":"join"}""").RootElement };
        Assert.Equal("""{"event_id":null,"type":"m.room.member","sender":"@a:b","state_key":"@a:b","origin_server_ts":0,"content":{"membership":"join"},"unsigned":null}""",
            JsonSerializer.Serialize(stripped, MatrixJson.ClientEvent));
    }

    [Fact]
    public async Task A_sync_streamed_in_small_pieces_reads_the_same_as_in_one_piece()
    {
        var json = "{\"next_batch\":\"s1\",\"rooms\":{\"join\":{\"!r:b\":{\"timeline\":{\"events\":[" + string.Join(",", Enumerable.Repeat(Full, 400))
            + "],\"limited\":false}}}}}";
        var whole = JsonSerializer.Deserialize(json, MatrixJson.SyncResponse)!;
        await using var trickle = new TrickleStream(System.Text.Encoding.UTF8.GetBytes(json), chunk: 7);
        var streamed = (await JsonSerializer.DeserializeAsync(trickle, MatrixJson.SyncResponse))!;
        var a = whole.Rooms!.Join!["!r:b"].Timeline!.Events!;
        var b = streamed.Rooms!.Join!["!r:b"].Timeline!.Events!;
        Assert.True(json.Length > 64 * 1024, "longer than the serializer's first buffer, so it is read in pieces");
        Assert.Equal(400, b.Count);
        Assert.All(b, e => Assert.Equal(("$abc:localhost", "!gate status", 1498581L), (e.EventId, e.ContentString("body"), e.UnsignedData!.Age!.Value)));
        Assert.Equal(a.Select(e => e.Content.GetRawText()), b.Select(e => e.Content.GetRawText()));
    }

    private static ClientEvent Read(string json) => JsonSerializer.Deserialize(json, MatrixJson.ClientEvent)!;

    /// <summary>A body that arrives a few bytes at a time, as a slow network delivers it.</summary>
    private sealed class TrickleStream(byte[] data, int chunk) : MemoryStream(data, writable: false)
    {
        public override int Read(byte[] buffer, int offset, int count) => base.Read(buffer, offset, Math.Min(count, chunk));

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            base.ReadAsync(buffer[..Math.Min(buffer.Length, chunk)], cancellationToken);

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            base.ReadAsync(buffer, offset, Math.Min(count, chunk), cancellationToken);
    }
}
