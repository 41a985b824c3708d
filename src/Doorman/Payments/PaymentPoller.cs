using Doorman.Access;

namespace Doorman.Payments;

/// <summary>
/// For a backend whose feed may stay silent (BTCPay without inbound webhooks: <c>Payments:BtcPay:PollInterval</c>),
/// looks up every pending order at that interval. Does nothing when the backend sets no interval.
/// </summary>
public sealed partial class PaymentPoller(IPaymentBackend backend, Reconciler reconciler, TimeProvider time, ILogger<PaymentPoller> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (backend.PollInterval is not { } interval)
            return;
        LogPolling(backend.Name, interval);
        var failing = false;
        using var timer = new PeriodicTimer(interval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await reconciler.ReconcileAsync(onlyOverdue: false, stoppingToken);
                    if (failing)
                        LogRecovered(backend.Name);
                    failing = false;
                }
                catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
                {
                    if (!failing)
                        LogFailed(e, backend.Name, e.Message);
                    failing = true;
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(LogLevel.Information, "Polling {Backend} for pending orders every {Interval}")]
    private partial void LogPolling(string backend, TimeSpan interval);

    [LoggerMessage(LogLevel.Warning, "Polling {Backend} failed ({Reason}); trying again each interval")]
    private partial void LogFailed(Exception exception, string backend, string reason);

    [LoggerMessage(LogLevel.Information, "Polling {Backend} works again")]
    private partial void LogRecovered(string backend);
}
