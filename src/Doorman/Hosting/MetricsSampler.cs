using Doorman.Access;
using Doorman.Matrix.Sync;
using Doorman.Metrics;
using Doorman.Payments;
using Doorman.Storage;
using Prometheus;

namespace Doorman.Hosting;

/// <summary>
/// The gauges of <c>/metrics</c> that are states, not events: read at each scrape from the database and the running
/// parts, never kept up to date by hand. A scrape while the database does not answer fails, rather than report zeros.
/// </summary>
public sealed class MetricsSampler
{
    private static readonly string[] Sources = ["paid", "grant", "trial"];
    private static readonly string[] ByQueue = ["queue"];
    private static readonly string[] BySource = ["source"];
    private static readonly string[] ByBackend = ["backend"];

    private readonly Database _database;
    private readonly SyncLoop _sync;
    private readonly PaymentListener _payments;
    private readonly IPaymentBackend _backend;
    private readonly TimeProvider _time;
    private readonly DateTimeOffset _started;
    private readonly Gauge _outboxDepth;
    private readonly Gauge _outboxOldestAge;
    private readonly Gauge _activeSubscriptions;
    private readonly Gauge _syncLag;
    private readonly Gauge _backendUp;
    private readonly Gauge _active;
    private readonly IInstanceRole _role;

    public MetricsSampler(DoormanMetrics metrics, Database database, SyncLoop sync, PaymentListener payments, IPaymentBackend backend, IInstanceRole role,
        TimeProvider time)
    {
        (_database, _sync, _payments, _backend, _role, _time) = (database, sync, payments, backend, role, time);
        _started = time.GetUtcNow();
        var factory = metrics.Factory;
        _outboxDepth = factory.CreateGauge("doorman_outbox_depth", "Pending items by queue: messages, membership (invites and kicks), inbox.", ByQueue);
        _outboxOldestAge = factory.CreateGauge("doorman_outbox_oldest_age_seconds", "Age of the oldest pending item by queue; 0 when empty.", ByQueue);
        _activeSubscriptions = factory.CreateGauge("doorman_active_subscriptions", "Subscriptions running or in their grace, by source: paid, grant, trial.", BySource);
        _syncLag = factory.CreateGauge("doorman_sync_lag_seconds", "Time since the last successful /sync (since start, before the first).");
        _backendUp = factory.CreateGauge("doorman_payment_backend_up", "1 while the payment backend's settlement feed is open and caught up, else 0.", ByBackend);
        _active = factory.CreateGauge("doorman_instance_active", "1 on the instance that runs the sync loop, payments and outbox (the only one on SQLite), 0 on a standby.");
        metrics.Registry.AddBeforeCollectCallback(SampleAsync);
    }

    private async Task SampleAsync(CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var (queues, active) = await _database.ReadAsync(async tx => (await Gauges.QueuesAsync(tx), await Gauges.ActiveSubscriptionsAsync(tx)), cancellationToken);
        foreach (var queue in queues)
        {
            _outboxDepth.WithLabels(queue.Queue).Set(queue.Depth);
            _outboxOldestAge.WithLabels(queue.Queue).Set(queue.OldestCreatedAt is { } at ? Math.Max(0, (now - UnixMs.To(at)).TotalSeconds) : 0);
        }
        foreach (var source in Sources)
            _activeSubscriptions.WithLabels(source).Set(active.GetValueOrDefault(source));
        // Read after the database's answer: a sync may have succeeded meanwhile, after `now` above.
        _syncLag.Set(Math.Max(0, (_time.GetUtcNow() - (_sync.LastSuccess ?? _started)).TotalSeconds));
        _backendUp.WithLabels(_backend.Name).Set(_payments.IsConnected ? 1 : 0);
        _active.Set(_role.Role is InstanceRole.Single or InstanceRole.Active ? 1 : 0);
    }
}
