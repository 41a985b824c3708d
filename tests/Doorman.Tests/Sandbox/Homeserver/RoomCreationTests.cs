using System.Net;
using System.Text.Json.Nodes;

namespace Doorman.Tests.Sandbox.Homeserver;

/// <summary><c>createRoom</c>: presets, the events it writes in order, and what differs between room versions 10, 11 and 12.</summary>
public sealed class RoomCreationTests
{
    private const string V3 = "/_matrix/client/v3";

    [Fact]
    public async Task A_private_chat_starts_with_the_event_sequence_and_power_levels_Synapse_writes()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var bob = await hs.Client.RegisterAsync("bob");
        var room = await hs.Client.CreateRoomAsync(alice, new JsonObject
        {
            ["preset"] = "private_chat", ["name"] = "Members", ["topic"] = "Paid access", ["invite"] = new JsonArray(bob.UserId),
        });

        var timeline = (await hs.Client.SyncAsync(alice, filter: """{"room":{"timeline":{"limit":50}}}""")).Ok()["rooms"]!["join"]![room]!["timeline"]!["events"]!.AsArray();
        Assert.Equal(
            ["m.room.create", "m.room.member", "m.room.power_levels", "m.room.join_rules", "m.room.history_visibility",
             "m.room.guest_access", "m.room.name", "m.room.topic", "m.room.member"],
            timeline.Select(e => e!["type"]!.GetValue<string>()));
        Assert.Equal("invite", timeline[^1]!["content"]!["membership"]!.GetValue<string>());

        var levels = (await hs.Client.GetStateAsync(alice, room, "m.room.power_levels")).Ok();
        Assert.Equal(100, levels["users"]![alice.UserId]!.GetValue<int>());
        Assert.Null(levels["users"]![bob.UserId]);
        Assert.Equal(0, levels["invite"]!.GetValue<int>());
        Assert.Equal(50, levels["kick"]!.GetValue<int>());
        Assert.Equal(50, levels["ban"]!.GetValue<int>());
        Assert.Equal(50, levels["state_default"]!.GetValue<int>());
        Assert.Equal(0, levels["events_default"]!.GetValue<int>());
        Assert.Equal("invite", (await hs.Client.GetStateAsync(alice, room, "m.room.join_rules")).Ok()["join_rule"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_trusted_private_chat_in_room_version_11_gives_invitees_the_creators_level()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var bob = await hs.Client.RegisterAsync("bob");
        var room = await hs.Client.CreateRoomAsync(alice, new JsonObject
        {
            ["preset"] = "trusted_private_chat", ["room_version"] = "11", ["is_direct"] = true, ["invite"] = new JsonArray(bob.UserId),
        });

        var levels = (await hs.Client.GetStateAsync(alice, room, "m.room.power_levels")).Ok();
        Assert.Equal(100, levels["users"]![bob.UserId]!.GetValue<int>());
        var create = (await hs.Client.GetStateAsync(alice, room, "m.room.create")).Ok();
        Assert.Null(create["creator"]);
    }

    [Fact]
    public async Task A_public_chat_is_public_without_guest_access()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var room = await hs.Client.CreateRoomAsync(alice, new JsonObject { ["preset"] = "public_chat" });

        Assert.Equal("public", (await hs.Client.GetStateAsync(alice, room, "m.room.join_rules")).Ok()["join_rule"]!.GetValue<string>());
        (await hs.Client.GetStateAsync(alice, room, "m.room.guest_access")).Refused(HttpStatusCode.NotFound, "M_NOT_FOUND");
    }

    [Fact]
    public async Task Room_version_12_ids_carry_no_server_part_and_creators_stay_out_of_the_power_levels()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var carol = await hs.Client.RegisterAsync("carol");
        var room = await hs.Client.CreateRoomAsync(alice, new JsonObject
        {
            ["room_version"] = "12", ["creation_content"] = new JsonObject { ["additional_creators"] = new JsonArray(carol.UserId) },
        });

        Assert.StartsWith("!", room, StringComparison.Ordinal);
        Assert.DoesNotContain(':', room);
        Assert.Equal(44, room.Length); // `!` + unpadded URL-safe base64 of a SHA-256
        Assert.Matches("^![A-Za-z0-9_-]+$", room);

        var state = (await hs.Client.GetAsync(MatrixTestClient.Room(room, "state"), alice)).Ok().AsArray();
        var create = state.Single(e => e!["type"]!.GetValue<string>() == "m.room.create")!;
        Assert.Equal(alice.UserId, create["sender"]!.GetValue<string>());
        Assert.Null(create["content"]!["creator"]);
        Assert.Equal("12", create["content"]!["room_version"]!.GetValue<string>());
        Assert.Equal(carol.UserId, create["content"]!["additional_creators"]![0]!.GetValue<string>());

