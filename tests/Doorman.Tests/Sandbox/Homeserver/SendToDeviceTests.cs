using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;

namespace Doorman.Tests.Sandbox.Homeserver;

/// <summary>
/// Send-to-device messaging (CS API §"Send-to-Device messaging") and the <c>to_device</c> section of /sync.
/// Synapse caches a sync answer for identical requests for a while, so repeated syncs here differ in their timeout.
/// </summary>
public sealed class SendToDeviceTests
{
    private const string V3 = "/_matrix/client/v3";

    [Fact]
    public async Task A_to_device_message_comes_in_every_sync_until_one_acknowledges_it()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var bob = await hs.Client.RegisterAsync("bob");
        var since = (await hs.Client.SyncAsync(alice, timeoutMs: 1)).Ok()["next_batch"]!.GetValue<string>();

        (await hs.Client.SendToDeviceAsync(bob, "m.test", "t1", new JsonObject { [alice.UserId] = new JsonObject { [alice.DeviceId] = new JsonObject { ["n"] = 1 } } })).Ok();
        var first = (await hs.Client.SyncAsync(alice, since, timeoutMs: 2)).Ok();
        var repeated = (await hs.Client.SyncAsync(alice, since, timeoutMs: 3)).Ok(); // same since: not acknowledged yet
        var next = first["next_batch"]!.GetValue<string>();
        var acknowledging = (await hs.Client.SyncAsync(alice, next, timeoutMs: 4)).Ok();
        var fromTheOldToken = (await hs.Client.SyncAsync(alice, since, timeoutMs: 5)).Ok();

        var events = first["to_device"]!["events"]!.AsArray();
        var message = Assert.Single(events)!;
        Assert.Equal("m.test", message["type"]!.GetValue<string>());
        Assert.Equal(bob.UserId, message["sender"]!.GetValue<string>());
        Assert.Equal(1, message["content"]!["n"]!.GetValue<int>());
        Assert.Single(repeated["to_device"]!["events"]!.AsArray());
        Assert.Null(acknowledging["to_device"]);
        Assert.Null(fromTheOldToken["to_device"]); // deleted once acknowledged
    }

    [Fact]
    public async Task Resending_a_transaction_delivers_nothing_twice_though_another_event_type_is_another_transaction()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var bob = await hs.Client.RegisterAsync("bob");
        var since = (await hs.Client.SyncAsync(alice, timeoutMs: 1)).Ok()["next_batch"]!.GetValue<string>();
        JsonObject To(int n) => new() { [alice.UserId] = new JsonObject { [alice.DeviceId] = new JsonObject { ["n"] = n } } };

        (await hs.Client.SendToDeviceAsync(bob, "m.test", "same", To(1))).Ok();
        (await hs.Client.SendToDeviceAsync(bob, "m.test", "same", To(2))).Ok();
        (await hs.Client.SendToDeviceAsync(bob, "m.other", "same", To(3))).Ok();
        var events = (await hs.Client.SyncAsync(alice, since, timeoutMs: 2)).Ok()["to_device"]!["events"]!.AsArray();

        Assert.Equal([1, 3], events.Select(e => e!["content"]!["n"]!.GetValue<int>()));
    }

    [Fact]
    public async Task A_star_alone_reaches_every_device_of_the_user()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var phone = await hs.Client.LoginAsync(alice);
        var bob = await hs.Client.RegisterAsync("bob");
        var laptopSince = (await hs.Client.SyncAsync(alice, timeoutMs: 1)).Ok()["next_batch"]!.GetValue<string>();
        var phoneSince = (await hs.Client.SyncAsync(phone, timeoutMs: 1)).Ok()["next_batch"]!.GetValue<string>();

        (await hs.Client.SendToDeviceAsync(bob, "m.test", "t1", new JsonObject { [alice.UserId] = new JsonObject { ["*"] = new JsonObject { ["to"] = "all" } } })).Ok();
        var laptop = (await hs.Client.SyncAsync(alice, laptopSince, timeoutMs: 2)).Ok()["to_device"]!["events"]!.AsArray();
        var phoneEvents = (await hs.Client.SyncAsync(phone, phoneSince, timeoutMs: 2)).Ok()["to_device"]!["events"]!.AsArray();

        Assert.Equal("all", Assert.Single(laptop)!["content"]!["to"]!.GetValue<string>());
        Assert.Equal("all", Assert.Single(phoneEvents)!["content"]!["to"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_star_beside_other_device_ids_is_just_an_unknown_device_as_Synapse_reads_it()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var bob = await hs.Client.RegisterAsync("bob");
        var since = (await hs.Client.SyncAsync(alice, timeoutMs: 1)).Ok()["next_batch"]!.GetValue<string>();

        (await hs.Client.SendToDeviceAsync(bob, "m.test", "t1", new JsonObject
        {
            [alice.UserId] = new JsonObject { ["*"] = new JsonObject { ["to"] = "all" }, ["NOSUCHDEVICE"] = new JsonObject { ["to"] = "nobody" } },
        })).Ok();
        (await hs.Client.SendToDeviceAsync(bob, "m.control", "t2", new JsonObject { [alice.UserId] = new JsonObject { [alice.DeviceId] = new JsonObject() } })).Ok();
        var events = (await hs.Client.SyncAsync(alice, since, timeoutMs: 2)).Ok()["to_device"]!["events"]!.AsArray();

        Assert.Equal(["m.control"], events.Select(e => e!["type"]!.GetValue<string>())); // the control came; the first send reached no one
    }

    [Fact]
    public async Task A_long_poll_returns_as_soon_as_a_to_device_message_arrives()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var bob = await hs.Client.RegisterAsync("bob");
        var since = (await hs.Client.SyncAsync(alice, timeoutMs: 1)).Ok()["next_batch"]!.GetValue<string>();
        var clock = Stopwatch.StartNew();

        var poll = hs.Client.SyncAsync(alice, since, timeoutMs: 30_000);
        await Task.Delay(200);
        (await hs.Client.SendToDeviceAsync(bob, "m.test", "t1", new JsonObject { [alice.UserId] = new JsonObject { [alice.DeviceId] = new JsonObject() } })).Ok();
        var response = (await poll).Ok();

        Assert.Single(response["to_device"]!["events"]!.AsArray());
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"the poll took {clock.Elapsed}");
    }

    [Fact]
    public async Task A_send_without_messages_is_refused()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var bob = await hs.Client.RegisterAsync("bob");

        (await hs.Client.PutAsync(V3 + "/sendToDevice/m.test/t1", new JsonObject(), bob)).Refused(HttpStatusCode.BadRequest, "M_MISSING_PARAM");
    }
}
