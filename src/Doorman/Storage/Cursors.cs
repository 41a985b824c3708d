using Doorman.Access;

namespace Doorman.Storage;

/// <summary>Named positions in outside streams: the sync token, the filter, the payment feed's cursor (<see cref="CursorNames"/>).</summary>
public sealed class Cursors : ICursorStore
{
    public const string SyncSince = "matrix.since";
    public const string SyncFilterId = "matrix.filter_id";
    public const string SyncFilterJson = "matrix.filter_json";

    public Task<string?> GetAsync(ITx tx, string name) =>
        tx.QuerySingleOrDefaultAsync<string?>("SELECT value FROM cursors WHERE name = @name", new { name });

    public Task SetAsync(ITx tx, string name, string? value) =>
        tx.ExecuteAsync("INSERT INTO cursors (name, value) VALUES (@name, @value) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            new { name, value });
}
