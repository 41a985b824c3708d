using System.Net;
using System.Text.Json.Nodes;

namespace Doorman.Tests.Sandbox.Homeserver;

/// <summary>
/// <c>GET /rooms/{roomId}/messages</c> (CS API v1.12 §"Getting events for a room"): paging a room's history, and
/// filling the gap a limited sync leaves. Every test here speaks only HTTP, so tests/crosscheck.sh runs them on
/// Synapse too; none assumes a token's format.
/// </summary>
public sealed class MessagesTests
{
    private const string OnlyMessages = """{"types":["m.room.message"]}""";

    [Fact]
    public async Task Paging_back_from_a_limited_syncs_prev_batch_to_the_previous_next_batch_recovers_exactly_the_left_out_events()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var room = await hs.Client.CreateRoomAsync(alice);
        const string filter = """{"room":{"timeline":{"limit":3}}}""";
        var since = (await hs.Client.SyncAsync(alice, filter: filter)).Ok()["next_batch"]!.GetValue<string>();
        List<string> sent = [];
        for (var i = 0; i < 8; i++)
        {
            sent.Add(await hs.Client.SendTextAsync(alice, room, $"message {i}"));
        }

        var timeline = (await hs.Client.SyncAsync(alice, since, timeoutMs: 1, filter: filter)).Ok()["rooms"]!["join"]![room]!["timeline"]!;
        Assert.True(timeline["limited"]!.GetValue<bool>());
        Assert.Equal(sent[5..], EventIds(timeline["events"]!));

        // Backwards, two at a time, from prev_batch down to the token of the sync before.
        List<string> newestFirst = [];
        var from = timeline["prev_batch"]!.GetValue<string>();
        for (var page = 0; ; page++)
        {
            Assert.True(page < 10, "paging did not end");
            var body = (await MessagesAsync(hs, alice, room, $"dir=b&from={Esc(from)}&to={Esc(since)}&limit=2")).Ok();
            var chunk = EventIds(body["chunk"]!);
            Assert.True(chunk.Count <= 2);
            newestFirst.AddRange(chunk);
            if (body["end"] is not { } end)
            {
                break;
            }

            from = end.GetValue<string>();
        }

