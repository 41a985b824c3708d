using Doorman.Access;

namespace Doorman.Outbox;

/// <summary>
/// The shape of both outbox workers: look for due work, start it, then wait until the work's signal is set (new work
/// committed), work in flight finishes, or the poll interval passes — so a missed signal only delays work, never
/// loses it. When the queue itself cannot be read (the database is away), log once, back off, and log once more on
/// recovery. Work still in flight when the host stops is awaited, so nothing runs unobserved.
/// </summary>
public abstract partial class OutboxWorker(Signal signal, TimeProvider time, ILogger logger) : BackgroundService
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan QueueRetry = TimeSpan.FromSeconds(5);

    protected TimeProvider Time { get; } = time;

    /// <summary>The queue's name in log lines: "message", "membership".</summary>
    protected abstract string QueueName { get; }

    /// <summary>
    /// Takes due work and starts or does it. Returns true when more may be due at once (look again without waiting).
    /// Work started but not finished is reported by <see cref="InFlight"/>.
    /// </summary>
    protected abstract Task<bool> RunDueAsync(CancellationToken stoppingToken);

    /// <summary>Work started and not finished yet: the worker wakes when any of it ends.</summary>
    protected virtual IReadOnlyCollection<Task> InFlight => [];

    /// <summary>How long a failed item waits before its next attempt: 1 s doubling to 5 min.</summary>
    public static TimeSpan RetryDelay(long attempts) => TimeSpan.FromSeconds(Math.Min(300, Math.Pow(2, Math.Min(attempts, 10))));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        Task<bool>? woken = null;
        var failing = false;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var more = await RunDueAsync(stoppingToken);
                if (failing)
                    LogRecovered(QueueName);
                failing = false;
                if (more)
                    continue;
                woken ??= signal.WaitAsync(PollInterval, stoppingToken);
                await Task.WhenAny([woken, .. InFlight]);
                if (woken.IsCompleted)
                    woken = null;
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                if (!failing)
                    LogQueueFailed(e, QueueName);
                failing = true;
                woken = null;
                try
                {
                    await Task.Delay(QueueRetry, Time, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }
        await Task.WhenAll(InFlight).ContinueWith(_ => { }, TaskScheduler.Default);
    }

    [LoggerMessage(LogLevel.Error, "The {Queue} queue cannot be read; retrying")]
    private partial void LogQueueFailed(Exception exception, string queue);

    [LoggerMessage(LogLevel.Information, "The {Queue} queue is readable again")]
    private partial void LogRecovered(string queue);
}

/// <summary>
/// An <see cref="OutboxWorker"/> that works on several keys at once (rooms, DM peers), one item per key at a time, so
/// a key whose item is slow or failing holds up only its own later items.
/// </summary>
public abstract class PerKeyWorker<T>(Signal signal, TimeProvider time, ILogger logger) : OutboxWorker(signal, time, logger)
{
    private const int MaxConcurrentKeys = 8;

    private readonly Dictionary<string, Task> _inFlight = new(StringComparer.Ordinal);

    protected override IReadOnlyCollection<Task> InFlight => _inFlight.Values;

    /// <summary>Due items, at most one per key (the store keeps each key's items in order).</summary>
    protected abstract Task<IReadOnlyList<T>> DueAsync(int limit, CancellationToken stoppingToken);

    protected abstract string KeyOf(T item);

    /// <summary>Carries the item out and records the outcome; never throws for the item's own failure.</summary>
    protected abstract Task RunAsync(T item, CancellationToken cancellationToken);

    protected sealed override async Task<bool> RunDueAsync(CancellationToken stoppingToken)
    {
        foreach (var key in _inFlight.Where(p => p.Value.IsCompleted).Select(p => p.Key).ToList())
            _inFlight.Remove(key);
        if (_inFlight.Count >= MaxConcurrentKeys)
            return false;
        foreach (var item in (await DueAsync(50, stoppingToken)).Where(i => !_inFlight.ContainsKey(KeyOf(i))).Take(MaxConcurrentKeys - _inFlight.Count))
            _inFlight[KeyOf(item)] = RunAsync(item, stoppingToken);
        return false;
    }
}
