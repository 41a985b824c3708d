using Doorman.Payments;
using Doorman.Storage;

namespace Doorman.Hosting;

/// <summary>
/// Runs before anything else starts (<see cref="DoormanApp.StartAsync"/>, before the host): migrates the database, establishes the Matrix session
/// (<see cref="MatrixSession"/>) and asks the payment backend whether it can serve us. A wrong token or account
/// stops the bot with a clear message; a payment node that is merely down is only a warning, because the
/// listener reconnects once it is back.
/// </summary>
public sealed partial class StartupChecks(
    Migrator migrator,
    MatrixSession session,
    IPaymentBackend payments,
    ILogger<StartupChecks> logger)
{
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        await migrator.MigrateAsync(cancellationToken);

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

    [LoggerMessage(LogLevel.Information, "Payment backend {Backend} is ready")]
    private partial void LogPaymentsReady(string backend);

    [LoggerMessage(LogLevel.Warning, "Payment backend {Backend} is not reachable yet ({Reason}); invoices fail until it is")]
    private partial void LogPaymentsDown(string backend, string reason);
}