        var levels = state.Single(e => e!["type"]!.GetValue<string>() == "m.room.power_levels")!["content"]!;
        Assert.Empty(levels["users"]!.AsObject());
        Assert.Equal(150, levels["events"]!["m.room.tombstone"]!.GetValue<int>());
    }

    [Fact]
    public async Task A_trusted_private_chat_in_room_version_12_makes_invitees_additional_creators()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var bob = await hs.Client.RegisterAsync("bob");
        var room = await hs.Client.CreateRoomAsync(alice, new JsonObject
        {
            ["preset"] = "trusted_private_chat", ["room_version"] = "12", ["is_direct"] = true, ["invite"] = new JsonArray(bob.UserId),
        });

        var create = (await hs.Client.GetStateAsync(alice, room, "m.room.create")).Ok();
        Assert.Equal(bob.UserId, create["additional_creators"]![0]!.GetValue<string>());
        Assert.Empty((await hs.Client.GetStateAsync(alice, room, "m.room.power_levels")).Ok()["users"]!.AsObject());
    }

    [Fact]
    public async Task Room_version_10_names_the_creator_in_the_create_event()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var room = await hs.Client.CreateRoomAsync(alice, new JsonObject { ["room_version"] = "10" });

        Assert.EndsWith(":localhost", room, StringComparison.Ordinal);
        Assert.Equal(alice.UserId, (await hs.Client.GetStateAsync(alice, room, "m.room.create")).Ok()["creator"]!.GetValue<string>());
    }

    [Fact]
    public async Task The_default_room_version_is_11()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var room = await hs.Client.CreateRoomAsync(alice);
        Assert.Equal("11", (await hs.Client.GetStateAsync(alice, room, "m.room.create")).Ok()["room_version"]!.GetValue<string>());
    }

    [Fact]
    public async Task Initial_state_and_power_level_overrides_shape_the_new_room()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var room = await hs.Client.CreateRoomAsync(alice, new JsonObject
        {
            ["room_version"] = "12",
            ["initial_state"] = new JsonArray(new JsonObject { ["type"] = "m.room.join_rules", ["content"] = new JsonObject { ["join_rule"] = "knock" } }),
            ["power_level_content_override"] = new JsonObject { ["invite"] = 50, ["events_default"] = 10 },
        });

        Assert.Equal("knock", (await hs.Client.GetStateAsync(alice, room, "m.room.join_rules")).Ok()["join_rule"]!.GetValue<string>());
        var levels = (await hs.Client.GetStateAsync(alice, room, "m.room.power_levels")).Ok();
        Assert.Equal(50, levels["invite"]!.GetValue<int>());
        Assert.Equal(10, levels["events_default"]!.GetValue<int>());
    }

    [Fact]
    public async Task An_unsupported_room_version_and_a_taken_alias_are_refused()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var alias = "doorman" + Guid.NewGuid().ToString("N")[..8];
        await hs.Client.CreateRoomAsync(alice, new JsonObject { ["room_alias_name"] = alias });

        (await hs.Client.PostAsync(V3 + "/createRoom", new JsonObject { ["room_version"] = "999" }, alice))
            .Refused(HttpStatusCode.BadRequest, "M_UNSUPPORTED_ROOM_VERSION");
        (await hs.Client.PostAsync(V3 + "/createRoom", new JsonObject { ["room_alias_name"] = alias }, alice))
            .Refused(HttpStatusCode.BadRequest, "M_ROOM_IN_USE");
        (await hs.Client.PostAsync(V3 + "/createRoom", new JsonObject { ["preset"] = "secret_chat" }, alice))
            .Refused(HttpStatusCode.BadRequest, "M_BAD_JSON");
    }

    [Fact]
    public async Task Aliases_resolve_through_the_directory_and_can_be_joined()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var bob = await hs.Client.RegisterAsync("bob");
        var room = await hs.Client.CreateRoomAsync(alice, new JsonObject { ["preset"] = "public_chat" });
        var alias = $"#doorman{Guid.NewGuid():N}:localhost";
        var path = V3 + "/directory/room/" + MatrixTestClient.Esc(alias);

        (await hs.Client.GetAsync(path, alice)).Refused(HttpStatusCode.NotFound, "M_NOT_FOUND");
        (await hs.Client.PutAsync(path, new JsonObject { ["room_id"] = room }, alice)).Ok();
        Assert.Equal(room, (await hs.Client.GetAsync(path, alice)).Ok()["room_id"]!.GetValue<string>());
        Assert.Equal(room, (await hs.Client.JoinAsync(bob, alias)).Ok()["room_id"]!.GetValue<string>());
        (await hs.Client.JoinAsync(bob, "#no-such-alias:localhost")).Refused(HttpStatusCode.NotFound, "M_NOT_FOUND");
    }

    /// <summary>
    /// Synapse checks the alias before it looks it up, and asks another server over federation; our test Synapse, like
    /// the sandbox, cannot reach one, and answers 502.
    /// </summary>
    [Theory]
    [InlineData("#a", 400, "M_INVALID_PARAM")]
    [InlineData("#a:", 400, "M_INVALID_PARAM")]
    [InlineData("#a:b:c", 400, "M_INVALID_PARAM")]
    [InlineData("#a:b c", 400, "M_INVALID_PARAM")]
    [InlineData("#a:bad_host", 400, "M_INVALID_PARAM")]
    [InlineData("#a:[not-ipv6]", 400, "M_INVALID_PARAM")]
    [InlineData("#no-such-alias:localhost", 404, "M_NOT_FOUND")]
    [InlineData("#é:localhost", 404, "M_NOT_FOUND")]
    [InlineData("#a:unreachable.invalid", 502, "M_UNKNOWN")]
    [InlineData("#a:[::1]", 502, "M_UNKNOWN")]
    [InlineData("#a:matrix.example:8448", 502, "M_UNKNOWN")]
    [InlineData("#a/b:-odd-", 502, "M_UNKNOWN")]
    public async Task An_alias_that_is_not_valid_is_400_and_one_on_an_unreachable_server_502(string alias, int status, string errcode)
    {
        await using var hs = await TestHomeserver.StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");

        (await hs.Client.GetAsync(V3 + "/directory/room/" + MatrixTestClient.Esc(alias), alice)).Refused((HttpStatusCode)status, errcode);
    }
}
