using Doorman.Storage;

namespace Doorman.Tests.Support;

/// <summary>
/// Which database the storage suite runs on: SQLite files by default; PostgreSQL when <c>DOORMAN_TEST_STORAGE=Postgres</c>
/// (then <c>DOORMAN_POSTGRES</c> must name a server, <see cref="TestPostgres"/>). <c>.ci/run</c> runs the suite both ways
/// (README "Tests").
/// </summary>
public static class TestStorage
{
    public const string Variable = "DOORMAN_TEST_STORAGE";

    public static StorageProvider Provider { get; } = Enum.TryParse<StorageProvider>(Environment.GetEnvironmentVariable(Variable), ignoreCase: true, out var p)
        ? p
        : StorageProvider.Sqlite;

    /// <summary>
    /// The <c>Storage:*</c> settings of a fresh, empty database of <see cref="Provider"/>: the SQLite file at
    /// <paramref name="sqlitePath"/>, or a new PostgreSQL database, dropped when the returned handle is disposed.
    /// </summary>
    public static async Task<(Dictionary<string, string?> Settings, IAsyncDisposable Drop)> CreateAsync(string sqlitePath)
    {
        if (Provider == StorageProvider.Sqlite)
            return (new() { ["Storage:Path"] = sqlitePath }, Nothing.Instance);
        if (TestPostgres.Server is null)
            throw new InvalidOperationException($"{Variable}=Postgres needs a server: run tests/postgres/postgres.sh start and eval \"$(tests/postgres/postgres.sh env)\"");
        var postgres = await TestPostgres.CreateAsync();
        return (new()
        {
            ["Storage:Provider"] = "Postgres",
            ["Storage:ConnectionString"] = postgres.ConnectionString,
            ["Matrix:CryptoKey"] = Convert.ToBase64String(new byte[32]),
        }, postgres);
    }

    /// <summary>A fresh, migrated <see cref="Database"/> of <see cref="Provider"/>; SQLite's file is <paramref name="sqlitePath"/>.</summary>
    public static async Task<(Database Database, IAsyncDisposable Drop)> DatabaseAsync(string sqlitePath)
    {
        var (settings, drop) = await CreateAsync(sqlitePath);
        var database = Provider == StorageProvider.Sqlite ? new Database(sqlitePath) : Database.Postgres(settings["Storage:ConnectionString"]!);
        await new Migrator(database, TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger<Migrator>.Instance).MigrateAsync(CancellationToken.None);
        return (database, drop);
    }

    private sealed class Nothing : IAsyncDisposable
    {
        public static readonly Nothing Instance = new();

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
