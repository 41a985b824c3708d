using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Doorman.Payments;

/// <summary>
/// "payments" for <c>/healthz</c>: the settlement feed is open and caught up. At worst degraded, never unhealthy: the
/// bot still serves members (and finds late payments) while the node is briefly away.
/// </summary>
public sealed class PaymentsHealthCheck(PaymentListener listener) : IHealthCheck
{
    public const string Name = "payments";

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(listener.IsConnected ? HealthCheckResult.Healthy("ok") : HealthCheckResult.Degraded("disconnected"));
}
