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
}
