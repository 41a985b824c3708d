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
    IOwnerAlerts alerts,
    TimeProvider time,
    ILogger<PaymentListener> logger) : BackgroundService
{
    /// <summary>An outage longer than this is told to the owners and operators (once; and once when it is over).</summary>
    public static readonly TimeSpan AlertAfter = TimeSpan.FromMinutes(5);

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
                {
                    LogRecovered(backend.Name, time.GetUtcNow() - started);
                    await database.WriteAsync(tx => alerts.ClearAsync(tx, null, AlertKind.Payments, time.GetUtcNow()), stoppingToken);
                }
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
                else if (time.GetUtcNow() - outageStarted.Value > AlertAfter)
                    await RaiseOutageAsync(outageStarted.Value, stoppingToken);
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

    /// <summary>Best effort: the database may be what is failing, and the outage is in the log either way.</summary>
    private async Task RaiseOutageAsync(DateTimeOffset since, CancellationToken stoppingToken)
    {
        try
        {
            await database.WriteAsync(tx => alerts.RaiseAsync(tx, null, AlertKind.Payments,
                $"the payment node ({backend.Name}) has not answered since {Quantities.FormatTime(since)}, so I cannot make invoices or see payments. Paid invoices are not lost: I look them all up when it is back.",
                time.GetUtcNow()), stoppingToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogAlertFailed(e);
        }
    }

    [LoggerMessage(LogLevel.Warning, "Could not record the payment outage alert")]
    private partial void LogAlertFailed(Exception exception);

    [LoggerMessage(LogLevel.Information, "Listening for {Backend} settlements from {Cursor}")]
    private partial void LogListening(string backend, string cursor);

    [LoggerMessage(LogLevel.Warning, "Lost the {Backend} settlement feed ({Reason}); reconnecting with backoff, and every pending order will be looked up")]
    private partial void LogOutage(Exception exception, string backend, string reason);

    [LoggerMessage(LogLevel.Error, "{Backend} refused us ({Reason}); retrying with backoff until the configuration is fixed")]
    private partial void LogRefused(Exception exception, string backend, string reason);

    [LoggerMessage(LogLevel.Information, "The {Backend} settlement feed is back after {Duration}; pending orders reconciled")]
    private partial void LogRecovered(string backend, TimeSpan duration);
}

/// <summary>
/// Looks up pending orders with the backend: at every (re)connect all of them, on a timer the overdue ones. And, for a
/// backend that may report a payment after the invoice expired without a reliable feed for it
/// (<see cref="IPaymentBackend.LateSettlementWindow"/>: BTCPay), the orders already given up as expired, again and
/// again with back-off (a minute after expiry, then 2, 4, 8 … minutes apart, at most an hour) until the window
/// closes; a payment found so is applied like any other, and the member told it came late.
/// </summary>
public sealed partial class Reconciler(
    IPaymentBackend backend,
    Settlements settlements,
    Database database,
    OrderStore orders,
    TimeProvider time,
    ILogger<Reconciler> logger)
{
    private const int LateBatch = 100;

    /// <summary>The gap after the first late look-up; it doubles after each one, up to <see cref="LateLookupCeiling"/>.</summary>
    public static readonly TimeSpan LateLookupStep = TimeSpan.FromMinutes(1);

    public static readonly TimeSpan LateLookupCeiling = TimeSpan.FromHours(1);

    /// <summary>How long after the <paramref name="lookups"/>-th late look-up (1-based) the next one is due.</summary>
    public static TimeSpan LateLookupDelay(long lookups) =>
        TimeSpan.FromTicks((long)Math.Min(LateLookupCeiling.Ticks, LateLookupStep.Ticks * Math.Pow(2, Math.Clamp(lookups, 1, 30))));

    /// <summary>
    /// Looks up pending orders, then the expired orders whose late look-up is due; returns how many changed.
    /// Transient backend failures propagate to the caller's retry.
    /// </summary>
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
        return changed + await LookUpLateAsync(cancellationToken);
    }

    private async Task<int> LookUpLateAsync(CancellationToken cancellationToken)
    {
        if (backend.LateSettlementWindow is not { } window)
            return 0;
        var now = time.GetUtcNow();
        var due = await database.ReadAsync(tx => orders.LateLookupsDueAsync(tx, backend.Name, now, window, LateBatch), cancellationToken);
        var changed = 0;
        foreach (var (order, lookups) in due)
        {
            var update = await backend.LookupInvoiceAsync(order.Reference, cancellationToken);
            var outcome = await settlements.ApplyAsync(backend.Name, update with { Cursor = null }, cancellationToken);
            if (outcome == SettlementOutcome.Applied)
            {
                changed++;
                LogReconciled(order.Id, outcome);
                continue;
            }
            var next = time.GetUtcNow() + LateLookupDelay(lookups + 1);
            await database.WriteAsync(tx => orders.LateLookupDoneAsync(tx, order.Id, next), cancellationToken);
        }
        return changed;
    }

    [LoggerMessage(LogLevel.Information, "Reconciled order {OrderId}: {Outcome}")]
    private partial void LogReconciled(string orderId, SettlementOutcome outcome);
}
