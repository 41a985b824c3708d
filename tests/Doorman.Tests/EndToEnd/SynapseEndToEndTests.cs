using System.Diagnostics;
using Doorman.Matrix.Sync;
using Doorman.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace Doorman.Tests.EndToEnd;

/// <summary>
/// The same stories on a real Synapse (Debian sid's matrix-synapse in a debootstrap root, started by
/// <c>tests/synapse/synapse.sh</c>). Synapse's own rate limits apply: the bot must wait out its 429s.
/// </summary>
public sealed class SynapseEndToEndTests(ITestOutputHelper output) : SynapseScenarioTests(output)
{

    [SynapseFact]
    public async Task Owner_gates_member_pays_is_invited_then_removed_when_time_runs_out()
    {
        var settleToInvite = await Scenarios.PayJoinExpireAsync(S, inviteWithinSeconds: 10);
        Output.WriteLine($"FIGURE synapse settle→invite: {settleToInvite.TotalMilliseconds:F0} ms");
    }

    /// <summary>
    /// With the bot exempt from Synapse's rate limit, as the README advises operators, nothing holds the invite back:
    /// the sandbox's bound (2 s) holds on Synapse too.
    /// </summary>
    [SynapseFact]
    public async Task With_the_bot_exempt_from_rate_limits_the_invite_follows_the_payment_within_2_s()
    {
        await ((SynapseTestHomeserver)S.Homeserver).ExemptFromRateLimitsAsync(S.BotUserId);
        var settleToInvite = await Scenarios.PayJoinExpireAsync(S, inviteWithinSeconds: 2);
        Output.WriteLine($"FIGURE synapse settle→invite, bot exempt from rate limits: {settleToInvite.TotalMilliseconds:F0} ms");
    }

    /// <summary>
    /// README "Rate limits": the bot is not exempt here. One user floods it with 100 commands while another pays;
    /// the invite waits for at most one of the bot's rate-limit tokens, not for the flood's replies. 60 s is a
    /// liveness bound only; the figure is printed.
    /// </summary>
    [SynapseFact]
    public async Task A_flood_of_commands_does_not_hold_up_a_paying_members_invite()
    {
        var flood = await Scenarios.PaymentDuringAFloodAsync(S, commands: 100, inviteWithin: TimeSpan.FromSeconds(60));
        Output.WriteLine($"FIGURE: synapse, bot rate-limited (rc_message 0.5/s, burst 5), {flood.Commands}-command flood: payment → invite "
            + $"{flood.PaymentToInvite.TotalMilliseconds:F0} ms; {flood.AnsweredByInvite - flood.AnsweredBeforePayment} replies to the flood went out meanwhile (at most), "
            + $"{flood.Commands - flood.AnsweredByInvite} still queued");
    }

    [SynapseFact]
    public Task The_same_in_a_room_version_12_room() => Scenarios.PayJoinExpireAsync(S, roomVersion: "12", inviteWithinSeconds: 10);

    [SynapseFact]
    public Task A_non_owner_cannot_set_the_price() => Scenarios.NonOwnerCannotSetPriceAsync(S);

    [SynapseFact]
    public Task A_payment_made_while_the_bot_is_down_invites_once_after_restart() => Scenarios.PaidWhileDownAsync(S);

    /// <summary>
    /// A restarted bot catches up at once: its first sync does not long-poll, so /healthz is soon healthy and the first
    /// command is answered at once. (A long-poll with the stored token waits for news, and Synapse may hand it the
    /// response of the poll the previous run left open, at that poll's timeout: the image test saw 27 s.)
    /// 10 s is a liveness bound, a third of the long-poll.
    /// </summary>
    [SynapseFact]
    public async Task A_restarted_bot_catches_up_at_once_and_answers_the_first_command()
    {
        await ((SynapseTestHomeserver)S.Homeserver).ExemptFromRateLimitsAsync(S.BotUserId);
        await S.StartBotAsync();
        var dm = await S.MemberOpensDmAsync();
        var mark = S.Member.Mark;
        await S.Member.SayAsync(dm, "help");
        await S.Member.WaitForMessageAsync(dm, body => body.Contains("status", StringComparison.Ordinal), Scenario.Patience, after: mark);
        await S.StopBotAsync();
        var restarted = Stopwatch.StartNew();
        await S.StartBotAsync();
        var sync = S.Bot!.Services.GetRequiredService<SyncLoop>();
        await Eventually.UntilAsync(() => Task.FromResult(sync.LastSuccess is not null), "the restarted bot's first sync", TimeSpan.FromSeconds(10));

        mark = S.Member.Mark;
        await S.Member.SayAsync(dm, "status");
        await S.Member.WaitForMessageAsync(dm, _ => true, TimeSpan.FromSeconds(10), after: mark);
        Output.WriteLine($"FIGURE synapse, restart → first command answered in {restarted.Elapsed.TotalMilliseconds:F0} ms");
    }
}
