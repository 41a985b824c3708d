using System.Diagnostics;
using System.Globalization;
using Doorman.BenchShared;
using Doorman.Settle;
using Doorman.Storage;

namespace Doorman.Load;

/// <summary>
/// <c>sweep</c>: <c>--due</c> (10,000) subscriptions ending at the same instant, swept by the running bot itself (the
/// bot embedded with its real service graph, bench/settle's <see cref="SettleWorld"/>: the sandbox homeserver and LND,
/// real time). First start: the owner gates a room, and the bot stops. Then the members are registered and invited
/// to the room by the owner (so each is present and the bot's kick is a real request: src/Doorman/Outbox/MembershipWorker.cs
/// kicks only a member who is joined, invited or knocking), and their subscriptions are seeded (<see cref="Seed"/>)
/// to end at one instant a little after the bot's second start. The bot's sweep job, scheduled at the next deadline
/// (src/Doorman/Scheduling/SweepScheduler.cs), claims them (src/Doorman/Access/Sweeper.cs). Measured from that instant,
/// by polling the database every 20 ms: the first and the last kick written to the outbox (<c>membership_actions</c>);
/// by the stamp on the bot's HTTP handler: the last kick request sent and answered; and all kick actions finished.
/// </summary>
internal static class SweepRun
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    public static async Task<int> RunAsync(StorageProvider provider, string? postgres, int due, TimeSpan lead, bool present,
        TextWriter output, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        void Say(string text) => output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[{Stopwatch.GetElapsedTime(started).TotalSeconds,6:F1}s] {text}"));
        var dataDir = Path.Combine(Path.GetTempPath(), "doorman-sweep-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dataDir);
        try
        {
            await using var storage = await BenchStorage.CreateAsync(provider, postgres, dataDir, cancellationToken);
            await using var world = await SettleWorld.StartAsync(null, "", storage, dataDir, null, cancellationToken);
            var roomId = await world.Owner.CreateGatedRoomAsync("sweep", "Sweep lounge", world.BotUserId, "100 sats per 30d", Patience, cancellationToken);
            await world.StopBotAsync();
            Say($"bot on {storage.Describe()}; room {roomId} gated; bot stopped");

            var serverName = world.BotUserId[(world.BotUserId.IndexOf(':', StringComparison.Ordinal) + 1)..];
            if (present)
            {
                await world.ExemptAsync(world.Owner.UserId, cancellationToken);
                var inviting = Stopwatch.GetTimestamp();
                await Parallel.ForEachAsync(Enumerable.Range(0, due), new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken },
                    async (i, ct) =>
                    {
                        var (userId, _) = await world.RegisterAsync($"due{i}", ct);
                        await world.Owner.Client.InviteAsync(roomId, userId, null, ct);
                    });
                Say(string.Create(CultureInfo.InvariantCulture, $"{due} members registered and invited by the owner in {Stopwatch.GetElapsedTime(inviting).TotalSeconds:F1} s"));
            }

            var database = storage.Open();
            var deadline = TimeProvider.System.GetUtcNow() + lead;
            var seeding = Stopwatch.GetTimestamp();
            await Seed.SubscriptionsAsync(database, roomId, "due", serverName, due, deadline, cancellationToken);
            Say(string.Create(CultureInfo.InvariantCulture, $"seeded {due} subscriptions ending at {deadline:HH:mm:ss.fff} in {Stopwatch.GetElapsedTime(seeding).TotalSeconds:F2} s"));
            var kicks = Enumerable.Range(0, due).Select(i => world.Kicks.ExpectAsync(Seed.UserId("due", i, serverName))).ToArray();

            await world.RestartBotAsync(cancellationToken);
            var wait = deadline - TimeProvider.System.GetUtcNow();
            Say(string.Create(CultureInfo.InvariantCulture, $"bot started again; the deadline is {wait.TotalSeconds:F1} s away; load {Load()}"));
            if (wait <= TimeSpan.Zero)
                throw new InvalidOperationException("the bot took longer to start than --lead: raise it");
            await Task.Delay(wait, cancellationToken);
            var at = Stopwatch.GetTimestamp();

            double? firstKick = null, allKicks = null, allFinished = null;
            while (allFinished is null)
            {
                var written = await Seed.CountAsync(database, "SELECT COUNT(*) FROM membership_actions WHERE action = 'kick'", cancellationToken);
                var now = Stopwatch.GetElapsedTime(at).TotalMilliseconds;
                if (written > 0)
                    firstKick ??= now;
                if (written >= due)
                    allKicks ??= now;
                if (allKicks is not null
                    && await Seed.CountAsync(database, "SELECT COUNT(*) FROM membership_actions WHERE action = 'kick' AND status <> 'pending'", cancellationToken) >= due)
                    allFinished = now;
                if (now > TimeSpan.FromMinutes(15).TotalMilliseconds)
                    throw new TimeoutException($"after 15 minutes: {written} kicks written");
                await Task.Delay(20, cancellationToken);
            }
            var claimed = await Seed.CountAsync(database, "SELECT COUNT(*) FROM subscriptions WHERE expired_at IS NOT NULL", cancellationToken);
            var done = await Seed.CountAsync(database, "SELECT COUNT(*) FROM membership_actions WHERE action = 'kick' AND status = 'done'", cancellationToken);

            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"sweep of {due} deadlines at one instant on {storage.Describe()} ({Environment.ProcessorCount} cores, .NET {Environment.Version}); load {Load()}"));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  deadline → first kick in the outbox: {firstKick:F0} ms; → all {due} in the outbox: {allKicks:F0} ms ({claimed} subscriptions claimed)"));
            if (present)
            {
                var stamped = await Task.WhenAll(kicks).WaitAsync(Patience, cancellationToken);
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  deadline → last kick request sent: {Stopwatch.GetElapsedTime(at, stamped.Max(s => s.Sent)).TotalMilliseconds:F0} ms; → answered by the homeserver: {Stopwatch.GetElapsedTime(at, stamped.Max(s => s.Answered)).TotalMilliseconds:F0} ms"));
            }
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  deadline → every kick action finished: {allFinished:F0} ms ({done} done, {due - done} otherwise; {world.Kicks.Count} kick requests)"));
            await world.StopBotAsync();
            return 0;
        }
        finally
        {
            try
            {
                Directory.Delete(dataDir, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private static string Load() => MemoryRun.Load();
}
