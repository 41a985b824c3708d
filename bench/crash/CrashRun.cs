using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Doorman.BenchShared;
using Doorman.Sandbox.Homeserver;
using Doorman.Sandbox.Lightning;
using Doorman.Sandbox.Players;
using Doorman.Storage;
using Microsoft.Data.Sqlite;
using Npgsql;
using Membership = Doorman.Matrix.Events.Membership;

namespace Doorman.Crash;

/// <summary>The run's knobs; see Program.cs for the options that set them.</summary>
internal sealed record CrashOptions(
    int Kills = 25,
    int FirstStartKills = 5,
    int Purchases = 500,
    int Members = 50,
    int Rooms = 5,
    int Controls = 3,
    int Concurrency = 10,
    int Seed = 1,
    double MinUpSeconds = 0.5,
    double MaxUpSeconds = 3,
    double StartUpKills = 0.2,
    double PatienceSeconds = 5,
    double ThinkSeconds = 1,
    string? Bot = null,
    bool Keep = false,
    StorageProvider Storage = StorageProvider.Sqlite,
    string? Postgres = null,
    int Instances = 1,
    double? MaxGapSeconds = null,
    double? ChaosSeconds = null,
    string? PostgresRestart = null,
    double? RateLimit = null);

/// <summary>
/// The sandbox homeserver and LND live in this process for the whole run; the bot is a child process that the
/// <see cref="Killer"/> kills and restarts while the <see cref="Load"/> buys access; then the <see cref="Audit"/>.
/// The world is set up as in src/Doorman.Sandbox/SandboxStory.cs and bench/settle/SettleToInvite.cs.
/// </summary>
internal static class CrashRun
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    public static async Task<int> RunAsync(CrashOptions options, TextWriter output, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        void Say(string text) => output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[{Stopwatch.GetElapsedTime(started).TotalSeconds,6:F1}s] {text}"));

        var botDll = BotProcess.Find(options.Bot);
        var dataDir = Path.Combine(Path.GetTempPath(), "doorman-crash-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dataDir);
        Say($"bot {botDll}; data, log and database in {dataDir}");

        // --rate-limit: Synapse's rc_message for the bot (its default burst, 10); the people here are exempt, so the limit
        // slows only the bot's invites, kicks and messages. Otherwise the bot is exempt, as docs/operators.md advises.
        var rateLimit = options.RateLimit is { } perSecond ? new RateLimit(perSecond, 10) : null;
        await using var homeserver = await SandboxHomeserver.StartAsync(new SandboxHomeserverOptions { MessageRateLimit = rateLimit }, cancellationToken);
        await using var lightning = await SandboxLightningNode.StartAsync(new SandboxLightningOptions(), cancellationToken);
        var lndFiles = lightning.WriteFiles(Path.Combine(dataDir, "lnd"));
        var botAccount = homeserver.RegisterUser("doorman");
        var ownerAccount = homeserver.RegisterUser("owner");
        homeserver.ExemptFromRateLimits(rateLimit is null ? botAccount.UserId : ownerAccount.UserId);
        using var owner = new Player("owner", homeserver.Url, ownerAccount.UserId, ownerAccount.AccessToken);

        // SQLite: a file in the run's folder; PostgreSQL: a fresh database on the server, dropped after a clean run.
        await using var storage = await BenchStorage.CreateAsync(options.Storage, options.Postgres, dataDir, cancellationToken);
        Say($"storage: {storage.Describe()}; {options.Instances} instance{(options.Instances == 1 ? "" : "s")}");
        var environment = new Dictionary<string, string>(storage.Environment)
        {
            ["Matrix__HomeserverUrl"] = homeserver.Url.ToString(),
            ["Matrix__UserId"] = botAccount.UserId,
            ["Matrix__AccessToken"] = botAccount.AccessToken,
            ["Payments__Backend"] = "Lnd",
            ["Payments__Lnd__Address"] = lightning.Address.ToString(),
            ["Payments__Lnd__MacaroonPath"] = Path.Combine(lndFiles, "invoice.macaroon"),
            ["Payments__Lnd__TlsCertPath"] = Path.Combine(lndFiles, "tls.cert"),
            // Each member sends ten purchases and their repeats within a minute or two; the default 10 a minute (burst 5)
            // would answer some with "slow down", which is not what this run is about.
            ["Limits__CommandsPerMinute"] = "6000",
            ["Limits__CommandBurst"] = "1000",
        };
        // Each instance with its own HTTP port and log; all on the one database (docs/operators.md, "Two instances").
        var bots = Enumerable.Range(1, options.Instances).Select(n =>
        {
            var url = new Uri($"http://127.0.0.1:{BotProcess.FreePort()}/");
            return new BotProcess(botDll, new Dictionary<string, string>(environment) { ["Http__Urls"] = url.ToString().TrimEnd('/') },
                dataDir, Path.Combine(dataDir, n == 1 ? "bot.log" : $"bot-{n}.log"), url);
        }).ToList();
        var bot = bots[0];
        void NoteAll(string line)
        {
            foreach (var b in bots)
                b.Note(line);
        }
        var httpUrl = bots.Count == 1 ? $"{bot.Url}healthz" : string.Join(", ", bots.Select(b => $"{b.Url}healthz"));
        var exitCode = 1;
        try
        {
            bot.Start();
            // The very first start, on a fresh database, does what no later start does: migrations, the key file, the
            // device's first keys. Killed at random moments of its first 2.5 s, before the run proper.
            var firstStart = new Random(options.Seed + 1);
            for (var i = 0; i < options.FirstStartKills; i++)
            {
                await Task.Delay(TimeSpan.FromSeconds(firstStart.NextDouble() * 2.5), cancellationToken);
                bot.Kill();
                bot.Start();
            }
            foreach (var standby in bots.Skip(1))
                standby.Start();
            var killer = new Killer(bots, new Random(options.Seed), TimeSpan.FromSeconds(options.MinUpSeconds), TimeSpan.FromSeconds(options.MaxUpSeconds),
                options.StartUpKills);
            using var stopWatching = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var watching = killer.WatchAsync(stopWatching.Token);
            await killer.WaitServingAsync(Patience, cancellationToken);
            Say($"the bot is serving ({httpUrl})");

            // Rooms: created by the owner, the bot invited and given power 50, gated (docs/owners.md).
            var rooms = new List<GatedRoom>();
            for (var i = 0; i < options.Rooms; i++)
            {
                var localpart = $"crash-{i}";
                var roomId = await owner.CreateGatedRoomAsync(localpart, $"Crash room {i}", botAccount.UserId, "10 sats per 30d", Patience, cancellationToken);
                rooms.Add(new GatedRoom(roomId, $"#{localpart}:{homeserver.ServerName}"));
            }
            Say($"{rooms.Count} rooms gated at 10 sats per 30 days");

            // Members and controls, each with a DM the bot has joined.
            var members = new List<Member>();
            var players = Enumerable.Range(0, options.Members + options.Controls).Select(i =>
            {
                var control = i >= options.Members;
                var name = control ? $"control{i - options.Members}" : $"member{i}";
                var account = homeserver.RegisterUser(name);
                if (rateLimit is not null)
                    homeserver.ExemptFromRateLimits(account.UserId);
                return (Player: new Player(name, homeserver.Url, account.UserId, account.AccessToken), Control: control);
            }).ToList();
            try
            {
                var dms = new Dictionary<string, string>(StringComparer.Ordinal);
                await Parallel.ForEachAsync(players, new ParallelOptions { MaxDegreeOfParallelism = options.Concurrency, CancellationToken = cancellationToken },
                    async (p, ct) =>
                    {
                        var dm = await p.Player.OpenDirectMessageAsync(botAccount.UserId, ct);
                        await p.Player.WaitForMembershipAsync(dm, botAccount.UserId, Membership.Join, Patience, ct);
                        lock (dms)
                            dms[p.Player.UserId] = dm;
                    });
                members.AddRange(players.Select(p => new Member(p.Player, dms[p.Player.UserId], p.Control)));
                Say($"{options.Members} members and {options.Controls} controls, each in a DM with the bot");

                // The run: kills and purchases at once.
                var perMember = options.Purchases / options.Members;
                var load = new Load(lightning, rooms, TimeSpan.FromSeconds(options.PatienceSeconds), TimeSpan.FromSeconds(options.ThinkSeconds), options.Seed,
                    () => killer.Serving);
                killer.Begin();
                NoteAll("the kills begin");
                var loadStarted = Stopwatch.GetTimestamp();
                double? loadSeconds = null;
                var loading = Task.Run(async () =>
                {
                    await load.RunAsync(members, perMember, options.Concurrency, cancellationToken);
                    loadSeconds = Stopwatch.GetElapsedTime(loadStarted).TotalSeconds;
                }, cancellationToken);
                var killing = killer.RunAsync(options.Kills, cancellationToken);
                // --chaos: the servers around the bot fail too, until the purchases are done.
                using var loadDone = new CancellationTokenSource();
                var chaos = options.ChaosSeconds is { } chaosEvery
                    ? new Chaos(homeserver, lightning, options.PostgresRestart, new Random(options.Seed + 2), TimeSpan.FromSeconds(chaosEvery), NoteAll)
                    : null;
                var faulting = chaos?.RunAsync(loadDone.Token) ?? Task.CompletedTask;
                await Task.WhenAll(killing, loading.ContinueWith(_ => loadDone.Cancel(), TaskScheduler.Default));
                await Task.WhenAll(faulting, loading);
                var killSeconds = killer.Kills[^1].AtSeconds;
                NoteAll("the last kill is behind; the load is done");
                Say(string.Create(CultureInfo.InvariantCulture,
                    $"{killer.Kills.Count} kills over {killSeconds:F1} s; {load.Purchases} purchases over {loadSeconds:F1} s"));

                // Quiet: serving, with nothing pending in any queue for 3 s in a row; then stopped as an operator would.
                await killer.WaitServingAsync(Patience, cancellationToken);
                var quietSince = Stopwatch.GetTimestamp();
                var quietDeadline = Stopwatch.GetTimestamp() + 120 * Stopwatch.Frequency;
                while (Stopwatch.GetElapsedTime(quietSince) < TimeSpan.FromSeconds(3))
                {
                    if (await killer.PendingWorkAsync(cancellationToken) is not 0)
                        quietSince = Stopwatch.GetTimestamp();
                    if (Stopwatch.GetTimestamp() > quietDeadline)
                    {
                        Say("the bot did not become quiet within 120 s (outbox or inbox still pending); stopping it anyway");
                        break;
                    }
                    await Task.Delay(250, cancellationToken);
                }
                // The watcher (which restarts a bot that exits) first; then the standbys, so that none takes over from the
                // last one stopping.
                await stopWatching.CancelAsync();
                await watching;
                var botExits = new List<int>();
                foreach (var b in Enumerable.Reverse(bots))
                    botExits.Add(await b.StopAsync(TimeSpan.FromSeconds(30), cancellationToken));
                Say($"the bot is quiet and stopped (exit code {string.Join(", ", botExits)})");

                NpgsqlConnection.ClearAllPools();
                using var db = OpenReadOnly(storage);
                var audit = Audit.Run(homeserver, lightning, db, botAccount.UserId, rooms, members, load);
                var kills = killer.Kills;
                var outages = killer.Outages;
                var longest = outages.MaxBy(o => o.Seconds);
                var killsDuringLoad = loadSeconds is { } ls ? kills.Count(k => k.AtSeconds <= ls) : kills.Count;
                var restartTimes = killer.StartToServing.Skip(1).Order().ToArray();
                var inv = CultureInfo.InvariantCulture;
                output.WriteLine();
                output.WriteLine(string.Create(inv, $"Crash run: seed {options.Seed}, {Environment.ProcessorCount} cores, .NET {Environment.Version}, bot {botDll}"));
                output.WriteLine(string.Create(inv, $"  storage:                   {options.Storage}, {options.Instances} instance{(options.Instances == 1 ? "" : "s")}{(options.Instances > 1 ? " (the active one killed each time)" : "")}"));
                output.WriteLine(string.Create(inv, $"  purchases paid:            {load.Purchases} ({options.Members} members × {perMember}, {rooms.Count} rooms; {load.Asks} asks, {load.AskedAgain} of them repeats after {options.PatienceSeconds} s without an answer; {load.PaidWhileDown} paid while the bot was down)"));
                output.WriteLine(string.Create(inv, $"  controls:                  {options.Controls}, holding {load.ControlInvoices.Count} unpaid invoices"));
                output.WriteLine(string.Create(inv, $"  kills (SIGKILL):           {kills.Count} ({killsDuringLoad} while purchases ran; {kills.Count(k => k.DuringStartUp)} timed into start-up, {kills.Count(k => !k.WasServing)} of them before it served; {kills.Count(k => k.PendingWork > 0)} with messages, invites or commands pending){(bots.Count > 1 ? "; by instance: " + string.Join(" / ", bots.Select((_, i) => kills.Count(k => k.Instance == i + 1))) : "")}"));
                if (chaos is not null)
                    output.WriteLine(string.Create(inv, $"  chaos (every ~{options.ChaosSeconds} s):").PadRight(29) + (chaos.Done.Count == 0 ? "none"
                        : string.Join(", ", chaos.Done.OrderBy(d => d.Key, StringComparer.Ordinal).Select(d => $"{d.Value} × {d.Key}"))));
                if (rateLimit is not null)
                    output.WriteLine(string.Create(inv, $"  bot's rate limit:          {rateLimit.PerSecond}/s, burst {rateLimit.Burst} (rc_message)"));
                output.WriteLine(string.Create(inv, $"  exits by itself:           {killer.Exits} (restarted, as by a restart policy)"));
                output.WriteLine(string.Create(inv, $"  first-start kills:         {options.FirstStartKills} (before setup, at random in the first 2.5 s of a start on a fresh database)"));
                output.WriteLine(string.Create(inv, $"  restarts:                  {bots.Sum(b => b.Starts) - bots.Count}; {(bots.Count > 1 ? "kill → the other serving (takeover)" : "start → serving")} p50 {Quantile(restartTimes, 0.5):F2} s, max {(restartTimes.Length > 0 ? restartTimes[^1] : double.NaN):F2} s"));
                output.WriteLine(string.Create(inv, $"  longest gap in service:    {longest?.Seconds:F2} s (kill at {longest?.DownAtSeconds:F1} s, serving again at {longest?.UpAtSeconds:F1} s, {longest?.Kills} kills in it); {outages.Count} gaps, mean {(outages.Count > 0 ? outages.Average(o => o.Seconds) : 0):F2} s"));
                output.WriteLine(string.Create(inv, $"  invoices settled (node):   {audit.InvoicesSettled}"));
                output.WriteLine(string.Create(inv, $"  orders applied (bot):      {audit.OrdersApplied}"));
                output.WriteLine(string.Create(inv, $"  invites by the bot:        {audit.Invites}; removals {audit.Kicks}"));
                output.WriteLine(string.Create(inv, $"  receipts in DMs:           {audit.ReceiptsInDms}"));
                output.WriteLine(string.Create(inv, $"  left pending / quarantined: {audit.PendingOutboxRows} / {audit.QuarantinedInboxItems}"));
                var settleToInvite = load.SettleToInviteMs.Order().ToArray();
                output.WriteLine(string.Create(inv, $"  settle → member sees invite: p50 {Quantile(settleToInvite, 0.5):F0} ms, p99 {Quantile(settleToInvite, 0.99):F0} ms, max {(settleToInvite.Length > 0 ? settleToInvite[^1] : double.NaN):F0} ms ({settleToInvite.Length} joins, kills included)"));
                var problems = load.Failures.Concat(audit.Breaches).ToList();
                if (options.MaxGapSeconds is { } maxGap && longest is not null && longest.Seconds > maxGap)
                    problems.Add(string.Create(inv, $"a gap in service of {longest.Seconds:F2} s (kill at {longest.DownAtSeconds:F1} s), longer than --max-gap {maxGap} s"));
                // The crashes must not cost the bot its encryption: src/Doorman/Homeserver/BotCrypto.cs logs which it is each time an
                // instance becomes active (a standby that never took over logs nothing).
                var lastCrypto = bots.Select(b => (Log: Path.GetFileName(b.LogPath),
                    Line: File.ReadLines(b.LogPath).LastOrDefault(l => l.Contains("End-to-end encryption is", StringComparison.Ordinal)))).ToList();
                if (lastCrypto.All(c => c.Line is null))
                    problems.Add("end-to-end encryption was never started: not logged");
                foreach (var (log, line) in lastCrypto.Where(c => c.Line?.Contains("End-to-end encryption is on", StringComparison.Ordinal) == false))
                    problems.Add($"end-to-end encryption is not on at the last start ({log}): {line!.Trim()}");
                output.WriteLine($"  duplicates or breaches found: {problems.Count}");
                foreach (var problem in problems.Take(50))
                    output.WriteLine("    " + problem);
                foreach (var b in bots)
                {
                    output.WriteLine($"  bot log: {b.LogPath}");
                    foreach (var line in LogSummary(b.LogPath))
                        output.WriteLine("    " + line);
                }
                exitCode = problems.Count == 0 ? 0 : 1;
                return exitCode;
            }
            finally
            {
                foreach (var p in players)
                    p.Player.Dispose();
            }
        }
        finally
        {
            foreach (var b in bots)
                b.Dispose();
            storage.KeepDatabase = options.Keep || exitCode != 0;
            if (!options.Keep && exitCode == 0)
            {
                try
                {
                    Directory.Delete(dataDir, recursive: true);
                }
                catch (IOException)
                {
                }
            }
            else
            {
                output.WriteLine($"kept {dataDir} (the bot's log, database and the node's files){(storage.Provider == StorageProvider.Postgres ? $" and {storage.Describe()}" : "")}");
            }
        }
    }

    /// <summary>
    /// The bot's warnings and errors, by kind (the console format puts the level and category on one line and the message
    /// on the next), and whether end-to-end encryption came up at the last start.
    /// </summary>
    private static IEnumerable<string> LogSummary(string logPath)
    {
        var lines = File.ReadAllLines(logPath);
        var kinds = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i + 1 < lines.Length; i++)
        {
            if (!lines[i].StartsWith("warn:", StringComparison.Ordinal) && !lines[i].StartsWith("fail:", StringComparison.Ordinal)
                && !lines[i].StartsWith("crit:", StringComparison.Ordinal))
                continue;
            // Numbers (durations, counts) vary between lines of the same kind.
            var message = Regex.Replace(lines[i + 1].Trim(), @"\d+(\.\d+)?", "N");
            var key = lines[i][..4] + " " + (message.Length > 110 ? message[..110] + "…" : message);
            kinds[key] = kinds.GetValueOrDefault(key) + 1;
        }
        foreach (var (kind, count) in kinds.OrderByDescending(k => k.Value).Take(8))
            yield return string.Create(CultureInfo.InvariantCulture, $"{count,5} × {kind}");
        var lastCrypto = lines.LastOrDefault(l => l.Contains("End-to-end encryption is", StringComparison.Ordinal));
        yield return "encryption at the last start: " + (lastCrypto?.Trim() ?? "not logged");
    }

    private static System.Data.Common.DbConnection OpenReadOnly(BenchStorage storage)
    {
        System.Data.Common.DbConnection db = storage.Provider == StorageProvider.Postgres
            ? new NpgsqlConnection(storage.Options.ConnectionString)
            : new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = storage.Options.Path, Mode = SqliteOpenMode.ReadOnly }.ToString());
        db.Open();
        return db;
    }

    private static double Quantile(double[] sorted, double q) =>
        sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, Math.Max(0, (int)Math.Ceiling(q * sorted.Length) - 1))];
}
