using System.Net;
using System.Text.Json;
using Doorman.Matrix;
using Doorman.Matrix.Events;
using Doorman.Matrix.Rooms;
using Doorman.Matrix.Sync;

namespace Doorman.Tests.Matrix;

/// <summary>
/// Filling the gap of a limited sync with <see cref="MatrixClient.GetMessagesAsync"/> and
/// <see cref="MatrixClient.GetTimelineGapAsync"/>, with the bot's own filter, against the sandbox homeserver.
/// </summary>
public sealed class TimelineGapTests() : TwoUsersOnSandbox("bot")
{
    private async Task<string> RoomWithBotAsync()
    {
        var room = await AliceClient.CreateRoomAsync(new CreateRoomRequest { Preset = CreateRoomRequest.PublicChat }, default);
        await SecondClient.JoinAsync(room, null, null, default);
        return room;
    }

    private async Task<List<string>> SayAsync(string room, int count, string prefix = "message")
    {
        List<string> ids = [];
        for (var i = 0; i < count; i++)
            ids.Add(await AliceClient.SendMessageAsync(room, Guid.NewGuid().ToString("N"), new MessageContent { MsgType = MessageContent.Text, Body = $"{prefix} {i}" }, default));
        return ids;
    }

    [Fact]
    public async Task With_the_bots_filter_sixty_new_messages_give_a_limited_timeline_and_the_gap_is_fetched_whole_in_order()
    {
        var room = await RoomWithBotAsync();
        using var filter = JsonDocument.Parse(new SyncLoopOptions().FilterJson);
        var filterId = await SecondClient.UploadFilterAsync(Second.UserId, filter.RootElement, default);
        var since = (await SecondClient.SyncAsync(null, filterId, TimeSpan.Zero, default)).NextBatch;
        var sent = await SayAsync(room, 60);

        var timeline = (await SecondClient.SyncAsync(since, filterId, TimeSpan.Zero, default)).Rooms!.Join![room].Timeline!;
        Assert.True(timeline.Limited);
        Assert.Equal(sent[10..], timeline.Events!.Select(e => e.EventId));
        Assert.NotNull(timeline.PrevBatch);

        var gap = await SecondClient.GetTimelineGapAsync(room, timeline.PrevBatch, since, maxEvents: 1000, default);
        Assert.True(gap.Complete);
        Assert.Equal(sent[..10], gap.Events.Select(e => e.EventId));
        Assert.Equal(0, gap.Skipped);

        // Cut short: the newest of the gap, still oldest first.
        var part = await SecondClient.GetTimelineGapAsync(room, timeline.PrevBatch, since, maxEvents: 4, default);
        Assert.False(part.Complete);
        Assert.Equal(sent[6..10], part.Events.Select(e => e.EventId));
    }

    [Fact]
    public async Task Messages_pages_backwards_and_forwards_with_a_filter()
    {
        var room = await RoomWithBotAsync();
        var sent = await SayAsync(room, 5);
        const string onlyMessages = """{"types":["m.room.message"]}""";

        var newest = await SecondClient.GetMessagesAsync(room, null, null, Direction.Backward, 3, onlyMessages, default);
        Assert.Equal([sent[4], sent[3], sent[2]], newest.Chunk.Select(e => e.EventId));
        Assert.All(newest.Chunk, e => Assert.Equal(Alice.UserId, e.Sender));
        var older = await SecondClient.GetMessagesAsync(room, newest.End, null, Direction.Backward, 3, onlyMessages, default);
        Assert.Equal([sent[1], sent[0]], older.Chunk.Select(e => e.EventId));
        var none = await SecondClient.GetMessagesAsync(room, older.End, null, Direction.Backward, 3, onlyMessages, default);
        Assert.Empty(none.Chunk);
        Assert.Null(none.End);

        var oldest = await SecondClient.GetMessagesAsync(room, null, null, Direction.Forward, 2, onlyMessages, default);
        Assert.Equal(sent[..2], oldest.Chunk.Select(e => e.EventId));
        Assert.Equal(EventTypes.Message, oldest.Chunk[0].Type);
    }

    [Fact]
    public async Task A_room_the_user_was_never_in_is_refused_with_403()
    {
        var room = await AliceClient.CreateRoomAsync(new CreateRoomRequest { Preset = CreateRoomRequest.PublicChat }, default);
        var e = await Assert.ThrowsAsync<MatrixException>(() => SecondClient.GetMessagesAsync(room, null, null, Direction.Backward, null, null, default));
        Assert.Equal(HttpStatusCode.Forbidden, e.Status);
        Assert.True(e.IsForbidden);
    }

    [Fact]
    public void Malformed_events_in_a_page_are_skipped_alone_and_counted()
    {
        var page = JsonSerializer.Deserialize("""
            {"chunk":[{"type":"m.room.message","sender":"@a:b","event_id":"$3","content":{}},{"type":"m.room.message","sender":5,"event_id":"$2"},
                      null,{"type":"m.room.message","sender":"@a:b","event_id":"$1","content":"text"},{"type":"m.room.message","sender":"@a:b","event_id":"$0"}],
             "start":"s9","end":"s1","state":[{"type":"m.room.member","sender":"@a:b","state_key":[]}]}
            """, MatrixJsonContext.Default.MessagesResponse)!;

        Assert.Equal(["$3", "$0"], page.Chunk.Select(e => e.EventId));
        Assert.Equal(4, page.Skipped);
        Assert.Empty(page.State!);
        Assert.Equal(("s9", "s1"), (page.Start, page.End));

        var last = JsonSerializer.Deserialize("""{"chunk":[],"start":"s1"}""", MatrixJsonContext.Default.MessagesResponse)!;
        Assert.Null(last.End);
        Assert.Equal("""{"chunk":[],"start":"s1","end":null,"state":null}""", JsonSerializer.Serialize(last, MatrixJsonContext.Default.MessagesResponse));
    }
}
