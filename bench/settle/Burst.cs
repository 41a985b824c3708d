using System.Diagnostics;
using System.Globalization;
using Doorman.BenchShared;
using Doorman.Payments.Bolt11;
using Doorman.Sandbox.Players;
using Doorman.Storage;
using Membership = Doorman.Matrix.Events.Membership;

namespace Doorman.Settle;

/// <summary>
/// <c>--burst N</c>: N members each hold a pending order made through the bot's real flow (a DM, <c>join #room</c>,
/// the invoice back; 16 members at a time), then the node settles all N invoices back to back, well within a second.
/// Measured: the settle window itself; from the first settlement to the last invite request leaving the bot and to
/// the homeserver's last answer (it has applied the invite); and per purchase, its settlement → its invite request
/// sent and answered (p50/p99: the queue the burst builds inside the bot).
/// </summary>
internal static class Burst
{
    public static async Task<int> RunAsync(int members, Uri? synapse, string synapseSecret, StorageProvider provider, string? postgres,
        TextWriter output, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        void Say(string text) => output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[{Stopwatch.GetElapsedTime(started).TotalSeconds,6:F1}s] {text}"));
        var dataDir = Path.Combine(Path.GetTempPath(), "doorman-burst-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dataDir);
        try
        {
            await using var storage = await BenchStorage.CreateAsync(provider, postgres, dataDir, cancellationToken);
            // Members each send one command; the default per-member limit is far from reached.
            await using var world = await SettleWorld.StartAsync(synapse, synapseSecret, storage, dataDir, null, cancellationToken);
            var localpart = "burst-" + Guid.NewGuid().ToString("N")[..8];
            await world.Owner.CreateGatedRoomAsync(localpart, "Burst lounge", world.BotUserId, "100 sats per 30d", SettleToInvite.Patience, cancellationToken);
            Say($"bot on {world.Describe()}, {storage.Describe()}; room gated");

            // The real flow for each member, 16 at a time.
            var orders = new (string UserId, string Hash)[members];
            var setup = Stopwatch.GetTimestamp();
            await Parallel.ForEachAsync(Enumerable.Range(0, members), new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = cancellationToken },
                async (i, ct) =>
                {
                    var account = await world.RegisterAsync($"burst{i}", ct);
                    await world.ExemptAsync(account.UserId, ct);
                    using var member = new Player($"burst{i}", world.HomeserverUrl, account.UserId, account.AccessToken);
                    var dm = await member.OpenDirectMessageAsync(world.BotUserId, ct);
                    await member.WaitForMembershipAsync(dm, world.BotUserId, Membership.Join, SettleToInvite.Patience, ct);
                    var mark = member.Mark;
                    await member.SayAsync(dm, $"join #{localpart}:localhost", ct);
                    var invoice = await member.WaitForMessageAsync(dm, b => Player.FindInvoice(b) is not null, SettleToInvite.Patience, mark, ct);
                    orders[i] = (account.UserId, Bolt11Codec.Decode(Player.FindInvoice(Player.BodyOf(invoice))!).PaymentHash);
                });
            Say(string.Create(CultureInfo.InvariantCulture, $"{members} pending orders through the real flow in {Stopwatch.GetElapsedTime(setup).TotalSeconds:F1} s; load {Load()}"));

            var invites = orders.Select(o => world.Invites.ExpectAsync(o.UserId)).ToArray();
            // Where the queue is: when the last order was applied (its invite written to the outbox with it) and when
            // the last invite action was finished, read from the database every 20 ms.
            var database = storage.Open();
            var polling = PollAsync(database, members, cancellationToken);
            var settled = new long[members];
            for (var i = 0; i < members; i++)
            {
                settled[i] = Stopwatch.GetTimestamp();
                await world.Lightning.PayAsync(orders[i].Hash, cancellationToken: cancellationToken);
            }
            var window = Stopwatch.GetElapsedTime(settled[0]).TotalMilliseconds;
            var done = await Task.WhenAll(invites).WaitAsync(TimeSpan.FromMinutes(5), cancellationToken);
            var first = settled[0];
            var (applied, finished) = await polling.WaitAsync(TimeSpan.FromMinutes(1), cancellationToken);

            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"burst: {members} invoices settled in {window:F1} ms on {world.Describe()}, {storage.Describe()}, the bot exempt from rate limits ({Environment.ProcessorCount} cores, .NET {Environment.Version}); load {Load()}"));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  first settlement → last invite request sent: {Stopwatch.GetElapsedTime(first, done.Max(d => d.Sent)).TotalMilliseconds:F0} ms; → last invite answered: {Stopwatch.GetElapsedTime(first, done.Max(d => d.Answered)).TotalMilliseconds:F0} ms"));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  first settlement → all {members} orders applied (invites in the outbox): {Stopwatch.GetElapsedTime(first, applied).TotalMilliseconds:F0} ms; → all invite actions finished: {Stopwatch.GetElapsedTime(first, finished).TotalMilliseconds:F0} ms (polled every 20 ms)"));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  first settlement → first invite request sent: {Stopwatch.GetElapsedTime(first, done.Min(d => d.Sent)).TotalMilliseconds:F1} ms"));
            SettleToInvite.Print(output, "its settlement → invite request sent", [.. done.Select((d, i) => Stopwatch.GetElapsedTime(settled[i], d.Sent).TotalMilliseconds)]);
            SettleToInvite.Print(output, "its settlement → invite answered", [.. done.Select((d, i) => Stopwatch.GetElapsedTime(settled[i], d.Answered).TotalMilliseconds)]);
            await world.Bot.StopAsync(CancellationToken.None);
            return 0;
        }
        finally
        {
            SettleToInvite.DeleteQuietly(dataDir);
        }
    }

    private static async Task<(long Applied, long Finished)> PollAsync(Database database, int members, CancellationToken cancellationToken)
    {
        long applied = 0;
        while (true)
        {
            var (orders, actions) = await database.ReadAsync(async tx => (
                await tx.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM orders WHERE status = 'applied'"),
                await tx.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM membership_actions WHERE action = 'invite' AND status <> 'pending'")), cancellationToken);
            if (applied == 0 && orders >= members)
                applied = Stopwatch.GetTimestamp();
            if (applied != 0 && actions >= members)
                return (applied, Stopwatch.GetTimestamp());
            await Task.Delay(20, cancellationToken);
        }
    }

    /// <summary>The machine's load average (1, 5, 15 min), from /proc/loadavg, noted beside every figure.</summary>
    internal static string Load() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";
}
