using System.Globalization;
using System.Security.Cryptography;
using Doorman.Storage;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Doorman.BenchShared;

/// <summary>
/// The bot's database for one bench run, on either provider (README, "Storage"): a SQLite file in the run's folder, or
/// a fresh PostgreSQL database <c>doorman_load_&lt;random&gt;</c> made on the server of <c>--postgres</c> (a superuser's
/// connection string; tests/postgres/postgres.sh starts one) and dropped on dispose. <see cref="Settings"/> are the
/// bot's configuration keys for it (with PostgreSQL, also <c>Matrix:CryptoKey</c>, which the bot then requires).
/// Shared by bench/settle, bench/load and bench/crash.
/// </summary>
internal sealed class BenchStorage : IAsyncDisposable
{
    private readonly string? _adminConnectionString;
    private readonly string? _databaseName;

    private BenchStorage(StorageOptions options, IReadOnlyDictionary<string, string?> settings, string? adminConnectionString, string? databaseName)
    {
        Options = options;
        Settings = settings;
        _adminConnectionString = adminConnectionString;
        _databaseName = databaseName;
    }

    public StorageOptions Options { get; }

    public StorageProvider Provider => Options.Provider;

    /// <summary>Configuration keys (":"-separated) for the bot; <see cref="Environment"/> gives them as environment variables.</summary>
    public IReadOnlyDictionary<string, string?> Settings { get; }

    /// <summary>The settings as the bot reads them from its environment ("__" for ":").</summary>
    public IEnumerable<KeyValuePair<string, string>> Environment =>
        Settings.Where(s => s.Value is not null).Select(s => KeyValuePair.Create(s.Key.Replace(":", "__", StringComparison.Ordinal), s.Value!));

    /// <summary>Where the database is, for the report (never the password).</summary>
    public string Describe() => Provider == StorageProvider.Postgres
        ? $"PostgreSQL database {_databaseName} on {new NpgsqlConnectionStringBuilder(_adminConnectionString).Host}:{new NpgsqlConnectionStringBuilder(_adminConnectionString).Port}"
        : $"SQLite file {Options.Path}";

    /// <summary>
    /// Without <c>--postgres</c>: <c>DOORMAN_POSTGRES</c> (what <c>tests/postgres/postgres.sh env</c> prints, as the tests
    /// read it), else that script's server with its default password.
    /// </summary>
    public static string DefaultPostgres =>
        System.Environment.GetEnvironmentVariable("DOORMAN_POSTGRES") is { Length: > 0 } configured
            ? configured
            : "Host=127.0.0.1;Port=15432;Username=doorman;Password=doorman-test;Database=postgres";

    public static StorageProvider ParseProvider(string value) => value.ToUpperInvariant() switch
    {
        "SQLITE" => StorageProvider.Sqlite,
        "POSTGRES" or "POSTGRESQL" => StorageProvider.Postgres,
        _ => throw new ArgumentException($"--storage {value}: Sqlite or Postgres"),
    };

    public static async Task<BenchStorage> CreateAsync(StorageProvider provider, string? postgres, string dataDir, CancellationToken cancellationToken)
    {
        if (provider == StorageProvider.Sqlite)
        {
            var path = System.IO.Path.Combine(dataDir, "doorman.db");
            return new BenchStorage(new StorageOptions { Provider = provider, Path = path },
                new Dictionary<string, string?> { ["Storage:Provider"] = "Sqlite", ["Storage:Path"] = path }, null, null);
        }
        var admin = postgres ?? DefaultPostgres;
        var name = "doorman_load_" + Guid.NewGuid().ToString("N")[..10];
        await using (var connection = new NpgsqlConnection(admin))
        {
            await connection.OpenAsync(cancellationToken);
            await using var create = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
            await create.ExecuteNonQueryAsync(cancellationToken);
        }
        var connectionString = new NpgsqlConnectionStringBuilder(admin) { Database = name }.ConnectionString;
        return new BenchStorage(new StorageOptions { Provider = provider, ConnectionString = connectionString },
            new Dictionary<string, string?>
            {
                ["Storage:Provider"] = "Postgres",
                ["Storage:ConnectionString"] = connectionString,
                ["Matrix:CryptoKey"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
            }, admin, name);
    }

    /// <summary>The bot's own <see cref="Database"/> on it, for seeding and reading in the harness.</summary>
    public Database Open() => new(Options);

    /// <summary>Applies the bot's migrations (src/Doorman/Storage/Migrator.cs), as its start would.</summary>
    public async Task<Database> MigrateAsync(CancellationToken cancellationToken)
    {
        var database = Open();
        await new Migrator(database, TimeProvider.System, NullLogger<Migrator>.Instance).MigrateAsync(cancellationToken);
        return database;
    }

    /// <summary>The size of the database: the SQLite file and its WAL, or <c>pg_database_size</c>.</summary>
    public async Task<long> SizeBytesAsync(CancellationToken cancellationToken)
    {
        if (Provider == StorageProvider.Sqlite)
            return new[] { Options.Path, Options.Path + "-wal" }.Where(File.Exists).Sum(p => new FileInfo(p).Length);
        await using var connection = new NpgsqlConnection(_adminConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var size = new NpgsqlCommand($"SELECT pg_database_size('{_databaseName}')", connection);
        return Convert.ToInt64(await size.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
    }

    /// <summary>Set to keep a PostgreSQL database for a look after the run (a failed audit); its name is in <see cref="Describe"/>.</summary>
    public bool KeepDatabase { get; set; }

    public async ValueTask DisposeAsync()
    {
        if (_adminConnectionString is null || KeepDatabase)
            return;
        NpgsqlConnection.ClearAllPools();
        await using var connection = new NpgsqlConnection(_adminConnectionString);
        await connection.OpenAsync();
        // WITH (FORCE): connections the bot left open (a killed child process's) do not keep it
        // (https://www.postgresql.org/docs/15/sql-dropdatabase.html).
        await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS {_databaseName} WITH (FORCE)", connection);
        await drop.ExecuteNonQueryAsync();
    }
}
