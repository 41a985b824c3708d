using System.Text.Json;
using Doorman.Matrix.Events;
using Doorman.Sandbox.Players;
using Xunit.Abstractions;

namespace Doorman.Tests.EndToEnd;

/// <summary>The end-to-end stories on the in-process sandbox homeserver.</summary>
public sealed class SandboxEndToEndTests(ITestOutputHelper output) : IAsyncLifetime
{
    private Scenario _scenario = null!;

    public async Task InitializeAsync() => _scenario = await Scenario.StartAsync(await SandboxTestHomeserver.StartAsync(), output);

    public async Task DisposeAsync()
    {
        await _scenario.DisposeAsync();
        await _scenario.Homeserver.DisposeAsync();
    }

    [Fact]
    public Task Owner_gates_member_pays_is_invited_then_removed_when_time_runs_out() => Scenarios.PayJoinExpireAsync(_scenario);

    [Fact]
    public Task The_same_in_a_room_version_12_room() => Scenarios.PayJoinExpireAsync(_scenario, roomVersion: "12");

    [Fact]
    public Task A_non_owner_cannot_set_the_price() => Scenarios.NonOwnerCannotSetPriceAsync(_scenario);

    [Fact]
    public Task A_payment_made_while_the_bot_is_down_invites_once_after_restart() => Scenarios.PaidWhileDownAsync(_scenario);

    /// <summary>
    /// As Element does, the bot encrypts a new DM only when the person has a device with keys: someone whose client
    /// publishes none (a client without encryption) gets the knock's invoice in a DM they can read.
    /// The control: the member, whose client has keys, gets an encrypted DM.
    /// </summary>
    [Fact]
    public async Task A_knocker_whose_client_has_no_keys_gets_the_invoice_in_a_DM_it_can_read()
    {
        var s = _scenario;
        await s.StartBotAsync();
        var (roomId, _) = await s.OwnerMakesRoomAsync();
        await s.Owner.Client.SetStateAsync(roomId, EventTypes.JoinRules, "", JsonSerializer.SerializeToElement(new { join_rule = "knock" }), default);
        await s.OwnerGatesAsync(roomId, "21 sats per 30d");

        var (userId, token) = await s.Homeserver.RegisterAsync("keyless");
        using var keyless = new Player("keyless", s.Homeserver.Url, userId, token) { Encryption = false };
        await keyless.Client.KnockAsync(roomId, null, default);
        var dm = await keyless.WaitForNewInviteAsync([roomId], Scenario.Patience);
        await keyless.Client.JoinAsync(dm, null, null, default);
        var invoice = await keyless.WaitForMessageAsync(dm, body => Player.FindInvoice(body) is not null, Scenario.Patience);
        Assert.Equal(s.BotUserId, invoice.Sender);
        Assert.Null(((SandboxTestHomeserver)s.Homeserver).Server.GetStateEvent(dm, EventTypes.Encryption));

        await s.Member.PumpAsync(TimeSpan.Zero); // its keys are published
        await s.Member.Client.KnockAsync(roomId, null, default);
        var memberDm = await s.Member.WaitForNewInviteAsync([roomId, dm], Scenario.Patience);
        await s.Member.Client.JoinAsync(memberDm, null, null, default);
        var memberInvoice = await s.Member.WaitForMessageAsync(memberDm, body => Player.FindInvoice(body) is not null, Scenario.Patience);
        Assert.Equal(s.BotUserId, memberInvoice.Sender);
        Assert.NotNull(((SandboxTestHomeserver)s.Homeserver).Server.GetStateEvent(memberDm, EventTypes.Encryption));
    }
}
