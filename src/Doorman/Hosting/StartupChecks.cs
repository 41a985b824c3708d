using Doorman.Matrix;
using Doorman.Matrix.Rooms;
using Doorman.Payments;
using Doorman.Storage;
using Microsoft.Extensions.Options;

namespace Doorman.Hosting;

/// <summary>
/// Runs before anything else starts (registered first): migrates the database, checks the access token with
/// <c>whoami</c> (CS API §"GET /account/whoami") and asks the payment backend whether it can serve us. A wrong
/// token or account stops the bot with a clear message; a payment node that is merely down is only a warning,
/// because the listener reconnects once it is back.
/// </summary>
public sealed partial class StartupChecks(
    Migrator migrator,
    MatrixClient matrix,
    IPaymentBackend payments,
    IOptions<MatrixOptions> options,
    ILogger<StartupChecks> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await migrator.MigrateAsync(cancellationToken);

        WhoAmI me;
        try
        {
            me = await matrix.WhoAmIAsync(cancellationToken);
        }
        catch (MatrixException e) when (e.IsUnknownToken || e.ErrorCode == ErrorCodes.MissingToken)
        {
            throw new StartupException($"the homeserver at {options.Value.HomeserverUrl} does not accept Matrix:AccessToken ({e.ErrorCode}). "
                + "Log the bot account in and configure its access token.");
        }
        catch (Exception e) when (e is HttpRequestException or MatrixException or TimeoutException or Polly.Timeout.TimeoutRejectedException)
        {
            throw new StartupException($"cannot reach the homeserver at {options.Value.HomeserverUrl}: {e.Message}", e);
        }
        if (me.UserId != options.Value.UserId)
            throw new StartupException($"Matrix:AccessToken belongs to {me.UserId}, not to Matrix:UserId {options.Value.UserId}.");
        LogMatrixReady(me.UserId, options.Value.HomeserverUrl);

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

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(LogLevel.Information, "Signed in as {UserId} on {HomeserverUrl}")]
    private partial void LogMatrixReady(string userId, string homeserverUrl);

    [LoggerMessage(LogLevel.Information, "Payment backend {Backend} is ready")]
    private partial void LogPaymentsReady(string backend);

    [LoggerMessage(LogLevel.Warning, "Payment backend {Backend} is not reachable yet ({Reason}); invoices fail until it is")]
    private partial void LogPaymentsDown(string backend, string reason);
}
