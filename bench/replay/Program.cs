using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Doorman.Replay;

// Doorman.Replay run   --name NAME [--mode replies|sync-only] [--batches 200] [--events 500] [--seed 1] [--idle 10] [--out FILE] -- BOT COMMAND...
// Doorman.Replay table [--baseline NAME] FILE...
// See bench/README.md.
return args switch
{
    ["run", .. var rest] => await RunAsync(rest),
    ["table", .. var rest] => Table(rest),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("""
        usage: Doorman.Replay run --name NAME [--mode replies|sync-only] [--batches 200] [--events 500] [--rooms 50] [--seed 1]
                                  [--idle 10] [--stall 30] [--out FILE] -- BOT COMMAND...
               Doorman.Replay table [--baseline NAME] RESULT.json...
        """);
    return 2;
}

static async Task<int> RunAsync(string[] args)
{
    var split = Array.IndexOf(args, "--");
    if (split < 0 || split == args.Length - 1)
        return Usage();
    var options = Options.Parse(args[..split]);
    var command = args[(split + 1)..];
    var name = options.Get("name", null) ?? command[0];
    var mode = options.Get("mode", "replies");
    if (mode is not ("replies" or "sync-only"))
        return Usage();
    var batches = options.Number("batches", 200);
    var events = options.Number("events", 500);
    var idle = TimeSpan.FromSeconds(options.Number("idle", 10));
    var stall = TimeSpan.FromSeconds(options.Number("stall", 30));
    var withCommands = mode == "replies";

    var made = Stopwatch.StartNew();
    var stream = ReplayScript.Generate(batches, events, options.Number("rooms", 50), options.Number("seed", 1), withCommands);
    Console.Error.WriteLine($"replay: {batches} batches × {events} events ({stream.Batches.Sum(b => (long)b.Length) / 1048576.0:F1} MiB), " +
        $"{stream.Commands.Count} commands, made in {made.Elapsed.TotalSeconds:F1} s; starting {name} ({mode})");
    // The generator's garbage must not be collected while the bot runs: this process shares the two cores.
    GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
    var load = ReadLoad();
    var busy = await BusyPercentAsync();

    var accessToken = "replay-" + Guid.NewGuid().ToString("N");
    var recorder = new Recorder(stream);
    using var stopping = new CancellationTokenSource();
    var server = new ReplayServer(stream, recorder, accessToken, stopping.Token);
    var (app, url) = await ReplayServer.StartAsync(server);
    await using var _ = app;

    using var bot = BotProcess.Start(command, url, accessToken);
    var launched = Stopwatch.GetTimestamp();
    string? failure = null;
    TimeSpan cpuAtStart = default, cpuAtEnd = default;

    // Until the bot has synced once, then until it has handled every batch (and answered every command),
    // or stopped making progress, or died.
    var started = await WaitAsync(recorder.InitialSynced, bot, recorder, TimeSpan.FromSeconds(60));
    if (started is not null)
    {
        failure = "never synced: " + started;
    }
    else
    {
        cpuAtStart = bot.CpuTime();
        failure = await WaitAsync(Task.WhenAll(recorder.SyncDone, recorder.AllAnswered), bot, recorder, stall);
        if (!bot.HasExited)
            cpuAtEnd = bot.CpuTime();
    }

    double? idleRss = null;
    bool? inLongPoll = null;
    if (failure is null && idle > TimeSpan.Zero)
    {
        await Task.Delay(idle);
        if (bot.HasExited)
        {
            failure = $"exited with {bot.ExitCode} while idle";
        }
        else
        {
            idleRss = bot.StatusMiB("VmRSS");
            inLongPoll = recorder.InLongPoll;
        }
    }
    var peakRss = bot.HasExited ? double.NaN : bot.StatusMiB("VmHWM");
    await bot.StopAsync();
    await stopping.CancelAsync();
    await app.StopAsync();

    var first = recorder.FirstServedAt;
    var latencies = recorder.LatenciesMs();
    var end = withCommands ? Math.Max(recorder.LastReplyAt, recorder.SyncDoneAt) : recorder.SyncDoneAt;
    var seconds = first > 0 && end > first ? Stopwatch.GetElapsedTime(first, end).TotalSeconds : double.NaN;
    var syncSeconds = first > 0 && recorder.SyncDoneAt > first ? Stopwatch.GetElapsedTime(first, recorder.SyncDoneAt).TotalSeconds : double.NaN;
    var result = new RunResult
    {
        Bot = name,
        Mode = mode,
        Machine = Machine(),
        Load = load,
        Busy = busy,
        Failure = failure,
        Batches = batches,
        EventsPerBatch = events,
        Events = stream.EventCount,
        Commands = stream.Commands.Count,
        Seconds = seconds,
        EventsPerSecond = stream.EventCount / seconds,
        SyncSeconds = syncSeconds,
        SyncEventsPerSecond = stream.EventCount / syncSeconds,
        StartupSeconds = first > 0 ? Stopwatch.GetElapsedTime(launched, first).TotalSeconds : double.NaN,
        Answered = latencies.Length,
        Missing = stream.Commands.Count - latencies.Length,
        Wrong = recorder.Wrong,
        Duplicates = recorder.Duplicates,
        Retransmissions = recorder.Retransmissions,
        P50Ms = Percentile(latencies, 50),
        P99Ms = Percentile(latencies, 99),
        MaxMs = latencies.Length > 0 ? latencies[^1] : double.NaN,
        IdleRssMiB = idleRss,
        InLongPollWhenIdle = inLongPoll,
        PeakRssMiB = peakRss,
        CpuSeconds = (cpuAtEnd - cpuAtStart).TotalSeconds,
        Slowest = recorder.Slowest(12),
        Problems = [.. recorder.Problems],
        Unrecognized = [.. server.Unrecognized.Order()],
    };

    Console.WriteLine(result.Summary());
    if (options.Get("out", null) is { } file)
        await File.WriteAllTextAsync(file, JsonSerializer.Serialize(result, RunResult.Json));
    return failure is null && result.Missing == 0 && result.Wrong == 0 ? 0 : 1;
}

