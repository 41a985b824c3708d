using Doorman.Storage;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Doorman.Outbox;

/// <summary>
/// "outbox": messages and invites or kicks go out. Degraded when the oldest pending item has waited longer than
/// <see cref="BehindAfter"/> (the homeserver refuses, or a worker is stuck); never unhealthy, since the bot still takes
/// payments and decisions, and <c>/healthz</c> reports only database, sync and payments.
/// </summary>
public sealed class OutboxHealthCheck(Database database, TimeProvider time) : IHealthCheck
{
    public const string Name = "outbox";

    public static readonly TimeSpan BehindAfter = TimeSpan.FromMinutes(15);

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var queues = await database.ReadAsync(Gauges.QueuesAsync, cancellationToken);
        var now = time.GetUtcNow();
        var behind = queues.Where(q => q.Queue != "inbox" && q.OldestCreatedAt is { } at && now - UnixMs.To(at) > BehindAfter).Select(q => q.Queue).ToList();
        return behind.Count == 0 ? HealthCheckResult.Healthy("ok") : HealthCheckResult.Degraded("behind: " + string.Join(", ", behind));
    }
}
