using Dapper;
using Doorman.Storage;
using Doorman.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace Doorman.Tests.Storage;

public sealed class MigrationTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task An_empty_file_gets_every_table_and_its_folder()
    {
        var path = Path.Combine(_dir.Path, "nested", "folder", "doorman.db");
        var database = new Database(path);
        await new Migrator(database, TimeProvider.System, NullLogger<Migrator>.Instance).MigrateAsync(CancellationToken.None);

        Assert.True(File.Exists(path));
        await using var connection = await database.OpenAsync(CancellationToken.None);
        var tables = (await connection.QueryAsync<string>("SELECT name FROM sqlite_master WHERE type = 'table'")).ToHashSet();
        foreach (var table in new[] { "gates", "plans", "orders", "subscriptions", "exemptions", "membership_actions",
                     "outgoing_messages", "handled_events", "dm_rooms", "inbox", "cursors", "audit", "schema_migrations" })
            Assert.Contains(table, tables);
        Assert.Equal("wal", await connection.ExecuteScalarAsync<string>("PRAGMA journal_mode"));
    }

    [Fact]
    public async Task Migrating_twice_applies_each_migration_once()
    {
        var database = new Database(_dir.File("doorman.db"));
        var migrator = new Migrator(database, TimeProvider.System, NullLogger<Migrator>.Instance);
        await migrator.MigrateAsync(CancellationToken.None);
        await migrator.MigrateAsync(CancellationToken.None);

        await using var connection = await database.OpenAsync(CancellationToken.None);
        var applied = (await connection.QueryAsync<string>("SELECT version FROM schema_migrations ORDER BY version")).ToList();
        Assert.Equal(Migrator.Migrations().Select(m => m.Version).ToList(), applied);
    }

    [Fact]
    public async Task Data_survives_a_second_migration_run()
    {
        var database = new Database(_dir.File("doorman.db"));
        var migrator = new Migrator(database, TimeProvider.System, NullLogger<Migrator>.Instance);
        await migrator.MigrateAsync(CancellationToken.None);
        await database.WriteAsync(tx => new Cursors().SetAsync(tx, "x", "42"), CancellationToken.None);
        await migrator.MigrateAsync(CancellationToken.None);
        Assert.Equal("42", await database.ReadAsync(tx => new Cursors().GetAsync(tx, "x"), CancellationToken.None));
    }
}
