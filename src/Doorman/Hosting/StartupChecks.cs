using Doorman.Access;
using Doorman.Homeserver;
using Doorman.Storage;

namespace Doorman.Hosting;

/// <summary>
/// Runs before anything else starts (<see cref="DoormanApp.StartAsync"/>, before the host): migrates the database, establishes the Matrix session
/// (<see cref="MatrixSession"/>) and asks the payment backend whether it can serve us. A wrong token or account
/// stops the bot with a clear message; a payment node that is merely down is only a warning, because the
/// listener reconnects once it is back. Orders still pending with another backend than the configured one are named:
/// nothing can check them now.
/// </summary>
public sealed partial class StartupChecks(
    Migrator migrator,
    Database database,
    OrderStore orders,
    MatrixSession session,
    IPaymentBackend payments,
    ILogger<StartupChecks> logger)
{
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        await migrator.MigrateAsync(cancellationToken);

        // Orders are looked up only with the backend that issued them (Reconciler): after a switch of
        // Payments:Backend, a payment to an old invoice would go unseen. Say so, and what to do.
        foreach (var other in await database.ReadAsync(tx => orders.PendingWithOtherBackendsAsync(tx, payments.Name), cancellationToken))
            LogPendingElsewhere(other.Count, other.Backend, other.LatestExpiry, payments.Name);

        await session.EstablishAsync(cancellationToken);

        try
        {
            await payments.CheckHealthAsync(cancellationToken);
            LogPaymentsReady(payments.Name);
        }
        catch (PaymentBackendException e) when (e.IsTransient)
        {
            LogPaymentsDown(payments.Name, e.Message);
        }
        catch (PaymentBackendException e)
        {
            throw new StartupException($"the {payments.Name} payment backend refused us: {e.Message}", e);
        }
    }

    [LoggerMessage(LogLevel.Warning, "{Count} order(s) made with the {Other} backend are still pending (their invoices expire by {LatestExpiry:u}); "
        + "with Payments:Backend = {Backend} nothing checks them, so a payment to one of them goes unseen. Run once with Payments:Backend = {Other} "
        + "until they are paid or expired")]
    private partial void LogPendingElsewhere(long count, string other, DateTimeOffset latestExpiry, string backend);

    [LoggerMessage(LogLevel.Information, "Payment backend {Backend} is ready")]
    private partial void LogPaymentsReady(string backend);

    [LoggerMessage(LogLevel.Warning, "Payment backend {Backend} is not reachable yet ({Reason}); invoices fail until it is")]
    private partial void LogPaymentsDown(string backend, string reason);
}
