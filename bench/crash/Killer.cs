using System.Diagnostics;

namespace Doorman.Crash;

/// <summary>One SIGKILL: when (seconds since the killing began), which instance, and whether it was serving at that moment.</summary>
/// <param name="Instance">The instance killed (1, or 1 and 2 with two instances).</param>
/// <param name="PendingWork">Messages, invites and inbox items the bot reported pending just before (null: it did not answer).</param>
internal sealed record Kill(int Number, int Instance, double AtSeconds, bool WasServing, bool DuringStartUp, double? PendingWork);

/// <summary>
/// A gap in service: from the kill of a serving bot (or the first poll that found none serving) to the first 200 on
/// <c>/healthz</c> of an instance that is not a standby (its own successor, or with two instances the standby taking over).
/// </summary>
internal sealed record Outage(double DownAtSeconds, double UpAtSeconds, int Kills)
{
    public double Seconds => UpAtSeconds - DownAtSeconds;
}

/// <summary>
/// Kills the bot at random moments (a seeded RNG) and starts it again at once, while a watcher polls <c>/healthz</c>
/// every 50 ms to time each gap in service. Most kills fall a random while after the bot is serving again
/// (<c>--min-up</c>…<c>--max-up</c>); a share of them (<c>--startup-kills</c>) fall at a random moment of its
/// start-up, serving or not, so start-up itself (migrations, key files, catching up) is crashed too.
/// <para>
/// With two instances (PostgreSQL, docs/operators.md "Two instances") the one killed is always the active one, or the
/// one taking over: the one that serves, else the one not restarted last (the other is a standby, or starting). The
/// killed one is restarted at once and comes back as the standby; a gap lasts until the other has taken over.
/// </para>
/// </summary>
internal sealed class Killer(IReadOnlyList<BotProcess> bots, Random random, TimeSpan minUp, TimeSpan maxUp, double startUpShare)
{
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(50);
    private readonly Lock _lock = new();
    private readonly List<Kill> _kills = [];
    private readonly List<Outage> _outages = [];
    private readonly List<double> _startToServing = [];
    private long _origin = Stopwatch.GetTimestamp();
    private bool _serving;
    private double? _downAt;
    private int _killsInOutage;
    private long _startedAt = Stopwatch.GetTimestamp();
    private int _generation;
    private int? _servingInstance;
    private int _lastStarted = bots.Count - 1;
    private int _exits;
    private bool _restarted = true;

    public IReadOnlyList<Kill> Kills
    {
        get
        {
            lock (_lock)
                return [.. _kills];
        }
    }

    public IReadOnlyList<Outage> Outages
    {
        get
        {
            lock (_lock)
                return [.. _outages];
        }
    }

    /// <summary>How many times an instance ended by itself and was restarted (not counting the kills).</summary>
    public int Exits
    {
        get
        {
            lock (_lock)
                return _exits;
        }
    }

    /// <summary>Seconds from a (re)start to the first 200, for the starts that reached it.</summary>
    public IReadOnlyList<double> StartToServing
    {
        get
        {
            lock (_lock)
                return [.. _startToServing];
        }
    }

    public bool Serving
    {
        get
        {
            lock (_lock)
                return _serving;
        }
    }

    /// <summary>Starts the clock (after setup); kills are timed from here.</summary>
    public void Begin()
    {
        lock (_lock)
            _origin = Stopwatch.GetTimestamp();
    }

    /// <summary>Polls every instance's <c>/healthz</c> until cancelled, marking each return to service.</summary>
    public async Task WatchAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            int generation;
            lock (_lock)
                generation = _generation;
            var up = await Task.WhenAll(bots.Select(b => b.IsServingAsync(cancellationToken)));
            lock (_lock)
            {
                // A supervisor's part: a bot that ended by itself is started again, as a restart policy would.
                foreach (var exited in bots.Where(b => b.HasExited))
                {
                    exited.Restart();
                    _exits++;
                    _generation++;
                    _restarted = true;
                    _startedAt = Stopwatch.GetTimestamp();
                }
                // An answer from a bot killed (or restarted) while the probe was out does not count.
                if (generation == _generation)
                    Observe(up.Any(u => u) ? Array.IndexOf(up, true) : null);
            }
            try
            {
                await Task.Delay(Poll, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>One poll's finding: which instance serves, if any. Called under the lock.</summary>
    private void Observe(int? serving)
    {
        if (serving is null && _serving)
        {
            // Not serving without a kill: a fault of the servers around it (--chaos), or it exited by itself.
            _serving = false;
            _servingInstance = null;
            _downAt = Now();
        }
        else if (serving is not null && !_serving)
        {
            _serving = true;
            _servingInstance = serving;
            if (_restarted)
                _startToServing.Add(Stopwatch.GetElapsedTime(_startedAt).TotalSeconds);
            _restarted = false;
            if (_downAt is { } down)
                _outages.Add(new Outage(down, Now(), _killsInOutage));
            _downAt = null;
            _killsInOutage = 0;
        }
    }

    /// <summary>Kills and restarts the bot <paramref name="count"/> times; returns when the last successor is started.</summary>
    public async Task RunAsync(int count, CancellationToken cancellationToken)
    {
        for (var i = 1; i <= count; i++)
        {
            var duringStartUp = random.NextDouble() < startUpShare;
            if (duringStartUp)
            {
                // A random moment of the first 1.5 s after the start, whatever the bot is doing then.
                var since = Stopwatch.GetElapsedTime(StartedAt());
                var at = TimeSpan.FromSeconds(random.NextDouble() * 1.5);
                if (at > since)
                    await Task.Delay(at - since, cancellationToken);
            }
            else
            {
                while (!Serving)
                    await Task.Delay(Poll, cancellationToken);
                await Task.Delay(minUp + (maxUp - minUp) * random.NextDouble(), cancellationToken);
            }
            var pending = await PendingWorkAsync(cancellationToken);
            lock (_lock)
            {
                // The one serving, else (none serves yet) the one that will: not the one restarted last.
                var target = _serving && _servingInstance is { } serving ? serving : (_lastStarted + 1) % bots.Count;
                _kills.Add(new Kill(i, target + 1, Now(), _serving, duringStartUp, pending));
                if (_serving)
                    _downAt = Now();
                _serving = false;
                _servingInstance = null;
                _killsInOutage++;
                _generation++;
                bots[target].Kill();
                bots[target].Start();
                _lastStarted = target;
                _restarted = true;
                _startedAt = Stopwatch.GetTimestamp();
            }
        }
    }

    /// <summary>Waits until the bot is serving (after the last restart).</summary>
    public async Task WaitServingAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (!Serving)
        {
            if (Stopwatch.GetTimestamp() > deadline)
                throw new TimeoutException($"the bot did not serve /healthz within {timeout}");
            await Task.Delay(Poll, cancellationToken);
        }
    }

    /// <summary>Messages, invites and inbox items pending, as the first instance that answers reports them (all read one database).</summary>
    public async Task<double?> PendingWorkAsync(CancellationToken cancellationToken)
    {
        foreach (var bot in bots)
        {
            if (await bot.OutboxDepthAsync(cancellationToken) is { } depth)
                return depth;
        }
        return null;
    }

    private long StartedAt()
    {
        lock (_lock)
            return _startedAt;
    }

    private double Now() => Stopwatch.GetElapsedTime(_origin).TotalSeconds;
}
