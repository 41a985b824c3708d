using Dapper;
using Doorman.Storage;
using Doorman.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace Doorman.Tests.Storage;

/// <summary>
/// PostgreSQL's copies of the numbered migrations (Storage/Migrations/Postgres) against SQLite's: the same versions,
/// the same tables, columns and indexes; applied once, also by two instances starting at once.
/// </summary>
public sealed class PostgresMigrationTests : IAsyncLifetime
{
    private readonly TempDirectory _dir = new();
    private TestPostgres? _postgres;

    public async Task InitializeAsync()
    {
        if (TestPostgres.Server is not null)
            _postgres = await TestPostgres.CreateAsync();
    }

    public async Task DisposeAsync()
    {
        if (_postgres is not null)
            await _postgres.DisposeAsync();
        _dir.Dispose();
    }

    private static Task MigrateAsync(Database database) =>
        new Migrator(database, TimeProvider.System, NullLogger<Migrator>.Instance).MigrateAsync(CancellationToken.None);

    [Fact]
    public void Both_providers_have_the_same_numbered_migrations()
    {
        Assert.Equal(Migrator.Migrations(StorageProvider.Sqlite).Select(m => m.Version), Migrator.Migrations(StorageProvider.Postgres).Select(m => m.Version));
        Assert.NotEmpty(Migrator.Migrations(StorageProvider.Postgres));
    }

    [PostgresFact]
    public async Task Both_providers_make_the_same_tables_columns_and_indexes()
    {
        var sqlite = new Database(_dir.File("doorman.db"));
        var postgres = Database.Postgres(_postgres!.ConnectionString);
        await MigrateAsync(sqlite);
        await MigrateAsync(postgres);

        var sqliteColumns = await sqlite.ReadAsync(async tx => (await tx.QueryAsync<(string Table, string Column, string Type, long NotNull)>(
            """
            SELECT m.name, c.name, c.type, c."notnull" FROM sqlite_master m, pragma_table_info(m.name) c
            WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite%'
            """)).Select(c => $"{c.Table}.{c.Column} {Family(c.Type)}{(c.NotNull == 1 ? " not null" : "")}").Order(StringComparer.Ordinal).ToList(), default);
        var postgresColumns = await postgres.ReadAsync(async tx => (await tx.QueryAsync<(string Table, string Column, string Type, string Nullable)>(
            "SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns WHERE table_schema = 'public'"))
            .Select(c => $"{c.Table}.{c.Column} {Family(c.Type)}{(c.Nullable == "NO" ? " not null" : "")}").Order(StringComparer.Ordinal).ToList(), default);
        // SQLite reports a PRIMARY KEY column that is not INTEGER as nullable; PostgreSQL does not: compare nullability on
        // the columns SQLite declares NOT NULL, and the names and types of all.
        Assert.Equal(sqliteColumns.Select(NameAndType), postgresColumns.Select(NameAndType));
        Assert.Empty(sqliteColumns.Where(c => c.EndsWith(" not null", StringComparison.Ordinal)).Except(postgresColumns));

        var sqliteIndexes = await sqlite.ReadAsync(async tx => (await tx.QueryAsync<string>(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_autoindex%'")).Order(StringComparer.Ordinal).ToList(), default);
        var postgresIndexes = await postgres.ReadAsync(async tx => (await tx.QueryAsync<string>(
            "SELECT indexname FROM pg_indexes WHERE schemaname = 'public' AND indexname NOT LIKE '%_pkey' AND indexname NOT LIKE '%_key'"))
            .Order(StringComparer.Ordinal).ToList(), default);
        Assert.Equal(sqliteIndexes, postgresIndexes);
    }

    private static string NameAndType(string column) => column.Replace(" not null", "", StringComparison.Ordinal);

    /// <summary>What a column holds, in words both databases' type names map to.</summary>
    private static string Family(string type) => type.ToLowerInvariant() switch
    {
        "integer" or "bigint" => "integer",
        "text" => "text",
        "real" or "double precision" => "real",
        "blob" or "bytea" => "bytes",
        var other => other,
    };

    [PostgresFact]
    public async Task Two_instances_starting_at_once_apply_each_migration_once()
    {
        var first = Database.Postgres(_postgres!.ConnectionString);
        var second = Database.Postgres(_postgres.ConnectionString);
        await Task.WhenAll(MigrateAsync(first), MigrateAsync(second));
        await MigrateAsync(first);

        var applied = await first.ReadAsync(tx => tx.QueryAsync<string>("SELECT version FROM schema_migrations ORDER BY version"), default);
        Assert.Equal(Migrator.Migrations(StorageProvider.Postgres).Select(m => m.Version), applied);
    }

    [PostgresFact]
    public async Task Subscriptions_from_before_the_owner_commands_migration_keep_their_plan_and_reminder()
    {
        // The database as an older bot left it: every migration before 0006, a gate with a reminder lead, a paid member.
        var database = Database.Postgres(_postgres!.ConnectionString);
        await using (var connection = await database.OpenAsync(CancellationToken.None))
        {
            await connection.ExecuteAsync("CREATE TABLE schema_migrations (version TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)");
            foreach (var (version, sql) in Migrator.Migrations(StorageProvider.Postgres).TakeWhile(m => string.CompareOrdinal(m.Version, "0006") < 0))
            {
                await connection.ExecuteAsync(sql);
                await connection.ExecuteAsync("INSERT INTO schema_migrations VALUES (@version, 0)", new { version });
            }
            await connection.ExecuteAsync("""
                INSERT INTO gates (room_id, room_name, remind_seconds, created_by, created_at, updated_by, updated_at)
                VALUES ('!r:x', '#r:x', 86400, '@o:x', 0, '@o:x', 0);
                INSERT INTO plans (room_id, name, price_msat, period_seconds, is_default, created_at) VALUES ('!r:x', 'default', 1000, 2592000, 1, 0);
                INSERT INTO subscriptions (room_id, user_id, expires_at, source, created_at, updated_at) VALUES ('!r:x', '@m:x', 1000000000, 'paid', 0, 0);
                """);
        }

        await MigrateAsync(database);

        var row = await database.ReadAsync(tx => tx.QuerySingleOrDefaultAsync<(string PlanName, long PeriodSeconds, long RemindAt)>(
            "SELECT plan_name, period_seconds, remind_at FROM subscriptions WHERE user_id = '@m:x'"), default);
        Assert.Equal(("default", 2592000L, 1000000000L - 86400 * 1000), row);
        Assert.Null(await database.ReadAsync(tx => tx.ExecuteScalarAsync<long?>("SELECT remind_seconds FROM gates"), default));
    }
}
