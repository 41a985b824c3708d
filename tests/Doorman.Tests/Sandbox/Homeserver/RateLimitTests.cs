using System.Net;
using System.Text.Json.Nodes;
using Doorman.Sandbox.Homeserver;
using Microsoft.Extensions.Time.Testing;

namespace Doorman.Tests.Sandbox.Homeserver;

/// <summary>
/// Synapse's <c>rc_message</c> bucket, on a fake clock so the numbers are exact: 0.5 actions per second with a
/// burst of 5, as our test Synapse is configured.
/// </summary>
public sealed class RateLimitTests
{
    private readonly FakeTimeProvider _clock = new(DateTimeOffset.Parse("2026-11-25T12:00:00Z", System.Globalization.CultureInfo.InvariantCulture));

    private Task<TestHomeserver> StartAsync() => TestHomeserver.StartSandboxAsync(new SandboxHomeserverOptions
    {
        TimeProvider = _clock,
        MessageRateLimit = new RateLimit(PerSecond: 0.5, Burst: 5),
    });

    private static Task<MatrixResponse> SendAsync(TestHomeserver hs, TestUser user, string room) =>
        hs.Client.SendMessageAsync(user, room, new JsonObject { ["msgtype"] = "m.text", ["body"] = "x" }, retryRateLimit: false);

    [Fact]
    public async Task Going_past_the_burst_is_429_with_both_the_header_and_retry_after_ms()
    {
        await using var hs = await StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var room = await hs.Client.CreateRoomAsync(alice); // 1 of 5
        for (var i = 0; i < 4; i++)
        {
            (await SendAsync(hs, alice, room)).Ok();
        }

        var refused = (await SendAsync(hs, alice, room)).Refused(HttpStatusCode.TooManyRequests, "M_LIMIT_EXCEEDED");

        Assert.Equal("Too Many Requests", refused.Error);
        Assert.Equal(2000, refused.Body!["retry_after_ms"]!.GetValue<long>());
        Assert.Equal(TimeSpan.FromSeconds(2), refused.RetryAfter);
    }

    [Fact]
    public async Task The_bucket_drains_with_time()
    {
        await using var hs = await StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var room = await hs.Client.CreateRoomAsync(alice);
        for (var i = 0; i < 4; i++)
        {
            (await SendAsync(hs, alice, room)).Ok();
        }

        _clock.Advance(TimeSpan.FromMilliseconds(1500));
        var early = (await SendAsync(hs, alice, room)).Refused(HttpStatusCode.TooManyRequests, "M_LIMIT_EXCEEDED");
        Assert.Equal(500, early.Body!["retry_after_ms"]!.GetValue<long>());
        Assert.Equal(TimeSpan.FromSeconds(1), early.RetryAfter); // rounded up to whole seconds

        _clock.Advance(TimeSpan.FromMilliseconds(500));
        (await SendAsync(hs, alice, room)).Ok();
    }

    [Fact]
    public async Task CreateRoom_invites_kicks_bans_joins_and_leaves_share_one_bucket_per_user()
    {
        await using var hs = await StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var bob = await hs.Client.RegisterAsync("bob");
        var carol = await hs.Client.RegisterAsync("carol");
        var room = await hs.Client.CreateRoomAsync(alice, new JsonObject { ["preset"] = "public_chat" }); // 1
        (await hs.Client.MembershipAsync(alice, room, "invite", bob.UserId, retryRateLimit: false)).Ok(); // 2
        (await hs.Client.JoinAsync(bob, room, retryRateLimit: false)).Ok(); // bob's own bucket
        (await hs.Client.MembershipAsync(alice, room, "kick", bob.UserId, retryRateLimit: false)).Ok(); // 3
        (await hs.Client.MembershipAsync(alice, room, "ban", bob.UserId, retryRateLimit: false)).Ok(); // 4
        (await hs.Client.MembershipAsync(alice, room, "invite", carol.UserId, retryRateLimit: false)).Ok(); // 5

        (await hs.Client.MembershipAsync(alice, room, "unban", bob.UserId, retryRateLimit: false)).Refused(HttpStatusCode.TooManyRequests, "M_LIMIT_EXCEEDED");
        (await hs.Client.PostAsync("/_matrix/client/v3/createRoom", new JsonObject(), alice, retryRateLimit: false)).Refused(HttpStatusCode.TooManyRequests, "M_LIMIT_EXCEEDED");
        Assert.Equal("ban", hs.Sandbox.GetMembership(room, bob.UserId));
    }

    [Fact]
    public async Task A_request_refused_by_the_auth_rules_costs_nothing_and_a_repeat_that_changes_nothing_is_free()
    {
        await using var hs = await StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var bob = await hs.Client.RegisterAsync("bob");
        var room = await hs.Client.CreateRoomAsync(alice, new JsonObject { ["preset"] = "public_chat" });
        (await hs.Client.JoinAsync(bob, room, retryRateLimit: false)).Ok(); // 1 of bob's 5

        for (var i = 0; i < 8; i++)
        {
            (await hs.Client.MembershipAsync(bob, room, "kick", alice.UserId, retryRateLimit: false)).Refused(HttpStatusCode.Forbidden, "M_FORBIDDEN");
            (await hs.Client.JoinAsync(bob, room, retryRateLimit: false)).Ok(); // already joined: nothing sent
        }

        for (var i = 0; i < 4; i++)
        {
            (await SendAsync(hs, bob, room)).Ok();
        }

        (await SendAsync(hs, bob, room)).Refused(HttpStatusCode.TooManyRequests, "M_LIMIT_EXCEEDED");
    }

    [Fact]
    public async Task An_exempt_user_is_never_limited_and_others_still_are()
    {
        await using var hs = await StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var bob = await hs.Client.RegisterAsync("bob");
        var room = await hs.Client.CreateRoomAsync(alice, new JsonObject { ["preset"] = "public_chat" });
        (await hs.Client.JoinAsync(bob, room, retryRateLimit: false)).Ok();
        hs.Sandbox.ExemptFromRateLimits(alice.UserId);

        for (var i = 0; i < 20; i++)
        {
            (await SendAsync(hs, alice, room)).Ok();
        }

        for (var i = 0; i < 4; i++)
        {
            (await SendAsync(hs, bob, room)).Ok();
        }

        (await SendAsync(hs, bob, room)).Refused(HttpStatusCode.TooManyRequests, "M_LIMIT_EXCEEDED");
    }

    [Fact]
    public async Task RateLimitNext_forces_429s_with_the_given_wait_then_lets_requests_through()
    {
        await using var hs = await TestHomeserver.StartSandboxAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var room = await hs.Client.CreateRoomAsync(alice);
        hs.Sandbox.RateLimitNext(alice.UserId, 2, TimeSpan.FromMilliseconds(1272));

        var first = (await SendAsync(hs, alice, room)).Refused(HttpStatusCode.TooManyRequests, "M_LIMIT_EXCEEDED");
        (await SendAsync(hs, alice, room)).Refused(HttpStatusCode.TooManyRequests, "M_LIMIT_EXCEEDED");
        (await SendAsync(hs, alice, room)).Ok();

        Assert.Equal(1272, first.Body!["retry_after_ms"]!.GetValue<long>());
        Assert.Equal(TimeSpan.FromSeconds(2), first.RetryAfter);
    }
}
