using System.Diagnostics;
using System.Globalization;
using Doorman.BenchShared;
using Doorman.Crash;
using Doorman.Sandbox.Homeserver;
using Doorman.Sandbox.Lightning;
using Doorman.Sandbox.Players;
using Doorman.Storage;

namespace Doorman.Load;

/// <summary>
/// <c>memory</c>: the bot's resident memory, synced and idle, with an empty database and with <c>--subscriptions</c>
/// (100,000) in it. The bot is a child process (bench/crash's <see cref="BotProcess"/>: <c>dotnet Doorman.dll</c>,
/// configured by environment variables), the sandbox homeserver and LND in this process. First start: the owner gates
/// a room (docs/owners.md), then the bot is stopped. Second start, on that database: measured. Stopped; the
/// subscriptions seeded into the room (<see cref="Seed"/>); third start: measured. Each measurement: <c>VmRSS</c> and
/// <c>VmHWM</c> of /proc/&lt;pid&gt;/status <c>--settle</c> seconds (10) after <c>/healthz</c> first answers 200
/// with no outbox work pending, and again after one <c>/metrics</c> scrape (its gauges count the subscriptions).
/// </summary>
internal static class MemoryRun
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    public static async Task<int> RunAsync(StorageProvider provider, string? postgres, int subscriptions, TimeSpan settle, string? botPath,
        TextWriter output, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        void Say(string text) => output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[{Stopwatch.GetElapsedTime(started).TotalSeconds,6:F1}s] {text}"));
        var botDll = BotProcess.Find(botPath);
        var dataDir = Path.Combine(Path.GetTempPath(), "doorman-memory-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dataDir);
        try
        {
            await using var storage = await BenchStorage.CreateAsync(provider, postgres, dataDir, cancellationToken);
            await using var homeserver = await SandboxHomeserver.StartAsync(new SandboxHomeserverOptions(), cancellationToken);
            await using var lightning = await SandboxLightningNode.StartAsync(new SandboxLightningOptions(), cancellationToken);
            var lndFiles = lightning.WriteFiles(Path.Combine(dataDir, "lnd"));
            var botAccount = homeserver.RegisterUser("doorman");
            homeserver.ExemptFromRateLimits(botAccount.UserId);
            var ownerAccount = homeserver.RegisterUser("owner");
            using var owner = new Player("owner", homeserver.Url, ownerAccount.UserId, ownerAccount.AccessToken);

            var httpUrl = new Uri($"http://127.0.0.1:{BotProcess.FreePort()}/");
            var environment = new Dictionary<string, string>(storage.Environment)
            {
                ["Matrix__HomeserverUrl"] = homeserver.Url.ToString(),
                ["Matrix__UserId"] = botAccount.UserId,
                ["Matrix__AccessToken"] = botAccount.AccessToken,
                ["Http__Urls"] = httpUrl.ToString().TrimEnd('/'),
                ["Payments__Backend"] = "Lnd",
                ["Payments__Lnd__Address"] = lightning.Address.ToString(),
                ["Payments__Lnd__MacaroonPath"] = Path.Combine(lndFiles, "invoice.macaroon"),
                ["Payments__Lnd__TlsCertPath"] = Path.Combine(lndFiles, "tls.cert"),
            };
            using var bot = new BotProcess(botDll, environment, dataDir, Path.Combine(dataDir, "bot.log"), httpUrl);
            Say($"bot {botDll} on {storage.Describe()}");

            bot.Start();
            await WaitServingAsync(bot, cancellationToken);
            var roomId = await owner.CreateGatedRoomAsync("memory", "Memory lounge", botAccount.UserId, "100 sats per 30d", Patience, cancellationToken);
            await bot.StopAsync(Patience, cancellationToken);
            Say($"room {roomId} gated; bot stopped");

            var empty = await MeasureAsync(bot, settle, cancellationToken);
            Say(empty.ToString());
            await bot.StopAsync(Patience, cancellationToken);

            var database = storage.Open();
            var seeding = Stopwatch.GetTimestamp();
            var rows = await Seed.SubscriptionsAsync(database, roomId, "load", homeserver.ServerName, subscriptions,
                TimeProvider.System.GetUtcNow().AddDays(30), cancellationToken);
            var seconds = Stopwatch.GetElapsedTime(seeding).TotalSeconds;
            var size = await storage.SizeBytesAsync(cancellationToken) / 1048576.0;
            Say(string.Create(CultureInfo.InvariantCulture, $"seeded {rows} subscriptions in {seconds:F2} s (one transaction); database now {size:F1} MiB"));

            var full = await MeasureAsync(bot, settle, cancellationToken);
            Say(full.ToString());
            await bot.StopAsync(Patience, cancellationToken);

            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"memory on {storage.Describe()} ({Environment.ProcessorCount} cores, .NET {Environment.Version}), idle {settle.TotalSeconds:F0} s after serving; load {Load()}"));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  empty database:          RSS {empty.RssMiB:F1} MiB, after a scrape {empty.RssAfterScrapeMiB:F1} MiB, peak {empty.PeakMiB:F1} MiB, start → serving {empty.StartSeconds:F2} s"));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {subscriptions,7:N0} subscriptions: RSS {full.RssMiB:F1} MiB, after a scrape {full.RssAfterScrapeMiB:F1} MiB, peak {full.PeakMiB:F1} MiB, start → serving {full.StartSeconds:F2} s"));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  difference: RSS {full.RssMiB - empty.RssMiB:+0.0;-0.0} MiB, after a scrape {full.RssAfterScrapeMiB - empty.RssAfterScrapeMiB:+0.0;-0.0} MiB, peak {full.PeakMiB - empty.PeakMiB:+0.0;-0.0} MiB"));
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

    private sealed record Measurement(double StartSeconds, double RssMiB, double RssAfterScrapeMiB, double PeakMiB)
    {
        public override string ToString() => string.Create(CultureInfo.InvariantCulture,
            $"serving after {StartSeconds:F2} s; idle RSS {RssMiB:F1} MiB, after a /metrics scrape {RssAfterScrapeMiB:F1} MiB, peak {PeakMiB:F1} MiB; load {Load()}");
    }

    private static async Task<Measurement> MeasureAsync(BotProcess bot, TimeSpan settle, CancellationToken cancellationToken)
    {
        var start = Stopwatch.GetTimestamp();
        bot.Start();
        await WaitServingAsync(bot, cancellationToken);
        var serving = Stopwatch.GetElapsedTime(start).TotalSeconds;
        await Task.Delay(settle, cancellationToken);
        var (rss, _) = Status(bot.ProcessId!.Value);
        if (await bot.OutboxDepthAsync(cancellationToken) is not 0.0)
            throw new InvalidOperationException("the bot still has outbox work pending; not idle");
        await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken);
        var (afterScrape, peak) = Status(bot.ProcessId!.Value);
        return new Measurement(serving, rss, afterScrape, peak);
    }

    private static async Task WaitServingAsync(BotProcess bot, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(Patience.TotalSeconds * Stopwatch.Frequency);
        while (!await bot.IsServingAsync(cancellationToken))
        {
            if (Stopwatch.GetTimestamp() > deadline)
                throw new TimeoutException("the bot did not answer /healthz with 200; see its log");
            await Task.Delay(50, cancellationToken);
        }
    }

    /// <summary><c>VmRSS</c> and <c>VmHWM</c> (the peak) from /proc/&lt;pid&gt;/status, in MiB.</summary>
    private static (double Rss, double Peak) Status(int pid)
    {
        var lines = File.ReadAllLines($"/proc/{pid}/status");
        double KiB(string key) => double.Parse(lines.First(l => l.StartsWith(key, StringComparison.Ordinal))[key.Length..].Trim().Split(' ')[0],
            CultureInfo.InvariantCulture) / 1024;
        return (KiB("VmRSS:"), KiB("VmHWM:"));
    }

    internal static string Load() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";
}
