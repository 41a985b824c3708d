using Doorman.Homeserver;
using Doorman.Storage;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Doorman.Hosting;

/// <summary>
/// <c>doorman migrate --to-postgres &lt;connection string&gt;</c> (README "Command line", docs/operators.md "Moving from
/// SQLite to PostgreSQL"): the configured SQLite database is brought up to date with its own migrations, the
/// PostgreSQL database gets PostgreSQL's, and <see cref="PostgresCopy"/> copies every row across in one transaction.
/// Then it says which settings to change. 0: copied; 1: refused or failed, nothing committed, one line why; 2: bad
/// usage or configuration. The connection string's password is never printed: the target is named by
/// <see cref="Database.Name"/> (database, host and port).
/// <para>
/// The SQLite file is migrated first rather than refused when behind: the copy needs both sides at the same
/// migration, the target is always at this version's latest, and migrating is what the bot itself would do to the
/// file at its next start (the operator's backup, made before, is the way back). A file at a migration this version
/// does not know is refused: it was written by a newer Doorman.
/// </para>
/// </summary>
internal static class MigrateToPostgres
{
    private const string Verb = "doorman migrate --to-postgres";

    public static async Task<int> RunAsync(string[] config, string? connectionString, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            await error.WriteLineAsync($"{Verb}: give the PostgreSQL database as an Npgsql connection string, e.g. "
                + "--to-postgres \"Host=db;Database=doorman;Username=doorman;Password=…\"");
            return 2;
        }
        Database target;
        try
        {
            target = Database.Postgres(connectionString);
        }
        catch (ArgumentException e)
        {
            // Npgsql names the keyword it did not take, never a value.
            await error.WriteLineAsync($"{Verb}: not an Npgsql connection string ({e.Message}); see https://www.npgsql.org/doc/connection-string-parameters.html");
            return 2;
        }

        var builder = DoormanApp.CreateBuilder(config);
        builder.Logging.ClearProviders();
        await using var app = builder.Build();
        Database source;
        try
        {
            if (app.Configuration.GetSection(StorageOptions.Section).Get<StorageOptions>() is { Provider: StorageProvider.Postgres })
            {
                await error.WriteLineAsync($"{Verb}: Storage:Provider is Postgres already; this copies the SQLite database of Storage:Path, "
                    + "so run it with the configuration the bot had on SQLite");
                return 2;
            }
            source = app.Services.GetRequiredService<Database>();
        }
        catch (OptionsValidationException e)
        {
            foreach (var failure in e.Failures)
                await error.WriteLineAsync("configuration: " + failure);
            return 2;
        }
        catch (InvalidOperationException e) // a Storage value the binder cannot read, e.g. Storage:Provider=MySql
        {
            await error.WriteLineAsync("configuration: " + e.Message);
            return 2;
        }

