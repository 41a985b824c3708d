namespace Doorman.Storage;

/// <summary>Named positions in outside streams: the sync token, the filter, the payment feed's cursor.</summary>
public sealed class Cursors
{
    public const string SyncSince = "matrix.since";
    public const string SyncFilterId = "matrix.filter_id";
    public const string SyncFilterJson = "matrix.filter_json";

    public static string PaymentFeed(string backend) => $"payments.{backend}.cursor";

    public Task<string?> GetAsync(Tx tx, string name) =>
        tx.QuerySingleOrDefaultAsync<string?>("SELECT value FROM cursors WHERE name = @name", new { name });

    public Task SetAsync(Tx tx, string name, string? value) =>
        tx.ExecuteAsync("INSERT INTO cursors (name, value) VALUES (@name, @value) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            new { name, value });
}
