using Doorman.Homeserver;
using Doorman.Payments;
using Doorman.Storage;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Doorman.Hosting;

/// <summary>
/// <c>GET /healthz</c>: 200 when the sync loop is syncing and the database answers, 503 otherwise, with a
/// small JSON body saying which part is unwell. Each part registers its own check (Storage/DatabaseHealthCheck.cs,
/// Homeserver/SyncHealthCheck.cs, Payments/PaymentsHealthCheck.cs, Outbox/OutboxHealthCheck.cs); any unhealthy check
/// makes the answer 503. The payment feed and the outbox report at worst degraded, so they do not fail it: the bot
/// still serves members (and finds late payments) while the node is briefly away.
/// <para>
/// A standby (Hosting/Leadership.cs) runs no sync loop and no payment feed: it answers 200 with status "standby" while
/// its database answers, so an orchestrator keeps it, and <c>role</c> says which instance is the active one.
/// </para>
/// </summary>
public sealed class Health(HealthCheckService checks, IInstanceRole instance)
{
    public async Task<IResult> CheckAsync(CancellationToken cancellationToken)
    {
        var role = instance.Role;
        var standby = role is InstanceRole.Standby;
        var report = await checks.CheckHealthAsync(
            standby ? (registration => registration.Name == DatabaseHealthCheck.Name) : null, cancellationToken);
        var healthy = role is not InstanceRole.Lost && report.Entries.Values.All(e => e.Status != HealthStatus.Unhealthy);
        var body = new HealthReport(
            !healthy ? "unhealthy" : standby ? "standby" : "healthy",
            Describe(report, DatabaseHealthCheck.Name),
            standby ? "standby" : Describe(report, SyncHealthCheck.Name),
            standby ? "standby" : Describe(report, PaymentsHealthCheck.Name),
            role.ToString().ToLowerInvariant());
        return Results.Json(body, HealthJsonContext.Default.HealthReport, statusCode: healthy ? 200 : 503);
    }

    private static string Describe(Microsoft.Extensions.Diagnostics.HealthChecks.HealthReport report, string name) =>
        report.Entries.TryGetValue(name, out var entry) ? entry.Description ?? entry.Status.ToString().ToLowerInvariant() : "not checked";
}

/// <param name="Role">single (SQLite), active or standby (PostgreSQL, docs/operators.md), lost (an active instance stopping).</param>
public sealed record HealthReport(string Status, string Database, string Sync, string Payments, string Role);

[System.Text.Json.Serialization.JsonSourceGenerationOptions(PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.CamelCase)]
[System.Text.Json.Serialization.JsonSerializable(typeof(HealthReport))]
internal sealed partial class HealthJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
