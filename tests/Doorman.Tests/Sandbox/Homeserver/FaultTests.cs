using System.Net;
using System.Text.Json.Nodes;

namespace Doorman.Tests.Sandbox.Homeserver;

/// <summary>The sandbox's fault knobs: scripted failures, revoked tokens and restarts.</summary>
public sealed class FaultTests
{
    [Fact]
    public async Task FailNext_fails_matching_requests_with_a_spec_shaped_error_then_recovers()
    {
        await using var hs = await TestHomeserver.StartSandboxAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var room = await hs.Client.CreateRoomAsync(alice);
        hs.Sandbox.FailNext("/send/", 503, 2);

        (await hs.Client.GetAsync("/_matrix/client/v3/account/whoami", alice)).Ok();
        (await hs.Client.SendMessageAsync(alice, room, new JsonObject { ["body"] = "a" })).Refused(HttpStatusCode.ServiceUnavailable, "M_UNKNOWN");
        (await hs.Client.SendMessageAsync(alice, room, new JsonObject { ["body"] = "a" })).Refused(HttpStatusCode.ServiceUnavailable, "M_UNKNOWN");
        (await hs.Client.SendMessageAsync(alice, room, new JsonObject { ["body"] = "a" })).Ok();
    }

    [Fact]
    public async Task FailNext_with_status_0_drops_the_connection()
    {
        await using var hs = await TestHomeserver.StartSandboxAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        hs.Sandbox.FailNext("/whoami", 0, 1);

        await Assert.ThrowsAsync<HttpRequestException>(() => hs.Client.GetAsync("/_matrix/client/v3/account/whoami", alice));
        (await hs.Client.GetAsync("/_matrix/client/v3/account/whoami", alice)).Ok();
    }

    [Fact]
    public async Task An_invalidated_token_is_refused_with_the_soft_logout_flag_it_was_given()
    {
        await using var hs = await TestHomeserver.StartSandboxAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var bob = await hs.Client.RegisterAsync("bob");
        hs.Sandbox.InvalidateToken(alice.AccessToken, softLogout: true);
        hs.Sandbox.InvalidateToken(bob.AccessToken);

        var soft = (await hs.Client.GetAsync("/_matrix/client/v3/account/whoami", alice)).Refused(HttpStatusCode.Unauthorized, "M_UNKNOWN_TOKEN");
        var hard = (await hs.Client.GetAsync("/_matrix/client/v3/account/whoami", bob)).Refused(HttpStatusCode.Unauthorized, "M_UNKNOWN_TOKEN");
        Assert.True(soft.Body!["soft_logout"]!.GetValue<bool>());
        Assert.False(hard.Body!["soft_logout"]!.GetValue<bool>());
    }

    [Fact]
    public async Task A_restart_aborts_long_polls_and_keeps_rooms_tokens_and_stream_positions()
    {
        await using var hs = await TestHomeserver.StartSandboxAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var room = await hs.Client.CreateRoomAsync(alice, new JsonObject { ["name"] = "Kept" });
        var url = hs.Sandbox.Url;
        var since = (await hs.Client.SyncAsync(alice)).Ok()["next_batch"]!.GetValue<string>();
        var poll = hs.Client.SyncAsync(alice, since, timeoutMs: 30_000);
        await Task.Delay(200);

        await hs.Sandbox.RestartAsync();

        await Assert.ThrowsAnyAsync<HttpRequestException>(() => poll);
        Assert.Equal(url, hs.Sandbox.Url);
        Assert.Equal("Kept", (await hs.Client.GetStateAsync(alice, room, "m.room.name")).Ok()["name"]!.GetValue<string>());
        var eventId = await hs.Client.SendTextAsync(alice, room, "after the restart");
        var events = (await hs.Client.SyncAsync(alice, since)).Ok()["rooms"]!["join"]![room]!["timeline"]!["events"]!.AsArray();
        Assert.Equal([eventId], events.Select(e => e!["event_id"]!.GetValue<string>()));
    }

    [Fact]
    public async Task Inspection_reads_membership_timeline_and_state_directly()
    {
        await using var hs = await TestHomeserver.StartSandboxAsync();
        var alice = hs.Sandbox.RegisterUser("alice");
        var bob = hs.Sandbox.RegisterUser("bob");
        Assert.Equal("@alice:localhost", alice.UserId);
        var owner = new TestUser(alice.UserId, alice.AccessToken, alice.DeviceId, "alice");
        var room = await hs.Client.CreateRoomAsync(owner, new JsonObject { ["invite"] = new JsonArray(bob.UserId), ["name"] = "Gated" });

        Assert.Equal("join", hs.Sandbox.GetMembership(room, alice.UserId));
        Assert.Equal("invite", hs.Sandbox.GetMembership(room, bob.UserId));
        Assert.Null(hs.Sandbox.GetMembership(room, "@carol:localhost"));
        var timeline = hs.Sandbox.GetTimeline(room);
        Assert.Equal("m.room.create", timeline[0].GetProperty("type").GetString());
        Assert.Equal("invite", timeline[^1].GetProperty("content").GetProperty("membership").GetString());
        Assert.Equal("Gated", hs.Sandbox.GetStateEvent(room, "m.room.name")!.Value.GetProperty("content").GetProperty("name").GetString());
        Assert.Null(hs.Sandbox.GetStateEvent(room, "m.room.topic"));

        // RegisterUser's password is the localpart.
        (await hs.Client.PostAsync("/_matrix/client/v3/login", new JsonObject
        {
            ["type"] = "m.login.password",
            ["identifier"] = new JsonObject { ["type"] = "m.id.user", ["user"] = "bob" },
            ["password"] = "bob",
        })).Ok();
    }
}
