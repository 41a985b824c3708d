using Doorman.Sandbox.Homeserver;
using Xunit.Abstractions;

namespace Doorman.Tests.EndToEnd;

/// <summary>
/// The bot on a sandbox homeserver that rate-limits it as our test Synapse does (<c>rc_message</c> 0.5/s, burst 5;
/// tests/synapse/synapse.sh), counting invites in the same bucket as messages.
/// </summary>
public sealed class SandboxRateLimitTests(ITestOutputHelper output) : IAsyncLifetime
{
    private SandboxTestHomeserver _hs = null!;
    private Scenario _scenario = null!;

    public async Task InitializeAsync()
    {
        _hs = await SandboxTestHomeserver.StartAsync(new SandboxHomeserverOptions { MessageRateLimit = new RateLimit(PerSecond: 0.5, Burst: 5) });
        _scenario = await Scenario.StartAsync(_hs, output);
    }

    public async Task DisposeAsync()
    {
        await _scenario.DisposeAsync();
        await _hs.DisposeAsync();
    }

    /// <summary>
    /// Twenty replies take the bot 40 s at this rate. The invite is one more action in the same bucket, and it goes
    /// first: the member is invited while the flood is still being answered.
    /// </summary>
    [Fact]
    public async Task A_paying_members_invite_goes_before_the_replies_to_someone_elses_flood()
    {
        var flood = await Scenarios.PaymentDuringAFloodAsync(_scenario, commands: 20, inviteWithin: TimeSpan.FromSeconds(90));

        Assert.True(flood.AnsweredBeforePayment < flood.Commands, $"the flood was answered whole before the payment ({flood}): nothing was queued");
        Assert.True(flood.AnsweredByInvite < flood.Commands, $"the invite came after every reply to the flood ({flood})");
        // The invite waits for the bot's next token, not its turn in the queue: at most a reply already on its way
        // when the payment came, and one let go just after the invite before the flooder looked, go out meanwhile.
        var meanwhile = flood.AnsweredByInvite - flood.AnsweredBeforePayment;
        Assert.True(meanwhile <= 2, $"{meanwhile} replies to the flood went out between the payment and the invite ({flood})");
        output.WriteLine($"FIGURE: sandbox, bot rate-limited (0.5/s, burst 5), {flood.Commands}-command flood: payment → invite "
            + $"{flood.PaymentToInvite.TotalMilliseconds:F0} ms; {meanwhile} replies to the flood went out meanwhile (at most)");
    }
}
