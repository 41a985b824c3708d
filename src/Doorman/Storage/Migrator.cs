using Dapper;

namespace Doorman.Storage;

/// <summary>
/// Applies the numbered SQL files that the database has not seen, each in its own transaction, in file-name order,
/// and records them in <c>schema_migrations</c>. Each provider has its own copy of every numbered file, embedded in
/// the assembly: <c>Storage/Migrations/NNNN_name.sql</c> for SQLite and <c>Storage/Migrations/Postgres/NNNN_name.sql</c>
/// for PostgreSQL. Both copies of a number make the same tables, columns and indexes (MigrationTests compares the two
/// schemas); they differ only in the dialect: PostgreSQL's BIGINT for SQLite's INTEGER (times are Unix milliseconds),
/// identity columns for INTEGER PRIMARY KEY, BYTEA for BLOB, and ALTER TABLE where SQLite must rebuild a table.
/// </summary>
public sealed partial class Migrator(Database database, TimeProvider time, ILogger<Migrator> logger)
{
    public async Task MigrateAsync(CancellationToken cancellationToken)
    {
        if (database.FilePath is { } file && Path.GetDirectoryName(file) is { Length: > 0 } folder)
            Directory.CreateDirectory(folder);

        if (database.Provider == StorageProvider.Sqlite)
        {
            await using var connection = await database.OpenAsync(cancellationToken);
            // WAL lets readers proceed while one writer commits; it is a property of the file, set once.
            await connection.ExecuteAsync("PRAGMA journal_mode = WAL;");
        }
        // In a write transaction: on PostgreSQL two instances starting at once take turns at the write lock.
        await database.WriteAsync(tx => tx.ExecuteAsync(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version TEXT PRIMARY KEY, applied_at BIGINT NOT NULL);"), cancellationToken);

        foreach (var (version, sql) in Migrations(database.Provider))
        {
            var applied = await database.WriteAsync(async tx =>
            {
                if (await tx.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM schema_migrations WHERE version = @version", new { version }) > 0)
                    return false;
                await tx.ExecuteAsync(sql);
                await tx.ExecuteAsync("INSERT INTO schema_migrations (version, applied_at) VALUES (@version, @now)",
                    new { version, now = time.GetUtcNow().ToUnixTimeMilliseconds() });
                return true;
            }, cancellationToken);
            if (applied)
                LogApplied(version, database.Name);
        }
    }

    /// <summary>The embedded migrations of SQLite, e.g. ("0001_initial", "CREATE TABLE ...").</summary>
    public static IEnumerable<(string Version, string Sql)> Migrations() => Migrations(StorageProvider.Sqlite);

    /// <summary>The embedded migrations of <paramref name="provider"/>, in order.</summary>
    public static IEnumerable<(string Version, string Sql)> Migrations(StorageProvider provider)
    {
        var assembly = typeof(Migrator).Assembly;
        var prefix = provider == StorageProvider.Postgres ? "Doorman.Storage.Migrations.Postgres." : "Doorman.Storage.Migrations.";
        foreach (var name in assembly.GetManifestResourceNames().Order(StringComparer.Ordinal))
        {
            // "Doorman.Storage.Migrations.Postgres.0001_initial.sql" is not one of SQLite's: its version would hold a dot.
            if (!name.StartsWith(prefix, StringComparison.Ordinal) || name[prefix.Length..^".sql".Length].Contains('.', StringComparison.Ordinal))
                continue;
            using var stream = assembly.GetManifestResourceStream(name)!;
            using var reader = new StreamReader(stream);
            yield return (name[prefix.Length..^".sql".Length], reader.ReadToEnd());
        }
    }

    [LoggerMessage(LogLevel.Information, "Applied database migration {Version} to {Database}")]
    private partial void LogApplied(string version, string database);
}
