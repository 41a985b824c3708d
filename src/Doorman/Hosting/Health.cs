using Doorman.Matrix.Sync;
using Doorman.Payments;
using Doorman.Storage;

namespace Doorman.Hosting;

/// <summary>
/// <c>GET /healthz</c>: 200 when the sync loop is syncing and the database answers, 503 otherwise, with a
/// small JSON body saying which part is unwell. The payment feed is reported but does not fail the check:
/// the bot still serves members (and finds late payments) while the node is briefly away.
/// </summary>
public sealed class Health(SyncLoop sync, PaymentListener payments, Database database, TimeProvider time)
{
    /// <summary>A sync answers within its 30 s long-poll; three times that without success is unhealthy.</summary>
    public static readonly TimeSpan SyncStaleAfter = TimeSpan.FromSeconds(90);

    public async Task<IResult> CheckAsync(CancellationToken cancellationToken)
    {
        var databaseOk = await DatabaseAnswersAsync(cancellationToken);
        var lastSync = sync.LastSuccess;
        var syncOk = lastSync is { } at && time.GetUtcNow() - at < SyncStaleAfter && !sync.IsFailing;
        var body = new HealthReport(
            databaseOk && syncOk ? "healthy" : "unhealthy",
            databaseOk ? "ok" : "not answering",
            syncOk ? "ok" : lastSync is null ? "not synced yet" : "failing since " + lastSync.Value.ToString("O", System.Globalization.CultureInfo.InvariantCulture),
            payments.IsConnected ? "ok" : "disconnected");
        return Results.Json(body, HealthJsonContext.Default.HealthReport, statusCode: databaseOk && syncOk ? 200 : 503);
    }

    private async Task<bool> DatabaseAnswersAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(5));
            return await database.ReadAsync(tx => tx.ExecuteScalarAsync<long>("SELECT 1"), timeout.Token) == 1;
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }
}

public sealed record HealthReport(string Status, string Database, string Sync, string Payments);

[System.Text.Json.Serialization.JsonSourceGenerationOptions(PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.CamelCase)]
[System.Text.Json.Serialization.JsonSerializable(typeof(HealthReport))]
internal sealed partial class HealthJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
