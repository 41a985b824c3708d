using Doorman.Access;
using Doorman.Storage;

namespace Doorman.Payments;

/// <summary>
/// Watches the payment backend so no settlement is lost (DESIGN rule 2). Listen, then catch up (STYLE §7): open
/// the settlement feed from the stored cursor, then look up every pending order — a payment made while the
/// bot was down, or in the moment before the feed opened, is found either way; duplicates are harmless because
/// applying is idempotent. When the feed drops, the loop backs off (full jitter, 1 s to 5 min), logs once per
/// outage, and starts over.
/// </summary>
public sealed partial class PaymentListener(
    IPaymentBackend backend,
    Reconciler reconciler,
    Settlements settlements,
    Database database,
    Cursors cursors,
    TimeProvider time,
    ILogger<PaymentListener> logger) : BackgroundService
{
    private volatile bool _connected;

    /// <summary>True while the feed is open and caught up.</summary>
    public bool IsConnected => _connected;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var failures = 0;
        DateTimeOffset? outageStarted = null;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var cursor = await database.ReadAsync(tx => cursors.GetAsync(tx, CursorNames.PaymentFeed(backend.Name)), stoppingToken);
                await using var feed = await backend.OpenSettlementFeedAsync(cursor, stoppingToken);
                await reconciler.ReconcileAsync(onlyOverdue: false, stoppingToken);
                _connected = true;
                if (outageStarted is { } started)
                    LogRecovered(backend.Name, time.GetUtcNow() - started);
                else
                    LogListening(backend.Name, cursor ?? "the start");
                failures = 0;
                outageStarted = null;

                await foreach (var update in feed.ReadAllAsync(stoppingToken))
                    await settlements.ApplyAsync(backend.Name, update, stoppingToken);

                throw new PaymentBackendException($"the {backend.Name} settlement feed ended", isTransient: true);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                _connected = false;
                failures++;
                if (outageStarted is null)
                {
                    outageStarted = time.GetUtcNow();
                    if (e is PaymentBackendException { IsTransient: false })
                        LogRefused(e, backend.Name, e.Message);
                    else
                        LogOutage(e, backend.Name, e.Message);
                }
                var ceiling = Math.Min(300_000, 1000 * Math.Pow(2, Math.Min(failures - 1, 20)));
                try
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(Math.Max(500, Random.Shared.NextDouble() * ceiling)), time, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }
        _connected = false;
    }

    [LoggerMessage(LogLevel.Information, "Listening for {Backend} settlements from {Cursor}")]
    private partial void LogListening(string backend, string cursor);

    [LoggerMessage(LogLevel.Warning, "Lost the {Backend} settlement feed ({Reason}); reconnecting with backoff, and every pending order will be looked up")]
    private partial void LogOutage(Exception exception, string backend, string reason);

    [LoggerMessage(LogLevel.Error, "{Backend} refused us ({Reason}); retrying with backoff until the configuration is fixed")]
    private partial void LogRefused(Exception exception, string backend, string reason);

    [LoggerMessage(LogLevel.Information, "The {Backend} settlement feed is back after {Duration}; pending orders reconciled")]
    private partial void LogRecovered(string backend, TimeSpan duration);
}

/// <summary>Looks up pending orders with the backend: at every (re)connect all of them, on a timer the overdue ones.</summary>
public sealed partial class Reconciler(
    IPaymentBackend backend,
    Settlements settlements,
    Database database,
    OrderStore orders,
    TimeProvider time,
    ILogger<Reconciler> logger)
{
    /// <summary>Looks up pending orders; returns how many changed. Transient backend failures propagate to the caller's retry.</summary>
    public async Task<int> ReconcileAsync(bool onlyOverdue, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var pending = await database.ReadAsync(tx => orders.PendingAsync(tx, backend.Name), cancellationToken);
        var changed = 0;
        foreach (var order in pending.Where(o => !onlyOverdue || o.ExpiresAt <= now))
        {
            var update = await backend.LookupInvoiceAsync(order.Reference, cancellationToken);
            var outcome = await settlements.ApplyAsync(backend.Name, update with { Cursor = null }, cancellationToken);
            if (outcome is not (SettlementOutcome.Ignored or SettlementOutcome.AlreadyDone))
            {
                changed++;
                LogReconciled(order.Id, outcome);
            }
        }
        return changed;
    }

    [LoggerMessage(LogLevel.Information, "Reconciled order {OrderId}: {Outcome}")]
    private partial void LogReconciled(string orderId, SettlementOutcome outcome);
}