        var password = new NpgsqlConnectionStringBuilder(connectionString).Password;
        try
        {
            return await CopyAsync(app.Services, source, target, output, error, cancellationToken);
        }
        catch (PostgresCopyException e)
        {
            await error.WriteLineAsync($"{Verb}: refused: {Hide(e.Message, password)}");
            return 1;
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException)
        {
            // NpgsqlException: the server cannot be reached or refused the login; PostgresException (one of them): it
            // refused a statement. Either way the copy's transaction was rolled back.
            var reason = e is PostgresException postgres ? $"{postgres.SqlState}: {postgres.MessageText}" : e.Message;
            await error.WriteLineAsync($"{Verb}: {target.Name} failed, nothing was copied: {Hide(reason, password)}");
            return 1;
        }
    }

    private static async Task<int> CopyAsync(IServiceProvider services, Database source, Database target, TextWriter output, TextWriter error,
        CancellationToken cancellationToken)
    {
        if (!File.Exists(source.FilePath))
        {
            await error.WriteLineAsync($"{Verb}: refused: there is no SQLite database at {source.FilePath} (Storage:Path)");
            return 1;
        }
        var known = Migrator.Migrations(StorageProvider.Sqlite).Select(m => m.Version).ToList();
        var before = await Check.AppliedMigrationsAsync(source, cancellationToken) ?? [];
        if (before.Where(v => !known.Contains(v)).Order(StringComparer.Ordinal).ToList() is { Count: > 0 } unknown)
        {
            await error.WriteLineAsync($"{Verb}: refused: {source.Name} has migrations this Doorman does not know ({string.Join(", ", unknown)}); "
                + "run the newer Doorman's migrate --to-postgres");
            return 1;
        }

        // Refused before any migration touches the target, so a second run changes nothing there.
        if (await PostgresCopy.RowsInTargetAsync(target, cancellationToken) is { Count: > 0 } full)
        {
            await error.WriteLineAsync($"{Verb}: refused: {PostgresCopy.NotEmpty(full)}");
            return 1;
        }

        var time = services.GetRequiredService<TimeProvider>();
        var logger = services.GetRequiredService<ILogger<Migrator>>();
        await new Migrator(source, time, logger).MigrateAsync(cancellationToken);
        foreach (var version in known.Where(v => !before.Contains(v)))
            await output.WriteLineAsync($"applied {version} to {source.Name}");

        var targetBefore = await Check.AppliedMigrationsAsync(target, cancellationToken) ?? [];
        await new Migrator(target, time, logger).MigrateAsync(cancellationToken);
        var targetApplied = Migrator.Migrations(StorageProvider.Postgres).Count(m => !targetBefore.Contains(m.Version));
        await output.WriteLineAsync($"{target.Name}: {targetApplied} migrations applied, {targetBefore.Count} there before");

        var result = await PostgresCopy.CopyAsync(source, target, cancellationToken);
        await output.WriteLineAsync($"copied {source.Name} into {target.Name}, in one transaction; rows, the same on both sides:");
        var width = result.Tables.Max(t => t.Table.Length);
        foreach (var table in result.Tables)
            await output.WriteLineAsync($"  {table.Table.PadRight(width)}  {table.Rows}");
        await output.WriteLineAsync($"  {"total".PadRight(width)}  {result.Rows}");

        await output.WriteLineAsync("Now change the bot's configuration (it must still be stopped), then start it:");
        await output.WriteLineAsync("  Storage:Provider=Postgres");
        await output.WriteLineAsync("  Storage:ConnectionString=<the connection string given to --to-postgres> "
            + "(or Storage:ConnectionStringFile=<a file holding it>; it holds the password)");
        var configuration = services.GetRequiredService<IConfiguration>();
        var keyFile = Path.Combine(Path.GetDirectoryName(source.FilePath)!, CryptoKeys.FileName);
        if (!string.IsNullOrEmpty(configuration["Matrix:CryptoKey"]) || !string.IsNullOrEmpty(configuration["Matrix:CryptoKeyFile"]))
            await output.WriteLineAsync("  Matrix:CryptoKey (or Matrix:CryptoKeyFile): keep it as it is; it seals the copied encryption state");
        else if (File.Exists(keyFile))
            await output.WriteLineAsync($"  Matrix:CryptoKeyFile={keyFile} (the key that seals the copied encryption state: "
                + "on PostgreSQL the bot does not look for it beside the database, and does not start without it)");
        else
            await output.WriteLineAsync("  Matrix:CryptoKey=<32 random bytes in base64: openssl rand -base64 32> (or Matrix:CryptoKeyFile): "
                + "the bot does not start on PostgreSQL without it");
        await output.WriteLineAsync($"Storage:Path is no longer read; keep {source.FilePath} as a backup.");
        return 0;
    }

    /// <summary>Server messages do not echo the password; should one ever do, it is masked here.</summary>
    private static string Hide(string text, string? password) =>
        string.IsNullOrEmpty(password) ? text : text.Replace(password, "***", StringComparison.Ordinal);
}
