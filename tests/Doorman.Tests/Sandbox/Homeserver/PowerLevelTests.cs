using System.Net;
using System.Text.Json.Nodes;

namespace Doorman.Tests.Sandbox.Homeserver;

/// <summary>Power levels: who may kick, ban and change levels (rooms spec, auth rules 5.5, 5.6, 8 and 10), v12 creators included.</summary>
public sealed class PowerLevelTests
{
    /// <summary>A public room where alice is 100, the moderators are 50 and everyone else 0; all have joined.</summary>
    private static async Task<(string Room, TestUser Alice, TestUser Mod, TestUser Mod2, TestUser Member)> ModeratedRoomAsync(MatrixTestClient client, string version = "11")
    {
        var alice = await client.RegisterAsync("alice");
        var mod = await client.RegisterAsync("mod");
        var mod2 = await client.RegisterAsync("modtwo");
        var member = await client.RegisterAsync("member");
        var room = await client.CreateRoomAsync(alice, new JsonObject
        {
            ["preset"] = "public_chat",
            ["room_version"] = version,
            ["power_level_content_override"] = new JsonObject
            {
                ["users"] = new JsonObject { [alice.UserId] = 100, [mod.UserId] = 50, [mod2.UserId] = 50 },
            },
        });
        foreach (var user in (TestUser[])[mod, mod2, member])
        {
            (await client.JoinAsync(user, room)).Ok();
        }

        return (room, alice, mod, mod2, member);
    }

    [Fact]
    public async Task A_kick_below_the_kick_level_is_refused_and_membership_is_unchanged()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var (room, _, mod, _, member) = await ModeratedRoomAsync(hs.Client);

        (await hs.Client.MembershipAsync(member, room, "kick", mod.UserId)).Refused(HttpStatusCode.Forbidden, "M_FORBIDDEN");

