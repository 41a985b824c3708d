using System.Net;
using System.Text.Json.Nodes;

namespace Doorman.Tests.Sandbox.Homeserver;

/// <summary>Membership transitions (CS API §"Room membership", rooms spec auth rule 5) as Synapse applies them.</summary>
public sealed class MembershipTests
{
    [Fact]
    public async Task An_invite_only_room_can_be_joined_only_after_an_invite()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var bob = await hs.Client.RegisterAsync("bob");
        var room = await hs.Client.CreateRoomAsync(alice, new JsonObject { ["preset"] = "private_chat" });

        (await hs.Client.JoinAsync(bob, room)).Refused(HttpStatusCode.Forbidden, "M_FORBIDDEN");
        Assert.Null(await hs.Client.MembershipOfAsync(alice, room, bob.UserId));

        (await hs.Client.MembershipAsync(alice, room, "invite", bob.UserId, reason: "paid")).Ok();
        Assert.Equal("paid", (await hs.Client.GetStateAsync(alice, room, "m.room.member", bob.UserId)).Ok()["reason"]!.GetValue<string>());
        Assert.Equal(room, (await hs.Client.JoinAsync(bob, room)).Ok()["room_id"]!.GetValue<string>());
        Assert.Equal("join", await hs.Client.MembershipOfAsync(alice, room, bob.UserId));
    }

    [Fact]
    public async Task Inviting_a_joined_user_is_refused_and_reinviting_an_invited_user_changes_nothing()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var bob = await hs.Client.RegisterAsync("bob");
        var carol = await hs.Client.RegisterAsync("carol");
        var room = await hs.Client.CreateRoomAsync(alice, new JsonObject { ["preset"] = "public_chat" });
        (await hs.Client.JoinAsync(bob, room)).Ok();

        (await hs.Client.MembershipAsync(alice, room, "invite", bob.UserId)).Refused(HttpStatusCode.Forbidden, "M_FORBIDDEN");

        (await hs.Client.MembershipAsync(alice, room, "invite", carol.UserId)).Ok();
        var since = (await hs.Client.SyncAsync(alice)).Ok()["next_batch"]!.GetValue<string>();
        (await hs.Client.MembershipAsync(alice, room, "invite", carol.UserId)).Ok();
        var after = (await hs.Client.SyncAsync(alice, since)).Ok();
        Assert.Null(after["rooms"]?["join"]?[room]);
    }

    [Fact]
    public async Task A_banned_user_can_neither_join_nor_knock_nor_be_invited()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var bob = await hs.Client.RegisterAsync("bob");
        var room = await hs.Client.CreateRoomAsync(alice, new JsonObject
        {
            ["preset"] = "public_chat",
            ["initial_state"] = new JsonArray(new JsonObject { ["type"] = "m.room.join_rules", ["content"] = new JsonObject { ["join_rule"] = "knock" } }),
        });
        (await hs.Client.MembershipAsync(alice, room, "ban", bob.UserId, reason: "fraud")).Ok();

        Assert.Equal(HttpStatusCode.Forbidden, (await hs.Client.JoinAsync(bob, room)).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await hs.Client.KnockAsync(bob, room)).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await hs.Client.MembershipAsync(alice, room, "invite", bob.UserId)).Status);
        var ban = (await hs.Client.GetStateAsync(alice, room, "m.room.member", bob.UserId)).Ok();
        Assert.Equal("ban", ban["membership"]!.GetValue<string>());
        Assert.Equal("fraud", ban["reason"]!.GetValue<string>());
    }

    [Fact]
    public async Task Kicking_someone_not_in_the_room_is_refused()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var bob = await hs.Client.RegisterAsync("bob");
        var room = await hs.Client.CreateRoomAsync(alice);

        (await hs.Client.MembershipAsync(alice, room, "kick", bob.UserId)).Refused(HttpStatusCode.Forbidden, "M_FORBIDDEN");
        Assert.Null(await hs.Client.MembershipOfAsync(alice, room, bob.UserId));

        (await hs.Client.MembershipAsync(alice, room, "ban", bob.UserId)).Ok();
        (await hs.Client.MembershipAsync(alice, room, "kick", bob.UserId)).Refused(HttpStatusCode.Forbidden, "M_BAD_STATE");
        Assert.Equal("ban", await hs.Client.MembershipOfAsync(alice, room, bob.UserId));
    }

    [Fact]
    public async Task Leaving_a_room_one_is_not_in_is_403_and_an_unknown_room_404()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var bob = await hs.Client.RegisterAsync("bob");
        var room = await hs.Client.CreateRoomAsync(alice);

        (await hs.Client.LeaveAsync(bob, room)).Refused(HttpStatusCode.Forbidden, "M_FORBIDDEN");
        Assert.Equal(HttpStatusCode.NotFound, (await hs.Client.LeaveAsync(bob, "!unknown:localhost")).Status);
    }

    [Fact]
    public async Task The_inviter_must_be_joined_and_hold_the_invite_level()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var bob = await hs.Client.RegisterAsync("bob");
        var carol = await hs.Client.RegisterAsync("carol");
        var room = await hs.Client.CreateRoomAsync(alice, new JsonObject
        {
            ["preset"] = "public_chat", ["power_level_content_override"] = new JsonObject { ["invite"] = 50 },
        });

        (await hs.Client.MembershipAsync(bob, room, "invite", carol.UserId)).Refused(HttpStatusCode.Forbidden, "M_FORBIDDEN");
        (await hs.Client.JoinAsync(bob, room)).Ok();
        (await hs.Client.MembershipAsync(bob, room, "invite", carol.UserId)).Refused(HttpStatusCode.Forbidden, "M_FORBIDDEN");
        Assert.Null(await hs.Client.MembershipOfAsync(alice, room, carol.UserId));
        (await hs.Client.MembershipAsync(alice, room, "invite", carol.UserId)).Ok();
    }

    [Fact]
    public async Task Knocking_needs_a_knock_join_rule()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var bob = await hs.Client.RegisterAsync("bob");
        var room = await hs.Client.CreateRoomAsync(alice, new JsonObject { ["preset"] = "private_chat" });

        (await hs.Client.KnockAsync(bob, room)).Refused(HttpStatusCode.Forbidden, "M_FORBIDDEN");
        Assert.Null(await hs.Client.MembershipOfAsync(alice, room, bob.UserId));
    }

    [Fact]
    public async Task An_invite_accepts_a_knock_and_a_kick_declines_one()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var bob = await hs.Client.RegisterAsync("bob");
        var carol = await hs.Client.RegisterAsync("carol");
        var room = await KnockRoomAsync(hs.Client, alice, "12");

        (await hs.Client.KnockAsync(bob, room, reason: "I paid")).Ok();
        (await hs.Client.KnockAsync(carol, room)).Ok();
        var knocking = (await hs.Client.GetAsync(MatrixTestClient.Room(room, "members?membership=knock"), alice)).Ok()["chunk"]!.AsArray();
        Assert.Equal(((string[])[bob.UserId, carol.UserId]).Order(StringComparer.Ordinal),
            knocking.Select(e => e!["state_key"]!.GetValue<string>()).Order(StringComparer.Ordinal));
        Assert.Equal("I paid", knocking.Single(e => e!["state_key"]!.GetValue<string>() == bob.UserId)!["content"]!["reason"]!.GetValue<string>());

        (await hs.Client.MembershipAsync(alice, room, "invite", bob.UserId)).Ok();
        (await hs.Client.MembershipAsync(alice, room, "kick", carol.UserId, reason: "not paid")).Ok();

        Assert.Equal("invite", await hs.Client.MembershipOfAsync(alice, room, bob.UserId));
        Assert.Equal("leave", await hs.Client.MembershipOfAsync(alice, room, carol.UserId));
        (await hs.Client.JoinAsync(bob, room)).Ok();
        Assert.Equal("join", await hs.Client.MembershipOfAsync(alice, room, bob.UserId));
    }

    [Fact]
    public async Task A_member_or_invitee_cannot_knock()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var bob = await hs.Client.RegisterAsync("bob");
        var room = await KnockRoomAsync(hs.Client, alice, "11");

        (await hs.Client.KnockAsync(alice, room)).Refused(HttpStatusCode.Forbidden, "M_FORBIDDEN");
        (await hs.Client.MembershipAsync(alice, room, "invite", bob.UserId)).Ok();
        (await hs.Client.KnockAsync(bob, room)).Refused(HttpStatusCode.Forbidden, "M_FORBIDDEN");
        Assert.Equal("invite", await hs.Client.MembershipOfAsync(alice, room, bob.UserId));
    }

    [Fact]
    public async Task A_knocker_may_withdraw_and_a_knock_restricted_room_accepts_knocks()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var bob = await hs.Client.RegisterAsync("bob");
        var room = await hs.Client.CreateRoomAsync(alice, new JsonObject
        {
            ["room_version"] = "10",
            ["initial_state"] = new JsonArray(new JsonObject
            {
                ["type"] = "m.room.join_rules", ["content"] = new JsonObject { ["join_rule"] = "knock_restricted", ["allow"] = new JsonArray() },
            }),
        });

        (await hs.Client.KnockAsync(bob, room)).Ok();
        Assert.Equal("knock", await hs.Client.MembershipOfAsync(alice, room, bob.UserId));
        (await hs.Client.LeaveAsync(bob, room)).Ok();
        Assert.Equal("leave", await hs.Client.MembershipOfAsync(alice, room, bob.UserId));
    }

    [Fact]
    public async Task A_restricted_room_admits_members_of_an_allowed_room_vouched_for_by_an_inviter()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var bob = await hs.Client.RegisterAsync("bob");
        var subscribers = await hs.Client.CreateRoomAsync(alice, new JsonObject { ["room_version"] = "10" });
        var gated = await hs.Client.CreateRoomAsync(alice, new JsonObject
        {
            ["room_version"] = "10",
            ["initial_state"] = new JsonArray(new JsonObject
            {
                ["type"] = "m.room.join_rules",
                ["content"] = new JsonObject
                {
                    ["join_rule"] = "restricted",
                    ["allow"] = new JsonArray(new JsonObject { ["type"] = "m.room_membership", ["room_id"] = subscribers }),
                },
            }),
        });

        (await hs.Client.JoinAsync(bob, gated)).Refused(HttpStatusCode.Forbidden, "M_FORBIDDEN");
        (await hs.Client.MembershipAsync(alice, subscribers, "invite", bob.UserId)).Ok();
        (await hs.Client.JoinAsync(bob, subscribers)).Ok();
        (await hs.Client.JoinAsync(bob, gated)).Ok();

        var join = (await hs.Client.GetStateAsync(alice, gated, "m.room.member", bob.UserId)).Ok();
        Assert.Equal("join", join["membership"]!.GetValue<string>());
        Assert.Equal(alice.UserId, join["join_authorised_via_users_server"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_room_can_be_forgotten_only_after_leaving_it()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var room = await hs.Client.CreateRoomAsync(alice);

        Assert.Equal(HttpStatusCode.BadRequest, (await hs.Client.PostAsync(MatrixTestClient.Room(room, "forget"), new JsonObject(), alice)).Status);
        (await hs.Client.LeaveAsync(alice, room, reason: "done")).Ok();
        (await hs.Client.PostAsync(MatrixTestClient.Room(room, "forget"), new JsonObject(), alice)).Ok();
    }

    [Fact]
    public async Task Unbanning_someone_who_is_not_banned_is_refused()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var bob = await hs.Client.RegisterAsync("bob");
        var room = await hs.Client.CreateRoomAsync(alice, new JsonObject { ["preset"] = "public_chat" });
        (await hs.Client.JoinAsync(bob, room)).Ok();

        Assert.Equal(HttpStatusCode.Forbidden, (await hs.Client.MembershipAsync(alice, room, "unban", bob.UserId)).Status);
        Assert.Equal("join", await hs.Client.MembershipOfAsync(alice, room, bob.UserId));
    }

    internal static Task<string> KnockRoomAsync(MatrixTestClient client, TestUser owner, string version) =>
        client.CreateRoomAsync(owner, new JsonObject
        {
            ["preset"] = "private_chat",
            ["room_version"] = version,
            ["initial_state"] = new JsonArray(new JsonObject { ["type"] = "m.room.join_rules", ["content"] = new JsonObject { ["join_rule"] = "knock" } }),
        });

    [Fact]
    public async Task A_kick_withdraws_a_pending_invite()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var bob = await hs.Client.RegisterAsync("bob");
        var room = await hs.Client.CreateRoomAsync(alice, new JsonObject { ["invite"] = new JsonArray(bob.UserId) });

        (await hs.Client.MembershipAsync(alice, room, "kick", bob.UserId, reason: "payment expired")).Ok();

        Assert.Equal("leave", await hs.Client.MembershipOfAsync(alice, room, bob.UserId));
        (await hs.Client.JoinAsync(bob, room)).Refused(HttpStatusCode.Forbidden, "M_FORBIDDEN");
    }

    [Fact]
    public async Task Nobody_may_set_state_keyed_by_another_user()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var room = await hs.Client.CreateRoomAsync(alice);

        (await hs.Client.PutStateAsync(alice, room, "org.example.profile", new JsonObject(), stateKey: "@someone:localhost"))
            .Refused(HttpStatusCode.Forbidden, "M_FORBIDDEN");
        (await hs.Client.PutStateAsync(alice, room, "org.example.profile", new JsonObject(), stateKey: alice.UserId)).Ok();
    }
}
