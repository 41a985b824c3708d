using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using Doorman.Sandbox.Homeserver;
using Microsoft.Extensions.Time.Testing;

namespace Doorman.Tests.Sandbox.Homeserver;

/// <summary><c>/sync</c> (CS API §"Syncing"): sections, limits, long-polls and tokens.</summary>
public sealed class SyncTests
{
    private const string V3 = "/_matrix/client/v3";

    [Fact]
    public async Task An_initial_sync_splits_the_room_into_state_and_the_last_events_of_the_timeline()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var room = await hs.Client.CreateRoomAsync(alice, new JsonObject { ["name"] = "Members" });
        for (var i = 0; i < 3; i++)
        {
            await hs.Client.SendTextAsync(alice, room, $"message {i}");
        }

        var joined = (await hs.Client.SyncAsync(alice, filter: """{"room":{"timeline":{"limit":2}}}""")).Ok()["rooms"]!["join"]![room]!;

        var timeline = joined["timeline"]!;
        Assert.True(timeline["limited"]!.GetValue<bool>());
        Assert.Equal(["message 1", "message 2"], timeline["events"]!.AsArray().Select(e => e!["content"]!["body"]!.GetValue<string>()));
        Assert.NotNull(timeline["prev_batch"]);
        var stateTypes = joined["state"]!["events"]!.AsArray().Select(e => e!["type"]!.GetValue<string>()).ToList();
        Assert.Contains("m.room.create", stateTypes);
        Assert.Contains("m.room.power_levels", stateTypes);
        Assert.Contains("m.room.name", stateTypes);
        Assert.DoesNotContain("m.room.message", stateTypes);
    }

    [Fact]
    public async Task An_incremental_sync_holds_only_what_happened_since_the_token()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var room = await hs.Client.CreateRoomAsync(alice);
        var since = (await hs.Client.SyncAsync(alice)).Ok()["next_batch"]!.GetValue<string>();

        var eventId = await hs.Client.SendTextAsync(alice, room, "new");
        var joined = (await hs.Client.SyncAsync(alice, since)).Ok()["rooms"]!["join"]![room]!;

        Assert.Equal([eventId], joined["timeline"]!["events"]!.AsArray().Select(e => e!["event_id"]!.GetValue<string>()));
        Assert.False(joined["timeline"]!["limited"]!.GetValue<bool>());
        Assert.Empty(joined["state"]!["events"]!.AsArray());
    }

    [Fact]
    public async Task A_room_joined_since_the_token_comes_with_its_history_flagged_limited_even_when_it_fits()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var bob = await hs.Client.RegisterAsync("bob");
        var room = await hs.Client.CreateRoomAsync(alice, new JsonObject { ["preset"] = "public_chat" });
        var since = (await hs.Client.SyncAsync(bob)).Ok()["next_batch"]!.GetValue<string>();

        (await hs.Client.JoinAsync(bob, room)).Ok();
        var timeline = (await hs.Client.SyncAsync(bob, since, timeoutMs: 1)).Ok()["rooms"]!["join"]![room]!["timeline"]!;
        var events = timeline["events"]!.AsArray();

        Assert.True(timeline["limited"]!.GetValue<bool>());
        Assert.Equal("m.room.create", events[0]!["type"]!.GetValue<string>()); // the whole history is there all the same
        Assert.Equal(bob.UserId, events[^1]!["state_key"]!.GetValue<string>());

        // An initial sync of the same room is not limited: it holds everything.
        var initial = (await hs.Client.SyncAsync(bob, timeoutMs: 2)).Ok()["rooms"]!["join"]![room]!["timeline"]!;
        Assert.False(initial["limited"]!.GetValue<bool>());
    }

    [Fact]
    public async Task A_long_poll_returns_as_soon_as_a_message_arrives()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var bob = await hs.Client.RegisterAsync("bob");
        var room = await hs.Client.CreateRoomAsync(alice, new JsonObject { ["preset"] = "public_chat" });
        (await hs.Client.JoinAsync(bob, room)).Ok();
        var since = (await hs.Client.SyncAsync(alice)).Ok()["next_batch"]!.GetValue<string>();

        var clock = Stopwatch.StartNew();
        var poll = hs.Client.SyncAsync(alice, since, timeoutMs: 20_000);
        await Task.Delay(300);
        Assert.False(poll.IsCompleted);
        await hs.Client.SendTextAsync(bob, room, "!join");
        var response = (await poll).Ok();

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"the long-poll took {clock.Elapsed}");
        var events = response["rooms"]!["join"]![room]!["timeline"]!["events"]!.AsArray();
        Assert.Contains(events, e => e!["content"]!["body"]?.GetValue<string>() == "!join");
    }

    [Fact]
    public async Task A_long_poll_with_nothing_new_returns_empty_after_the_timeout()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        await hs.Client.CreateRoomAsync(alice);
        var since = (await hs.Client.SyncAsync(alice)).Ok()["next_batch"]!.GetValue<string>();

        var clock = Stopwatch.StartNew();
        var response = (await hs.Client.SyncAsync(alice, since, timeoutMs: 1000)).Ok();

        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(900), $"returned after {clock.Elapsed}");
        Assert.Null(response["rooms"]?["join"]);
        Assert.NotNull(response["next_batch"]);
    }

    [Fact]
    public async Task An_invalid_since_token_is_400_M_UNKNOWN()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        (await hs.Client.SyncAsync(alice, since: "garbage")).Refused(HttpStatusCode.BadRequest, "M_UNKNOWN");
    }

    [Fact]
    public async Task A_dm_invite_arrives_as_stripped_state_with_is_direct_and_the_inviter_as_sender()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var bot = await hs.Client.RegisterAsync("bot");
        var since = (await hs.Client.SyncAsync(bot)).Ok()["next_batch"]!.GetValue<string>();
        var room = await hs.Client.CreateRoomAsync(alice, new JsonObject
        {
            ["preset"] = "trusted_private_chat", ["is_direct"] = true, ["invite"] = new JsonArray(bot.UserId), ["name"] = "DM",
            ["initial_state"] = new JsonArray(new JsonObject
            {
                ["type"] = "m.room.encryption", ["content"] = new JsonObject { ["algorithm"] = "m.megolm.v1.aes-sha2" },
            }),
        });

        var sync = (await hs.Client.SyncAsync(bot, since)).Ok();
        var events = sync["rooms"]!["invite"]![room]!["invite_state"]!["events"]!.AsArray();
        var invite = events.Single(e => e!["type"]!.GetValue<string>() == "m.room.member" && e["state_key"]!.GetValue<string>() == bot.UserId)!;
        Assert.Equal(alice.UserId, invite["sender"]!.GetValue<string>());
        Assert.Equal("invite", invite["content"]!["membership"]!.GetValue<string>());
        Assert.True(invite["content"]!["is_direct"]!.GetValue<bool>());
        var types = events.Select(e => e!["type"]!.GetValue<string>()).ToList();
        Assert.Contains("m.room.create", types);
        Assert.Contains("m.room.join_rules", types);
        Assert.Contains("m.room.name", types);
        Assert.Contains("m.room.encryption", types);
        Assert.Null(sync["rooms"]!["join"]?[room]);
    }

    [Fact]
    public async Task Joining_moves_a_room_from_invite_to_join()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var bob = await hs.Client.RegisterAsync("bob");
        var room = await hs.Client.CreateRoomAsync(alice, new JsonObject { ["invite"] = new JsonArray(bob.UserId) });
        var first = (await hs.Client.SyncAsync(bob)).Ok();
        Assert.NotNull(first["rooms"]!["invite"]![room]);

        (await hs.Client.JoinAsync(bob, room)).Ok();
        var second = (await hs.Client.SyncAsync(bob, first["next_batch"]!.GetValue<string>())).Ok();

        Assert.Null(second["rooms"]!["invite"]?[room]);
        var joined = second["rooms"]!["join"]![room]!;
        var all = joined["state"]!["events"]!.AsArray().Concat(joined["timeline"]!["events"]!.AsArray()).ToList();
        Assert.Contains(all, e => e!["type"]!.GetValue<string>() == "m.room.create");
        Assert.Contains(all, e => e!["type"]!.GetValue<string>() == "m.room.member" && e["state_key"]!.GetValue<string>() == bob.UserId
            && e["content"]!["membership"]!.GetValue<string>() == "join");
    }

    [Fact]
    public async Task Another_users_knock_reaches_joined_members_and_the_knocker_sees_knock_state()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var bot = await hs.Client.RegisterAsync("bot");
        var bob = await hs.Client.RegisterAsync("bob");
        var room = await MembershipTests.KnockRoomAsync(hs.Client, bot, "12");
        var botSince = (await hs.Client.SyncAsync(bot)).Ok()["next_batch"]!.GetValue<string>();
        var bobSince = (await hs.Client.SyncAsync(bob)).Ok()["next_batch"]!.GetValue<string>();

        (await hs.Client.KnockAsync(bob, room, reason: "I would like to pay")).Ok();

        var botTimeline = (await hs.Client.SyncAsync(bot, botSince)).Ok()["rooms"]!["join"]![room]!["timeline"]!["events"]!.AsArray();
        var knock = Assert.Single(botTimeline)!;
        Assert.Equal("m.room.member", knock["type"]!.GetValue<string>());
        Assert.Equal(bob.UserId, knock["state_key"]!.GetValue<string>());
        Assert.Equal("knock", knock["content"]!["membership"]!.GetValue<string>());
        Assert.Equal("I would like to pay", knock["content"]!["reason"]!.GetValue<string>());

        var knockState = (await hs.Client.SyncAsync(bob, bobSince)).Ok()["rooms"]!["knock"]![room]!["knock_state"]!["events"]!.AsArray();
        Assert.Contains(knockState, e => e!["type"]!.GetValue<string>() == "m.room.join_rules");
        Assert.Contains(knockState, e => e!["type"]!.GetValue<string>() == "m.room.member" && e["content"]!["membership"]!.GetValue<string>() == "knock");
    }

    [Fact]
    public async Task A_kicked_user_finds_the_room_under_leave_with_the_kick()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var bob = await hs.Client.RegisterAsync("bob");
        var room = await hs.Client.CreateRoomAsync(alice, new JsonObject { ["preset"] = "public_chat" });
        (await hs.Client.JoinAsync(bob, room)).Ok();
        var since = (await hs.Client.SyncAsync(bob)).Ok()["next_batch"]!.GetValue<string>();

        (await hs.Client.MembershipAsync(alice, room, "kick", bob.UserId, reason: "subscription expired")).Ok();

        var sync = (await hs.Client.SyncAsync(bob, since)).Ok();
        Assert.Null(sync["rooms"]!["join"]?[room]);
        var kick = sync["rooms"]!["leave"]![room]!["timeline"]!["events"]!.AsArray()[^1]!;
        Assert.Equal(alice.UserId, kick["sender"]!.GetValue<string>());
        Assert.Equal(bob.UserId, kick["state_key"]!.GetValue<string>());
        Assert.Equal("leave", kick["content"]!["membership"]!.GetValue<string>());
        Assert.Equal("subscription expired", kick["content"]!["reason"]!.GetValue<string>());
    }

    [Fact]
    public async Task Account_data_changes_arrive_in_the_next_sync_and_obey_the_filter()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var since = (await hs.Client.SyncAsync(alice)).Ok()["next_batch"]!.GetValue<string>();

        (await hs.Client.PutAsync($"{V3}/user/{alice.UserId}/account_data/m.direct", new JsonObject { ["@x:localhost"] = new JsonArray("!r:localhost") }, alice)).Ok();
        (await hs.Client.PutAsync($"{V3}/user/{alice.UserId}/account_data/org.example.noise", new JsonObject { ["a"] = 1 }, alice)).Ok();

        var filter = """{"account_data":{"not_types":["org.example.*"]}}""";
        var events = (await hs.Client.SyncAsync(alice, since, filter: filter)).Ok()["account_data"]!["events"]!.AsArray();
        var direct = Assert.Single(events)!;
        Assert.Equal("m.direct", direct["type"]!.GetValue<string>());
        Assert.Equal("!r:localhost", direct["content"]!["@x:localhost"]![0]!.GetValue<string>());
    }

    [Fact]
    public async Task A_stored_filter_id_limits_the_timeline()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var room = await hs.Client.CreateRoomAsync(alice);
        var filterId = (await hs.Client.PostAsync($"{V3}/user/{alice.UserId}/filter",
            new JsonObject { ["room"] = new JsonObject { ["timeline"] = new JsonObject { ["limit"] = 1 } } }, alice)).Ok()["filter_id"]!.GetValue<string>();

        var timeline = (await hs.Client.SyncAsync(alice, filter: filterId)).Ok()["rooms"]!["join"]![room]!["timeline"]!;

        Assert.Single(timeline["events"]!.AsArray());
        Assert.True(timeline["limited"]!.GetValue<bool>());
    }

    [Fact]
    public async Task A_user_who_leaves_finds_their_leave_under_leave_and_initial_syncs_skip_the_room()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var bob = await hs.Client.RegisterAsync("bob");
        var room = await hs.Client.CreateRoomAsync(alice, new JsonObject { ["preset"] = "public_chat" });
        (await hs.Client.JoinAsync(bob, room)).Ok();
        var since = (await hs.Client.SyncAsync(bob)).Ok()["next_batch"]!.GetValue<string>();

        (await hs.Client.LeaveAsync(bob, room, reason: "bye")).Ok();

        var leave = (await hs.Client.SyncAsync(bob, since)).Ok()["rooms"]!["leave"]![room]!["timeline"]!["events"]!.AsArray()[^1]!;
        Assert.Equal(bob.UserId, leave["sender"]!.GetValue<string>());
        Assert.Equal("bye", leave["content"]!["reason"]!.GetValue<string>());
        var fresh = (await hs.Client.SyncAsync(bob, filter: """{"room":{"timeline":{"limit":3}}}""")).Ok();
        Assert.Null(fresh["rooms"]?["leave"]?[room]);
        Assert.Null(fresh["rooms"]?["join"]?[room]);
    }

    /// <summary>Sandbox only: long-poll timeouts run on the server's clock, so a fake clock decides when they end.</summary>
    [Fact]
    public async Task On_a_fake_clock_a_long_poll_ends_when_the_clock_passes_its_timeout()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.Parse("2026-11-25T12:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        await using var hs = await TestHomeserver.StartSandboxAsync(new SandboxHomeserverOptions { TimeProvider = clock });
        var alice = await hs.Client.RegisterAsync("alice");
        var since = (await hs.Client.SyncAsync(alice)).Ok()["next_batch"]!.GetValue<string>();

        var poll = hs.Client.SyncAsync(alice, since, timeoutMs: 60_000);
        await Task.Delay(300);
        clock.Advance(TimeSpan.FromSeconds(30));
        await Task.Delay(300);
        Assert.False(poll.IsCompleted);
        clock.Advance(TimeSpan.FromSeconds(30));

        var response = (await poll.WaitAsync(TimeSpan.FromSeconds(10))).Ok();
        Assert.Null(response["rooms"]);
    }

    /// <summary>Sandbox only: Synapse serves no client well-known; the sandbox points clients at itself.</summary>
    [Fact]
    public async Task The_client_well_known_points_at_the_sandbox()
    {
        await using var hs = await TestHomeserver.StartSandboxAsync();
        var baseUrl = (await hs.Client.GetAsync("/.well-known/matrix/client")).Ok()["m.homeserver"]!["base_url"]!.GetValue<string>();
        Assert.Equal(hs.Sandbox.Url, new Uri(baseUrl + "/"));
    }
}
