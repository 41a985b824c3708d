using Doorman.Storage;
using Doorman.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace Doorman.Tests.Storage;

public sealed class DatabaseTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Every_connection_syncs_each_commit_to_disk()
    {
        var database = new Database(_dir.File("doorman.db"));
        await new Migrator(database, TimeProvider.System, NullLogger<Migrator>.Instance).MigrateAsync(CancellationToken.None);

        // SQLite: PRAGMA synchronous reads 0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA. In WAL mode only FULL (or EXTRA) keeps a
        // commit across power loss (https://www.sqlite.org/pragma.html#pragma_synchronous).
        Assert.Equal(2, await database.ReadAsync(tx => tx.ExecuteScalarAsync<long>("PRAGMA synchronous"), CancellationToken.None));
        Assert.Equal(2, await database.WriteAsync(tx => tx.ExecuteScalarAsync<long>("PRAGMA synchronous"), CancellationToken.None));
        Assert.Equal("wal", await database.ReadAsync(tx => tx.ExecuteScalarAsync<string>("PRAGMA journal_mode"), CancellationToken.None));
    }
}
