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
/// </summary>
public sealed class Health(HealthCheckService checks)
{
    public async Task<IResult> CheckAsync(CancellationToken cancellationToken)
    {
        var report = await checks.CheckHealthAsync(cancellationToken);
        var healthy = report.Entries.Values.All(e => e.Status != HealthStatus.Unhealthy);
        var body = new HealthReport(
            healthy ? "healthy" : "unhealthy",
            Describe(report, DatabaseHealthCheck.Name),
            Describe(report, SyncHealthCheck.Name),
            Describe(report, PaymentsHealthCheck.Name));
        return Results.Json(body, HealthJsonContext.Default.HealthReport, statusCode: healthy ? 200 : 503);
    }

    private static string Describe(Microsoft.Extensions.Diagnostics.HealthChecks.HealthReport report, string name) =>
        report.Entries.TryGetValue(name, out var entry) ? entry.Description ?? entry.Status.ToString().ToLowerInvariant() : "not checked";
}

public sealed record HealthReport(string Status, string Database, string Sync, string Payments);

[System.Text.Json.Serialization.JsonSourceGenerationOptions(PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.CamelCase)]
[System.Text.Json.Serialization.JsonSerializable(typeof(HealthReport))]
internal sealed partial class HealthJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
