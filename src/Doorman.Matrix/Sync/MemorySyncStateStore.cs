namespace Doorman.Matrix.Sync;

/// <summary>
/// The loop's place kept in memory only: for bots that need not resume (a restart starts a fresh session, which
/// replays nothing), benchmarks and tests. A bot that must not lose or repeat work stores it durably instead.
/// </summary>
public sealed class MemorySyncStateStore(SyncState? initial = null) : ISyncStateStore
{
    public SyncState State { get; private set; } = initial ?? new SyncState(null, null, null);

    public Task<SyncState> LoadAsync(CancellationToken cancellationToken) => Task.FromResult(State);

    public Task SaveSinceAsync(string? since, CancellationToken cancellationToken)
    {
        State = State with { Since = since };
        return Task.CompletedTask;
    }

    public Task SaveFilterAsync(string filterId, string filterJson, CancellationToken cancellationToken)
    {
        State = State with { FilterId = filterId, FilterJson = filterJson };
        return Task.CompletedTask;
    }
}
