using System.Diagnostics;
using System.Globalization;
using Doorman.BenchShared;
using Doorman.Payments.Bolt11;
using Doorman.Sandbox.Players;
using Doorman.Storage;
using Membership = Doorman.Matrix.Events.Membership;

namespace Doorman.Settle;

/// <summary>
/// Purchases one at a time, as in <c>src/Doorman.Sandbox/SandboxStory.cs</c> (a gated room, a member asks in their DM,
/// pays the invoice from the embedded LND node), with the bot exempt from the homeserver's rate limits. For each:
/// settle → invite sent (the node marks the invoice settled and streams it to the bot over gRPC; the bot records it,
/// decides and hands the invite to its innermost HTTP handler), settle → invite answered (the homeserver has applied it)
/// and settle → the member's own sync shows the invite. On the sandbox homeserver, or on a real Synapse (<c>--synapse</c>:
/// accounts made with its registration shared secret, the bot exempted through its admin API as docs/operators.md advises).
/// </summary>
internal static class SettleToInvite
{
    internal static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    public static async Task<int> RunAsync(int purchases, Uri? synapse, string synapseSecret, StorageProvider provider, string? postgres,
        TextWriter output, CancellationToken cancellationToken)
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "doorman-settle-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dataDir);
        try
        {
            await using var storage = await BenchStorage.CreateAsync(provider, postgres, dataDir, cancellationToken);
            await using var world = await SettleWorld.StartAsync(synapse, synapseSecret, storage, dataDir, null, cancellationToken);
            var localpart = "vip-" + Guid.NewGuid().ToString("N")[..8];
            var room = await world.Owner.CreateGatedRoomAsync(localpart, "VIP lounge", world.BotUserId, "100 sats per 30d", Patience, cancellationToken);

            var sent = new List<double>(purchases);
            var answered = new List<double>(purchases);
            var seen = new List<double>(purchases);
            for (var i = 0; i < purchases; i++)
            {
                var account = await world.RegisterAsync($"member{i}", cancellationToken);
                using var member = new Player($"member{i}", world.HomeserverUrl, account.UserId, account.AccessToken);
                var dm = await member.OpenDirectMessageAsync(world.BotUserId, cancellationToken);
                await member.WaitForMembershipAsync(dm, world.BotUserId, Membership.Join, Patience, cancellationToken);
                var mark = member.Mark;
                await member.SayAsync(dm, $"join #{localpart}:localhost", cancellationToken);
                var invoice = await member.WaitForMessageAsync(dm, b => Player.FindInvoice(b) is not null, Patience, mark, cancellationToken);
                var hash = Bolt11Codec.Decode(Player.FindInvoice(Player.BodyOf(invoice))!).PaymentHash;

                var invite = world.Invites.ExpectAsync(account.UserId);
                var settled = Stopwatch.GetTimestamp();
                await world.Lightning.PayAsync(hash, cancellationToken: cancellationToken);
                await member.WaitForInviteAsync(room, Patience, cancellationToken);
                seen.Add(Stopwatch.GetElapsedTime(settled).TotalMilliseconds);
                var (inviteSent, inviteAnswered) = await invite.WaitAsync(Patience, cancellationToken);
                sent.Add(Stopwatch.GetElapsedTime(settled, inviteSent).TotalMilliseconds);
                answered.Add(Stopwatch.GetElapsedTime(settled, inviteAnswered).TotalMilliseconds);
            }

            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"settle → invite on {world.Describe()}, {storage.Describe()}, {purchases} purchases one at a time, the bot exempt from rate limits ({Environment.ProcessorCount} cores, .NET {Environment.Version}):"));
            Print(output, "settle → invite request sent", sent);
            Print(output, "settle → invite answered", answered);
            Print(output, "settle → the member's sync shows the invite", seen);
            Print(output, "settle → invite request sent, without the first purchase", [.. sent.Skip(1)]);
            // Whether the tail is the first purchases (code not yet compiled) or spread out (the machine, the database).
            output.WriteLine("  slowest, ms@purchase: " + string.Join(' ', sent.Select((ms, i) => (ms, i)).OrderByDescending(x => x.ms).Take(8)
                .Select(x => string.Create(CultureInfo.InvariantCulture, $"{x.ms:F1}@{x.i + 1}"))));
            await world.Bot.StopAsync(CancellationToken.None);
            return 0;
        }
        finally
        {
            DeleteQuietly(dataDir);
        }
    }

    internal static void DeleteQuietly(string dataDir)
    {
        try
        {
            Directory.Delete(dataDir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    internal static void Print(TextWriter output, string what, List<double> ms)
    {
        var sorted = ms.Order().ToArray();
        double At(double q) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  {what}: p50 {At(0.50):F2} ms, p90 {At(0.90):F2} ms, p99 {At(0.99):F2} ms, max {sorted[^1]:F2} ms; first {ms[0]:F2} ms"));
    }
}