        Assert.Equal("join", await hs.Client.MembershipOfAsync(mod, room, mod.UserId));
    }

    [Fact]
    public async Task A_kick_needs_a_level_above_the_targets()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var (room, _, mod, mod2, member) = await ModeratedRoomAsync(hs.Client);

        (await hs.Client.MembershipAsync(mod, room, "kick", mod2.UserId)).Refused(HttpStatusCode.Forbidden, "M_FORBIDDEN");
        (await hs.Client.MembershipAsync(mod, room, "kick", member.UserId, reason: "expired")).Ok();

        Assert.Equal("join", await hs.Client.MembershipOfAsync(mod, room, mod2.UserId));
        var kicked = (await hs.Client.GetStateAsync(mod, room, "m.room.member", member.UserId)).Ok();
        Assert.Equal("leave", kicked["membership"]!.GetValue<string>());
        Assert.Equal("expired", kicked["reason"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_ban_needs_the_ban_level_and_a_higher_level_and_an_unban_needs_the_ban_level()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var (room, alice, mod, mod2, member) = await ModeratedRoomAsync(hs.Client);

        (await hs.Client.MembershipAsync(member, room, "ban", mod.UserId)).Refused(HttpStatusCode.Forbidden, "M_FORBIDDEN");
        (await hs.Client.MembershipAsync(mod, room, "ban", mod2.UserId)).Refused(HttpStatusCode.Forbidden, "M_FORBIDDEN");
        (await hs.Client.MembershipAsync(alice, room, "ban", member.UserId, reason: "spam")).Ok();
        Assert.Equal("ban", await hs.Client.MembershipOfAsync(alice, room, member.UserId));

        (await hs.Client.ChangePowerLevelsAsync(alice, room, levels => levels["ban"] = 75)).Ok();
        (await hs.Client.MembershipAsync(mod, room, "unban", member.UserId)).Refused(HttpStatusCode.Forbidden, "M_FORBIDDEN");
        Assert.Equal("ban", await hs.Client.MembershipOfAsync(alice, room, member.UserId));
        (await hs.Client.MembershipAsync(alice, room, "unban", member.UserId)).Ok();
        Assert.Equal("leave", await hs.Client.MembershipOfAsync(alice, room, member.UserId));
    }

    [Fact]
    public async Task State_events_need_the_state_default_level()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var (room, alice, _, _, member) = await ModeratedRoomAsync(hs.Client);

        (await hs.Client.PutStateAsync(member, room, "m.room.name", new JsonObject { ["name"] = "mine" })).Refused(HttpStatusCode.Forbidden, "M_FORBIDDEN");
        (await hs.Client.PutStateAsync(member, room, "org.example.custom", new JsonObject())).Refused(HttpStatusCode.Forbidden, "M_FORBIDDEN");
        (await hs.Client.ChangePowerLevelsAsync(alice, room, levels => levels["events_default"] = 10)).Ok();
        (await hs.Client.SendMessageAsync(member, room, new JsonObject { ["msgtype"] = "m.text", ["body"] = "hi" }))
            .Refused(HttpStatusCode.Forbidden, "M_FORBIDDEN");
    }

    [Fact]
    public async Task Nobody_can_raise_a_level_above_their_own_or_change_a_peer_but_anyone_may_lower_themselves()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var (room, alice, mod, mod2, member) = await ModeratedRoomAsync(hs.Client);
        (await hs.Client.ChangePowerLevelsAsync(alice, room, levels => levels["events"]!["m.room.power_levels"] = 50)).Ok();

        (await hs.Client.ChangePowerLevelsAsync(mod, room, levels => levels["users"]![member.UserId] = 51)).Refused(HttpStatusCode.Forbidden, "M_FORBIDDEN");
        (await hs.Client.ChangePowerLevelsAsync(mod, room, levels => levels["users"]![mod2.UserId] = 0)).Refused(HttpStatusCode.Forbidden, "M_FORBIDDEN");
        (await hs.Client.ChangePowerLevelsAsync(mod, room, levels => levels["kick"] = 60)).Refused(HttpStatusCode.Forbidden, "M_FORBIDDEN");
        (await hs.Client.ChangePowerLevelsAsync(mod, room, levels => levels["users"]![member.UserId] = 50)).Ok();
        (await hs.Client.ChangePowerLevelsAsync(mod, room, levels => levels["users"]![mod.UserId] = 10)).Ok();

        var levels = (await hs.Client.GetStateAsync(alice, room, "m.room.power_levels")).Ok();
        Assert.Equal(50, levels["users"]![member.UserId]!.GetValue<int>());
        Assert.Equal(10, levels["users"]![mod.UserId]!.GetValue<int>());
        Assert.Equal(50, levels["users"]![mod2.UserId]!.GetValue<int>());
    }

    [Fact]
    public async Task Power_levels_must_be_integers_for_valid_user_ids()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var (room, alice, _, _, _) = await ModeratedRoomAsync(hs.Client);

        Assert.Equal(HttpStatusCode.BadRequest, (await hs.Client.ChangePowerLevelsAsync(alice, room, levels => levels["kick"] = "10")).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await hs.Client.ChangePowerLevelsAsync(alice, room, levels => levels["users"]!["not-a-user"] = 10)).Status);
    }

    [Fact]
    public async Task A_room_version_12_creator_can_be_neither_kicked_nor_banned_even_by_a_100()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var creator = await hs.Client.RegisterAsync("creator");
        var admin = await hs.Client.RegisterAsync("admin");
        var room = await hs.Client.CreateRoomAsync(creator, new JsonObject { ["preset"] = "public_chat", ["room_version"] = "12" });
        (await hs.Client.JoinAsync(admin, room)).Ok();
        (await hs.Client.ChangePowerLevelsAsync(creator, room, levels => levels["users"]![admin.UserId] = 100)).Ok();

        (await hs.Client.MembershipAsync(admin, room, "kick", creator.UserId)).Refused(HttpStatusCode.Forbidden, "M_FORBIDDEN");
        (await hs.Client.MembershipAsync(admin, room, "ban", creator.UserId)).Refused(HttpStatusCode.Forbidden, "M_FORBIDDEN");
        Assert.Equal("join", await hs.Client.MembershipOfAsync(admin, room, creator.UserId));

        // The creator outranks any integer level: it may kick a 100.
        (await hs.Client.MembershipAsync(creator, room, "kick", admin.UserId)).Ok();
    }

    [Fact]
    public async Task A_room_version_12_power_levels_event_listing_a_creator_is_rejected()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var creator = await hs.Client.RegisterAsync("creator");
        var coCreator = await hs.Client.RegisterAsync("cocreator");
        var room = await hs.Client.CreateRoomAsync(creator, new JsonObject
        {
            ["preset"] = "public_chat", ["room_version"] = "12",
            ["creation_content"] = new JsonObject { ["additional_creators"] = new JsonArray(coCreator.UserId) },
        });

        Assert.Equal(HttpStatusCode.BadRequest, (await hs.Client.ChangePowerLevelsAsync(creator, room, levels => levels["users"]![creator.UserId] = 100)).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await hs.Client.ChangePowerLevelsAsync(creator, room, levels => levels["users"]![coCreator.UserId] = 100)).Status);
        Assert.Empty((await hs.Client.GetStateAsync(creator, room, "m.room.power_levels")).Ok()["users"]!.AsObject());
    }

    [Fact]
    public async Task An_additional_creator_of_a_version_12_room_cannot_be_kicked_either()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var creator = await hs.Client.RegisterAsync("creator");
        var coCreator = await hs.Client.RegisterAsync("cocreator");
        var room = await hs.Client.CreateRoomAsync(creator, new JsonObject
        {
            ["preset"] = "public_chat", ["room_version"] = "12",
            ["creation_content"] = new JsonObject { ["additional_creators"] = new JsonArray(coCreator.UserId) },
        });
        (await hs.Client.JoinAsync(coCreator, room)).Ok();

        // Both are infinitely powerful, so neither is above the other.
        (await hs.Client.MembershipAsync(creator, room, "kick", coCreator.UserId)).Refused(HttpStatusCode.Forbidden, "M_FORBIDDEN");
        Assert.Equal("join", await hs.Client.MembershipOfAsync(creator, room, coCreator.UserId));
    }
}
