using System.Text;
using System.Text.Json;
using Doorman.Matrix;
using Doorman.Matrix.Events;
using Doorman.Tests.Support;

namespace Doorman.Tests.Matrix;

/// <summary>
/// How an event in the client format is read and written: every field the spec gives it, unknown fields ignored,
/// content kept raw, and a malformed event never half read: refused when read alone, skipped and counted in a list
/// (MalformedEventTests covers every section of a /sync). The sync fixtures test the same model on real Synapse
/// output; these pin the edges.
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

    public static TheoryData<string> Malformed => new()
    {
        """{"type":5,"sender":"@a:b"}""",
        """{"type":null,"sender":"@a:b"}""",
        """{"type":"m.room.message","sender":"@a:b","origin_server_ts":"1"}""",
        """{"type":"m.room.message","sender":"@a:b","origin_server_ts":null}""",
        """{"type":"m.room.message","sender":"@a:b","origin_server_ts":1.5}""",
        """{"type":"m.room.message","sender":"@a:b","origin_server_ts":1e30}""",
        """{"type":"m.room.message","sender":["@a:b"]}""",
        """{"type":"m.room.message","sender":null}""",
        """{"type":"m.room.message","sender":"@a:b","event_id":{}}""",
        """{"type":"m.room.member","sender":"@a:b","state_key":1}""",
        """{"type":"m.room.message","sender":"@a:b","content":"text"}""",
        """{"type":"m.room.message","sender":"@a:b","content":null}""",
        """{"type":"m.room.message","sender":"@a:b","content":[{"body":"x"}]}""",
        """{"type":"m.room.message","sender":"@a:b","unsigned":{"age":"old"}}""",
        """{"type":"m.room.message","sender":"@a:b","unsigned":{"transaction_id":7}}""",
        """{"type":"m.room.message","sender":"@a:b","unsigned":[]}""",
        """{"type":"m.room.message","sender":"@a:b","unsigned":3}""",
        """{"sender":5,"type":"m.room.message","sender":"@a:b"}""", // a wrong value is not mended by a repeat
        """["m.room.message"]""",
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    [InlineData("""{"type":"m.room.message","sender":"@a:b",}""")]
    public void A_malformed_event_read_alone_is_refused(string json) =>
        Assert.ThrowsAny<JsonException>(() => JsonSerializer.Deserialize(json, MatrixJson.ClientEvent));

    [Theory]
    [MemberData(nameof(Malformed))]
    public void A_malformed_event_in_a_timeline_is_skipped_alone_and_counted(string json)
    {
        var good = """{"type":"m.room.message","sender":"@a:b","event_id":"$good","content":{"body":"hi"}}""";
        var timeline = JsonSerializer.Deserialize("{\"events\":[" + good + "," + json + "," + good.Replace("$good", "$after", StringComparison.Ordinal) + "],\"limited\":true}",
            MatrixJsonContext.Default.Timeline)!;
        Assert.Equal(["$good", "$after"], timeline.Events!.Select(e => e.EventId));
        Assert.Equal(1, timeline.Skipped);
        Assert.True(timeline.Limited);
    }

    [Fact]
    public void A_string_that_is_not_text_makes_a_field_malformed_and_reads_as_null_in_content()
    {
        // The reader checks UTF-8 and \u escapes only when a string is taken: a lone surrogate, or bytes that are
        // not UTF-8, must cost only their event (in a field) or nothing (in content, which stays raw).
        var text = """
            {"events":[{"type":"m.room.message","sender":"@a:b\ud800","event_id":"$1"},{"type":"m.room.message","sender":"@a:NOT-UTF-8","event_id":"$2"},
            {"type":"m.room.message","sender":"@a:b","event_id":"$3","content":{"body":"x\udc00","msgtype":"NOT-UTF-8"}}],"limited":false,"prev_batch":"p\ud800"}
            """;
        byte[] notUtf8 = [0xC3, 0x28];
        var json = text.Split("NOT-UTF-8").Select(Encoding.UTF8.GetBytes).Aggregate((a, b) => [.. a, .. notUtf8, .. b]);
        var timeline = JsonSerializer.Deserialize(json, MatrixJsonContext.Default.Timeline)!;

        var e = Assert.Single(timeline.Events!);
        Assert.Equal("$3", e.EventId);
        Assert.Null(e.ContentString("body"));
        Assert.Null(e.ContentString("msgtype"));
        Assert.Equal(2, timeline.Skipped);
        Assert.Null(timeline.PrevBatch);
    }

    [Fact]
    public void Content_nested_a_thousand_levels_deep_is_read()
    {
        const int depth = 1000;
        var content = "{\"body\":\"deep\",\"n\":" + new string('[', depth) + new string(']', depth) + "}";
        var json = "{\"next_batch\":\"s1\",\"rooms\":{\"join\":{\"!r:b\":{\"timeline\":{\"events\":[{\"type\":\"m.room.message\",\"sender\":\"@a:b\",\"content\":"
            + content + "}]}}}}}";
        var e = Assert.Single(JsonSerializer.Deserialize(json, MatrixJson.SyncResponse)!.Rooms!.Join!["!r:b"].Timeline!.Events!);
        Assert.Equal("deep", e.ContentString("body"));
    }

    [Fact]
    public void A_null_event_in_a_timeline_is_skipped_and_counted()
    {
        var list = JsonSerializer.Deserialize("""{"events":[null]}""", MatrixJsonContext.Default.EventList)!;
        Assert.Empty(list.Events!);
        Assert.Equal(1, list.Skipped);
    }

    [Fact]
    public void Writing_an_event_writes_every_field_and_reads_back_the_same()
    {
        var e = Read(Full);
        var json = JsonSerializer.Serialize(e, MatrixJson.ClientEvent);
        Assert.Equal(
            """{"event_id":"$abc:localhost","type":"m.room.message","sender":"@alice:localhost","state_key":null,"origin_server_ts":1795598501419""" +
            ""","content":{"body":"!gate status","msgtype":"m.text","m.mentions":{}},"unsigned":{"age":1498581,"transaction_id":"t1","redacted_because":null,"prev_content":null}}""",
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
}
