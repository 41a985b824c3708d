using System.Globalization;
using Doorman.Matrix.Sync;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Doorman.Homeserver;

/// <summary>"sync" for <c>/healthz</c>: the sync loop succeeded recently and is not failing now.</summary>
public sealed class SyncHealthCheck(SyncLoop sync, TimeProvider time) : IHealthCheck
{
    public const string Name = "sync";

    /// <summary>A sync answers within its 30 s long-poll; three times that without success is unhealthy.</summary>
    public static readonly TimeSpan StaleAfter = TimeSpan.FromSeconds(90);

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var lastSync = sync.LastSuccess;
        var result = lastSync is { } at && time.GetUtcNow() - at < StaleAfter && !sync.IsFailing ? HealthCheckResult.Healthy("ok")
            : lastSync is null ? HealthCheckResult.Unhealthy("not synced yet")
            : HealthCheckResult.Unhealthy("failing since " + lastSync.Value.ToString("O", CultureInfo.InvariantCulture));
        return Task.FromResult(result);
    }
}