static async Task<string?> WaitAsync(Task done, BotProcess bot, Recorder recorder, TimeSpan stall)
{
    while (!done.IsCompleted)
    {
        await Task.WhenAny(done, Task.Delay(200));
        if (done.IsCompleted)
            break;
        if (bot.HasExited)
            return $"the bot exited with {bot.ExitCode}";
        if (Stopwatch.GetElapsedTime(recorder.LastActivity) > stall)
            return $"no progress for {stall.TotalSeconds:F0} s ({recorder.Answered} commands answered)";
    }
    return null;
}

static double Percentile(double[] sorted, int p) =>
    sorted.Length == 0 ? double.NaN : sorted[Math.Max(0, (int)Math.Ceiling(p / 100.0 * sorted.Length) - 1)]; // nearest rank

// How busy the CPUs were over the last second (all of them, any process), from /proc/stat.
static async Task<double> BusyPercentAsync()
{
    static (long Busy, long Total) Sample()
    {
        var cpu = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries)[1..].Select(v => long.Parse(v, CultureInfo.InvariantCulture)).ToArray();
        var total = cpu.Take(8).Sum(); // user nice system idle iowait irq softirq steal
        return (total - cpu[3] - cpu[4], total);
    }
    var before = Sample();
    await Task.Delay(1000);
    var after = Sample();
    return after.Total == before.Total ? 0 : 100.0 * (after.Busy - before.Busy) / (after.Total - before.Total);
}

static double ReadLoad() => double.Parse(File.ReadAllText("/proc/loadavg").Split(' ')[0], CultureInfo.InvariantCulture);

static string Machine()
{
    var model = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown CPU";
    return $"{model}, {Environment.ProcessorCount} cores, {Environment.OSVersion.VersionString}";
}

static int Table(string[] args)
{
    var options = Options.Parse(args);
    var baseline = options.Get("baseline", "matrix-bot-sdk")!;
    var files = options.Positional;
    if (files.Count == 0)
        return Usage();
    var results = files.Select(f => JsonSerializer.Deserialize<RunResult>(File.ReadAllText(f), RunResult.Json)!).ToList();
    Console.WriteLine(Report.Table(results, baseline));
    return 0;
}
