using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Doorman.Storage;

/// <summary>"database" for <c>/healthz</c>: the SQLite file answers a query within 5 s.</summary>
public sealed class DatabaseHealthCheck(Database database) : IHealthCheck
{
    public const string Name = "database";

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(5));
            return await database.ReadAsync(tx => tx.ExecuteScalarAsync<long>("SELECT 1"), timeout.Token) == 1
                ? HealthCheckResult.Healthy("ok")
                : HealthCheckResult.Unhealthy("not answering");
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return HealthCheckResult.Unhealthy("not answering", e);
        }
    }
}