        newestFirst.Reverse();
        Assert.Equal(sent[..5], newestFirst);
    }

    [Fact]
    public async Task Backwards_is_newest_first_forwards_oldest_first_and_an_empty_page_has_no_end()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var room = await hs.Client.CreateRoomAsync(alice);
        List<string> sent = [];
        for (var i = 0; i < 4; i++)
        {
            sent.Add(await hs.Client.SendTextAsync(alice, room, $"message {i}"));
        }

        var filter = "&filter=" + Esc(OnlyMessages);
        var first = (await MessagesAsync(hs, alice, room, "dir=b&limit=3" + filter)).Ok();
        Assert.Equal([sent[3], sent[2], sent[1]], EventIds(first["chunk"]!));
        Assert.Equal(room, first["chunk"]![0]!["room_id"]!.GetValue<string>());
        Assert.False(string.IsNullOrEmpty(first["start"]!.GetValue<string>()));
        var second = (await MessagesAsync(hs, alice, room, $"dir=b&limit=3&from={Esc(first["end"]!.GetValue<string>())}" + filter)).Ok();
        Assert.Equal([sent[0]], EventIds(second["chunk"]!));
        var third = (await MessagesAsync(hs, alice, room, $"dir=b&limit=3&from={Esc(second["end"]!.GetValue<string>())}" + filter)).Ok();
        Assert.Empty(third["chunk"]!.AsArray());
        Assert.Null(third["end"]);

        var forwards = (await MessagesAsync(hs, alice, room, "dir=f&limit=3" + filter)).Ok();
        Assert.Equal(sent[..3], EventIds(forwards["chunk"]!));
        var rest = (await MessagesAsync(hs, alice, room, $"dir=f&limit=3&from={Esc(forwards["end"]!.GetValue<string>())}" + filter)).Ok();
        Assert.Equal([sent[3]], EventIds(rest["chunk"]!));
    }

    [Fact]
    public async Task Without_a_limit_a_page_holds_ten_events()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var room = await hs.Client.CreateRoomAsync(alice);
        for (var i = 0; i < 4; i++)
        {
            await hs.Client.SendTextAsync(alice, room, $"message {i}");
        }

        // The room's creation already made more than six events.
        var page = (await MessagesAsync(hs, alice, room, "dir=b")).Ok();
        Assert.Equal(10, page["chunk"]!.AsArray().Count);
        Assert.NotNull(page["end"]);
    }

    [Fact]
    public async Task A_page_of_limit_zero_is_empty_and_keeps_its_place()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var room = await hs.Client.CreateRoomAsync(alice);

        var page = (await MessagesAsync(hs, alice, room, "dir=b&limit=0")).Ok();
        Assert.Empty(page["chunk"]!.AsArray());
        Assert.Equal(page["start"]!.GetValue<string>(), page["end"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_user_who_was_never_in_the_room_is_refused_even_when_invited()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var bob = await hs.Client.RegisterAsync("bob");
        var room = await hs.Client.CreateRoomAsync(alice, new JsonObject { ["preset"] = "public_chat" });
        await hs.Client.SendTextAsync(alice, room, "members only");

        (await MessagesAsync(hs, bob, room, "dir=b")).Refused(HttpStatusCode.Forbidden, "M_FORBIDDEN");
        (await hs.Client.MembershipAsync(alice, room, "invite", bob.UserId)).Ok();
        (await MessagesAsync(hs, bob, room, "dir=b")).Refused(HttpStatusCode.Forbidden, "M_FORBIDDEN");
    }

    [Fact]
    public async Task A_user_who_left_sees_the_history_up_to_their_leave_and_nothing_after()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var bob = await hs.Client.RegisterAsync("bob");
        var room = await hs.Client.CreateRoomAsync(alice, new JsonObject { ["preset"] = "public_chat" });
        var beforeJoin = await hs.Client.SendTextAsync(alice, room, "before bob");
        (await hs.Client.JoinAsync(bob, room)).Ok();
        var whileJoined = await hs.Client.SendTextAsync(alice, room, "while bob is here");
        (await hs.Client.LeaveAsync(bob, room)).Ok();
        await hs.Client.SendTextAsync(alice, room, "after bob");

        var chunk = (await MessagesAsync(hs, bob, room, "dir=b&limit=50")).Ok()["chunk"]!.AsArray();

        var leave = chunk[0]!;
        Assert.Equal(("m.room.member", bob.UserId, "leave"),
            (leave["type"]!.GetValue<string>(), leave["state_key"]!.GetValue<string>(), leave["content"]!["membership"]!.GetValue<string>()));
        var ids = EventIds(chunk);
        Assert.Contains(whileJoined, ids);
        Assert.Contains(beforeJoin, ids); // history visibility "shared": what came before the join too
        Assert.DoesNotContain(chunk, e => e!["content"]!["body"]?.GetValue<string>() == "after bob");
    }

    [Fact]
    public async Task Malformed_parameters_are_refused()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var room = await hs.Client.CreateRoomAsync(alice);

        (await MessagesAsync(hs, alice, room, "dir=x")).Refused(HttpStatusCode.BadRequest, "M_INVALID_PARAM");
        (await MessagesAsync(hs, alice, room, "dir=b&limit=ten")).Refused(HttpStatusCode.BadRequest, "M_INVALID_PARAM");
        (await MessagesAsync(hs, alice, room, "dir=b&limit=-1")).Refused(HttpStatusCode.BadRequest, "M_INVALID_PARAM");
        (await MessagesAsync(hs, alice, room, "dir=b&filter=notjson")).Refused(HttpStatusCode.BadRequest, "M_NOT_JSON");
        (await MessagesAsync(hs, alice, room, "dir=b&from=garbage")).Refused(HttpStatusCode.BadRequest, "M_UNKNOWN");
        (await MessagesAsync(hs, alice, room, "dir=b&to=garbage")).Refused(HttpStatusCode.BadRequest, "M_UNKNOWN");
    }

    private static Task<MatrixResponse> MessagesAsync(TestHomeserver hs, TestUser user, string room, string query) =>
        hs.Client.GetAsync(MatrixTestClient.Room(room, "messages?" + query), user);

    private static List<string> EventIds(JsonNode events) => [.. events.AsArray().Select(e => e!["event_id"]!.GetValue<string>())];

    private static string Esc(string value) => Uri.EscapeDataString(value);
}
