using Doorman.Sandbox.Homeserver;
using Doorman.Tests.Peers;
using Xunit.Abstractions;

namespace Doorman.Tests.EndToEnd;

/// <summary>The js-sdk stories on the sandbox homeserver (with Synapse's message rate limit turned on).</summary>
public sealed class SandboxJsPeerTests(ITestOutputHelper output) : IAsyncLifetime
{
    private Scenario _s = null!;

    public async Task InitializeAsync() =>
        _s = await Scenario.StartAsync(await SandboxTestHomeserver.StartAsync(new SandboxHomeserverOptions
        {
            MessageRateLimit = new RateLimit(PerSecond: 0.5, Burst: 5), // our test Synapse's rc_message
        }), output);

    public async Task DisposeAsync()
    {
        await _s.DisposeAsync();
        await _s.Homeserver.DisposeAsync();
    }

    [JsPeerFact]
    public Task A_knock_gets_an_invoice_in_a_new_DM_and_payment_accepts_it_v12() => JsPeerStories.KnockPayJoinExpireAsync(_s, "12");

    [JsPeerFact]
    public Task A_knock_gets_an_invoice_in_a_new_DM_and_payment_accepts_it_v11() => JsPeerStories.KnockPayJoinExpireAsync(_s, "11");

    [JsPeerFact]
    public Task A_DM_opened_by_the_member_is_accepted_and_answered() => JsPeerStories.MemberOpensDmAsync(_s);

    [JsPeerFact]
    public Task Owners_and_members_commands_in_the_room_and_from_DMs_with_short_real_periods() => JsPeerStories.OwnersAndMembersCommandsAsync(_s);

    [JsPeerFact]
    public Task Encrypted_rooms_and_DMs_across_a_restart_and_a_new_device() => JsPeerStories.EncryptedRoomsAsync(_s);

    [JsPeerFact]
    public Task Rate_limited_replies_all_arrive_in_order() =>
        JsPeerStories.RateLimitedRepliesArriveInOrderAsync(_s, () => ((SandboxTestHomeserver)_s.Homeserver).Server.RateLimitNext(_s.BotUserId, 4, TimeSpan.FromSeconds(1)));
}

/// <summary>The js-sdk stories on the real Synapse.</summary>
public sealed class SynapseJsPeerTests(ITestOutputHelper output) : SynapseScenarioTests(output)
{
    protected override bool CanRun => JsPeerEnvironment.UnavailableReason is null;

    [SynapseJsPeerFact]
    public Task A_knock_gets_an_invoice_in_a_new_DM_and_payment_accepts_it_v12() => JsPeerStories.KnockPayJoinExpireAsync(S, "12");

    [SynapseJsPeerFact]
    public Task A_knock_gets_an_invoice_in_a_new_DM_and_payment_accepts_it_v11() => JsPeerStories.KnockPayJoinExpireAsync(S, "11");

    [SynapseJsPeerFact]
    public Task A_DM_opened_by_the_member_is_accepted_and_answered() => JsPeerStories.MemberOpensDmAsync(S);

    [SynapseJsPeerFact]
    public Task Rate_limited_replies_all_arrive_in_order() => JsPeerStories.RateLimitedRepliesArriveInOrderAsync(S);

    [SynapseJsPeerFact]
    public Task Owners_and_members_commands_in_the_room_and_from_DMs_with_short_real_periods() => JsPeerStories.OwnersAndMembersCommandsAsync(S);

    [SynapseJsPeerFact]
    public Task Encrypted_rooms_and_DMs_across_a_restart_and_a_new_device() => JsPeerStories.EncryptedRoomsAsync(S);
}
