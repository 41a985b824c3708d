using Doorman.Matrix;
using Doorman.Matrix.Sync;
using Doorman.Storage;
using Microsoft.Extensions.Options;

namespace Doorman.Homeserver;

/// <summary>Runs the sync loop for the bot's account; a refused token stops the bot with a clear message.</summary>
public sealed class SyncService(SyncLoop loop, IOptions<MatrixOptions> options, Fatal fatal) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await loop.RunAsync(options.Value.UserId, stoppingToken);
        }
        catch (MatrixException e) when (e.IsUnknownToken || e.ErrorCode == ErrorCodes.MissingToken)
        {
            fatal.Stop($"the homeserver no longer accepts the bot's access token ({e.ErrorCode}{(e.SoftLogout ? ", soft logout" : "")}). "
                + "Log the bot account in again and put the new token in Matrix:AccessToken.");
        }
    }
}

/// <summary>The sync loop's place, kept in the database's cursors table.</summary>
public sealed class SqliteSyncStateStore(Database database, Cursors cursors) : ISyncStateStore
{
    public Task<SyncState> LoadAsync(CancellationToken cancellationToken) =>
        database.ReadAsync(async tx => new SyncState(
            await cursors.GetAsync(tx, Cursors.SyncSince),
            await cursors.GetAsync(tx, Cursors.SyncFilterId),
            await cursors.GetAsync(tx, Cursors.SyncFilterJson)), cancellationToken);

    public Task SaveSinceAsync(string? since, CancellationToken cancellationToken) =>
        database.WriteAsync(tx => cursors.SetAsync(tx, Cursors.SyncSince, since), cancellationToken);

    public Task SaveFilterAsync(string filterId, string filterJson, CancellationToken cancellationToken) =>
        database.WriteAsync(async tx =>
        {
            await cursors.SetAsync(tx, Cursors.SyncFilterId, filterId);
            await cursors.SetAsync(tx, Cursors.SyncFilterJson, filterJson);
        }, cancellationToken);
}
