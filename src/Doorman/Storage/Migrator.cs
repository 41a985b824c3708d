using Dapper;

namespace Doorman.Storage;

/// <summary>
/// Applies the numbered SQL files in <c>Storage/Migrations</c> (embedded in the assembly) that the database has
/// not seen, each in its own transaction, in file-name order, and records them in <c>schema_migrations</c>.
/// </summary>
public sealed partial class Migrator(Database database, TimeProvider time, ILogger<Migrator> logger)
{
    public async Task MigrateAsync(CancellationToken cancellationToken)
    {
        if (Path.GetDirectoryName(database.FilePath) is { Length: > 0 } folder)
            Directory.CreateDirectory(folder);

        await using (var connection = await database.OpenAsync(cancellationToken))
        {
            // WAL lets readers proceed while one writer commits; it is a property of the file, set once.
            await connection.ExecuteAsync("PRAGMA journal_mode = WAL;");
            await connection.ExecuteAsync(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version TEXT PRIMARY KEY, applied_at INTEGER NOT NULL);");
        }

        foreach (var (version, sql) in Migrations())
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
                LogApplied(version, database.FilePath);
        }
    }

    /// <summary>The embedded migrations, e.g. ("0001_initial", "CREATE TABLE ...").</summary>
    public static IEnumerable<(string Version, string Sql)> Migrations()
    {
        var assembly = typeof(Migrator).Assembly;
        const string prefix = "Doorman.Storage.Migrations.";
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith(prefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            using var stream = assembly.GetManifestResourceStream(name)!;
            using var reader = new StreamReader(stream);
            yield return (name[prefix.Length..^".sql".Length], reader.ReadToEnd());
        }
    }

    [LoggerMessage(LogLevel.Information, "Applied database migration {Version} to {Path}")]
    private partial void LogApplied(string version, string path);
}
