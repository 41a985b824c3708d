using Xunit.Abstractions;

namespace Doorman.Tests.EndToEnd;

/// <summary>The same stories with BTCPay Server as the backend, notified by signed webhooks.</summary>
public sealed class BtcPayWebhookEndToEndTests(ITestOutputHelper output) : IAsyncLifetime
{
    private Scenario _s = null!;

    public async Task InitializeAsync() =>
        _s = await Scenario.StartAsync(await SandboxTestHomeserver.StartAsync(), output, async _ => await BtcPayTestPayments.StartAsync(webhooks: true));

    public async Task DisposeAsync()
    {
        await _s.DisposeAsync();
        await _s.Homeserver.DisposeAsync();
    }

    [Fact]
    public async Task Owner_gates_member_pays_is_invited_then_removed_when_time_runs_out()
    {
        await Scenarios.PayJoinExpireAsync(_s);
        // One webhook at BTCPay, registered by the bot itself, and deliveries that reached it.
        var server = ((BtcPayTestPayments)_s.Payments).Server;
        Assert.Single(server.Webhooks);
        Assert.Contains(server.Deliveries, d => d.StatusCode == 200);
    }

    [Fact]
    public async Task A_payment_made_while_the_bot_is_down_invites_once_after_restart()
    {
        await Scenarios.PaidWhileDownAsync(_s);
        // Restarts re-use the registered webhook instead of piling up new ones.
        Assert.Single(((BtcPayTestPayments)_s.Payments).Server.Webhooks);
    }
}

/// <summary>BTCPay for an operator without inbound HTTP: no webhooks, the bot polls pending orders.</summary>
public sealed class BtcPayPollingEndToEndTests(ITestOutputHelper output) : IAsyncLifetime
{
    private Scenario _s = null!;

    public async Task InitializeAsync() =>
        _s = await Scenario.StartAsync(await SandboxTestHomeserver.StartAsync(), output, async _ => await BtcPayTestPayments.StartAsync(webhooks: false));

    public async Task DisposeAsync()
    {
        await _s.DisposeAsync();
        await _s.Homeserver.DisposeAsync();
    }

    [Fact]
    public async Task Owner_gates_member_pays_is_invited_by_polling_then_removed()
    {
        // The poll interval is 5 s: that bounds the invite, not the webhook's seconds.
        await Scenarios.PayJoinExpireAsync(_s, inviteWithinSeconds: 8);
        Assert.Empty(((BtcPayTestPayments)_s.Payments).Server.Webhooks);
    }
}

/// <summary>BTCPay with webhooks, on the real Synapse.</summary>
public sealed class SynapseBtcPayEndToEndTests(ITestOutputHelper output) : SynapseScenarioTests(output, async _ => await BtcPayTestPayments.StartAsync(webhooks: true))
{

    [SynapseFact]
    public async Task Owner_gates_member_pays_is_invited_then_removed_when_time_runs_out()
    {
        var settleToInvite = await Scenarios.PayJoinExpireAsync(S, inviteWithinSeconds: 10);
        Output.WriteLine($"FIGURE synapse+btcpay settle→invite: {settleToInvite.TotalMilliseconds:F0} ms");
    }

    [SynapseFact]
    public Task A_payment_made_while_the_bot_is_down_invites_once_after_restart() => Scenarios.PaidWhileDownAsync(S);
}
