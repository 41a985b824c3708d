using System.Net;
using System.Text.Json.Nodes;

namespace Doorman.Tests.Sandbox.Homeserver;

/// <summary>Sending and reading events and state: transaction ids, who may send, and what is returned.</summary>
public sealed class EventTests
{
    private const string V3 = "/_matrix/client/v3";

    [Fact]
    public async Task Resending_with_the_same_transaction_id_returns_the_same_event()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var room = await hs.Client.CreateRoomAsync(alice);

        var first = await hs.Client.SendTextAsync(alice, room, "invoice lnbc1...", txnId: "order-42");
        var retried = await hs.Client.SendTextAsync(alice, room, "invoice lnbc1... (retry)", txnId: "order-42");
        var other = await hs.Client.SendTextAsync(alice, room, "another", txnId: "order-43");

        Assert.Equal(first, retried);
        Assert.NotEqual(first, other);
        var sync = (await hs.Client.SyncAsync(alice)).Ok();
        var bodies = sync["rooms"]!["join"]![room]!["timeline"]!["events"]!.AsArray()
            .Where(e => e!["type"]!.GetValue<string>() == "m.room.message").Select(e => e!["content"]!["body"]!.GetValue<string>());
        Assert.Equal(["invoice lnbc1...", "another"], bodies);
    }

    [Fact]
    public async Task A_transaction_id_is_scoped_to_the_device_and_echoed_only_to_it()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var bob = await hs.Client.RegisterAsync("bob");
        var room = await hs.Client.CreateRoomAsync(alice, new JsonObject { ["preset"] = "public_chat" });
        (await hs.Client.JoinAsync(bob, room)).Ok();
        var aliceSince = (await hs.Client.SyncAsync(alice)).Ok()["next_batch"]!.GetValue<string>();
        var bobSince = (await hs.Client.SyncAsync(bob)).Ok()["next_batch"]!.GetValue<string>();

        var fromAlice = await hs.Client.SendTextAsync(alice, room, "a", txnId: "t1");
        var fromBob = await hs.Client.SendTextAsync(bob, room, "b", txnId: "t1");
        Assert.NotEqual(fromAlice, fromBob);

        var aliceView = (await hs.Client.SyncAsync(alice, aliceSince)).Ok()["rooms"]!["join"]![room]!["timeline"]!["events"]!.AsArray();
        var bobView = (await hs.Client.SyncAsync(bob, bobSince)).Ok()["rooms"]!["join"]![room]!["timeline"]!["events"]!.AsArray();
        Assert.Equal("t1", aliceView.Single(e => e!["event_id"]!.GetValue<string>() == fromAlice)!["unsigned"]!["transaction_id"]!.GetValue<string>());
        Assert.Null(bobView.Single(e => e!["event_id"]!.GetValue<string>() == fromAlice)!["unsigned"]!["transaction_id"]);
    }

    [Fact]
    public async Task Only_joined_members_may_send_and_read_state()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var mallory = await hs.Client.RegisterAsync("mallory");
        var room = await hs.Client.CreateRoomAsync(alice);

        (await hs.Client.SendMessageAsync(mallory, room, new JsonObject { ["msgtype"] = "m.text", ["body"] = "hi" }))
            .Refused(HttpStatusCode.Forbidden, "M_FORBIDDEN");
        (await hs.Client.GetStateAsync(mallory, room, "m.room.power_levels")).Refused(HttpStatusCode.Forbidden, "M_FORBIDDEN");
        (await hs.Client.GetAsync(MatrixTestClient.Room(room, "members"), mallory)).Refused(HttpStatusCode.Forbidden, "M_FORBIDDEN");
        (await hs.Client.SendMessageAsync(alice, "!unknown:localhost", new JsonObject { ["msgtype"] = "m.text", ["body"] = "hi" }))
            .Refused(HttpStatusCode.Forbidden, "M_FORBIDDEN");
    }

    [Fact]
    public async Task Missing_state_is_404_and_a_state_key_may_be_empty_with_or_without_the_trailing_slash()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var room = await hs.Client.CreateRoomAsync(alice);

        (await hs.Client.GetStateAsync(alice, room, "m.room.name")).Refused(HttpStatusCode.NotFound, "M_NOT_FOUND");
        (await hs.Client.PutAsync(MatrixTestClient.Room(room, "state/m.room.topic"), new JsonObject { ["topic"] = "one" }, alice)).Ok();
        Assert.Equal("one", (await hs.Client.GetAsync(MatrixTestClient.Room(room, "state/m.room.topic/"), alice)).Ok()["topic"]!.GetValue<string>());
        Assert.Equal("one", (await hs.Client.GetAsync(MatrixTestClient.Room(room, "state/m.room.topic"), alice)).Ok()["topic"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_replaced_state_event_carries_its_predecessor_in_unsigned()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var room = await hs.Client.CreateRoomAsync(alice, new JsonObject { ["name"] = "Before" });
        var since = (await hs.Client.SyncAsync(alice)).Ok()["next_batch"]!.GetValue<string>();

        (await hs.Client.PutStateAsync(alice, room, "m.room.name", new JsonObject { ["name"] = "After" })).Ok();

        var rename = (await hs.Client.SyncAsync(alice, since)).Ok()["rooms"]!["join"]![room]!["timeline"]!["events"]![0]!;
        Assert.Equal("After", rename["content"]!["name"]!.GetValue<string>());
        Assert.Equal("Before", rename["unsigned"]!["prev_content"]!["name"]!.GetValue<string>());
        Assert.Equal("", rename["state_key"]!.GetValue<string>());
    }

    [Fact]
    public async Task An_event_can_be_fetched_by_id_in_client_format()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var room = await hs.Client.CreateRoomAsync(alice);
        var eventId = await hs.Client.SendTextAsync(alice, room, "hello");

        var fetched = (await hs.Client.GetAsync(MatrixTestClient.Room(room, "event/" + MatrixTestClient.Esc(eventId)), alice)).Ok();

        Assert.Equal(eventId, fetched["event_id"]!.GetValue<string>());
        Assert.Equal(room, fetched["room_id"]!.GetValue<string>());
        Assert.Equal(alice.UserId, fetched["sender"]!.GetValue<string>());
        Assert.Equal("hello", fetched["content"]!["body"]!.GetValue<string>());
        Assert.True(fetched["origin_server_ts"]!.GetValue<long>() > 0);
        (await hs.Client.GetAsync(MatrixTestClient.Room(room, "event/%24nope"), alice)).Refused(HttpStatusCode.NotFound, "M_NOT_FOUND");
    }

    [Fact]
    public async Task Members_can_be_listed_by_membership_and_joined_members_omit_invitees()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var bob = await hs.Client.RegisterAsync("bob");
        var room = await hs.Client.CreateRoomAsync(alice, new JsonObject { ["invite"] = new JsonArray(bob.UserId) });

        var invited = (await hs.Client.GetAsync(MatrixTestClient.Room(room, "members?membership=invite"), alice)).Ok()["chunk"]!.AsArray();
        Assert.Equal([bob.UserId], invited.Select(e => e!["state_key"]!.GetValue<string>()));
        var notInvited = (await hs.Client.GetAsync(MatrixTestClient.Room(room, "members?not_membership=invite"), alice)).Ok()["chunk"]!.AsArray();
        Assert.Equal([alice.UserId], notInvited.Select(e => e!["state_key"]!.GetValue<string>()));
        var joined = (await hs.Client.GetAsync(MatrixTestClient.Room(room, "joined_members"), alice)).Ok()["joined"]!.AsObject();
        Assert.Equal([alice.UserId], joined.Select(kv => kv.Key));
        Assert.Equal([room], (await hs.Client.GetAsync(V3 + "/joined_rooms", alice)).Ok()["joined_rooms"]!.AsArray().Select(r => r!.GetValue<string>()));
    }

    [Fact]
    public async Task The_create_event_cannot_be_sent_again()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var room = await hs.Client.CreateRoomAsync(alice);

        (await hs.Client.PutStateAsync(alice, room, "m.room.create", new JsonObject { ["room_version"] = "10" }))
            .Refused(HttpStatusCode.BadRequest, "M_INVALID_PARAM");
        Assert.Equal("11", (await hs.Client.GetStateAsync(alice, room, "m.room.create")).Ok()["room_version"]!.GetValue<string>());
    }
}
