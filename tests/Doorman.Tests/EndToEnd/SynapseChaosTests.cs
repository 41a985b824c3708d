using System.Diagnostics;
using Doorman.Matrix.Events;
using Doorman.Sandbox.Players;
using Doorman.Storage;
using Doorman.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace Doorman.Tests.EndToEnd;

/// <summary>
/// Chaos on the real Synapse (docs/RELIABILITY.md, "Chaos around the bot"): Synapse is restarted right behind a burst
/// of payments, while the bot is applying them and sending their invites, and LND's invoice stream drops in the same
/// moment. Every payer is invited exactly once and joins, and the bot's books show each payment applied once. Runs
/// when <c>DOORMAN_SYNAPSE_RESTART</c> names the command that restarts the Synapse under test, keeping its data
/// (<c>tests/synapse/synapse.sh restart</c>; <c>.ci/run</c> runs this class on its own, after the rest, since it
/// restarts the server the other Synapse tests use).
/// </summary>
public sealed class SynapseChaosTests(ITestOutputHelper output) : SynapseScenarioTests(output)
{
    public const string RestartVariable = "DOORMAN_SYNAPSE_RESTART";
    private const int Members = 5;

    protected override bool CanRun => RestartCommand is not null;

    private static string? RestartCommand => Environment.GetEnvironmentVariable(RestartVariable) is { Length: > 0 } command ? command : null;

    [SynapseChaosFact]
    public async Task Synapse_restarted_behind_a_burst_of_payments_every_payer_is_invited_once()
    {
        await ((SynapseTestHomeserver)S.Homeserver).ExemptFromRateLimitsAsync(S.BotUserId);
        await S.StartBotAsync();
        var (roomId, alias) = await S.OwnerMakesRoomAsync();
        await S.OwnerGatesAsync(roomId, "10 sats per 30d");

        var members = new List<(Player Player, string Bolt11)>();
        try
        {
            for (var i = 0; i < Members; i++)
            {
                var player = await S.AddPlayerAsync($"chaos{i}");
                members.Add((player, await AskForInvoiceAsync(player, alias)));
            }

            // The burst, LND's stream dropped behind it, and Synapse restarted while the bot carries it out.
            foreach (var (_, bolt11) in members)
                await S.Payments.PayAsync(bolt11);
            if (S.Payments is LndTestPayments lnd)
                lnd.Node.DropStreams();
            var restarting = Stopwatch.StartNew();
            await RestartSynapseAsync();
            S.Log($"Synapse restarted in {restarting.ElapsedMilliseconds} ms, right behind {Members} payments");

            foreach (var (player, _) in members)
            {
                await player.WaitForInviteAsync(roomId, Scenario.Patience);
                await player.Client.JoinAsync(roomId, null, null, default);
                await S.Owner.WaitForMembershipAsync(roomId, player.UserId, Membership.Join, Scenario.Patience);
            }
            S.Log($"every payer invited and joined {restarting.ElapsedMilliseconds} ms after the restart began");

            // Exactly once: one invite by the bot per payer in the room's timeline, and in the bot's books one applied
            // order and one finished invite action per payment.
            foreach (var (player, _) in members)
            {
                Assert.Equal(1, S.Owner.Seen.Count(s => s.RoomId == roomId && s.Event.Type == EventTypes.Member && s.Event.StateKey == player.UserId
                    && s.Event.Sender == S.BotUserId && s.Event.ContentString("membership") == Membership.Invite));
            }
            var database = S.Bot!.Services.GetRequiredService<Database>();
            Task<long> CountAsync(string sql) => database.ReadAsync(tx => tx.ExecuteScalarAsync<long>(sql, new { roomId }), default);
            await Eventually.UntilAsync(
                async () => await CountAsync("SELECT COUNT(*) FROM membership_actions WHERE action = 'invite' AND status = 'pending' AND room_id = @roomId") == 0,
                "no invite pending", Scenario.Patience);
            Assert.Equal(Members, await CountAsync("SELECT COUNT(*) FROM orders WHERE status = 'applied' AND room_id = @roomId"));
            Assert.Equal(Members, await CountAsync("SELECT COUNT(*) FROM membership_actions WHERE action = 'invite' AND status = 'done' AND room_id = @roomId"));
            Assert.Equal(Members, await CountAsync("SELECT COUNT(*) FROM membership_actions WHERE room_id = @roomId"));
        }
        finally
        {
            foreach (var (player, _) in members)
                player.Dispose();
        }
    }

    private async Task<string> AskForInvoiceAsync(Player player, string alias)
    {
        var dm = await player.OpenDirectMessageAsync(S.BotUserId);
        await player.WaitForMembershipAsync(dm, S.BotUserId, Membership.Join, Scenario.Patience);
        var mark = player.Mark;
        await player.SayAsync(dm, "join " + alias);
        var reply = await player.WaitForMessageAsync(dm, body => Player.FindInvoice(body) is not null, Scenario.Patience, after: mark);
        return Player.FindInvoice(Player.BodyOf(reply))!;
    }

    private static async Task RestartSynapseAsync()
    {
        using var process = Process.Start(new ProcessStartInfo("/bin/sh") { ArgumentList = { "-c", RestartCommand! }, RedirectStandardError = true })
            ?? throw new InvalidOperationException("cannot start /bin/sh");
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"{RestartVariable} exited with {process.ExitCode}: {await error}");
    }
}

/// <summary>A test that restarts the real Synapse: skipped unless <c>DOORMAN_SYNAPSE_URL</c> and <c>DOORMAN_SYNAPSE_RESTART</c> are set.</summary>
public sealed class SynapseChaosFactAttribute : FactAttribute
{
    public SynapseChaosFactAttribute()
    {
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable(SynapseTestHomeserver.UrlVariable))
            || string.IsNullOrEmpty(Environment.GetEnvironmentVariable(SynapseChaosTests.RestartVariable)))
            Skip = $"needs a Synapse to restart: set {SynapseTestHomeserver.UrlVariable} and {SynapseChaosTests.RestartVariable} (bash .ci/run does)";
    }
}
