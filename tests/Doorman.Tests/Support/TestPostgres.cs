using System.Security.Cryptography;
using Npgsql;

namespace Doorman.Tests.Support;

/// <summary>
/// A fresh, empty PostgreSQL database for one test, on the server <c>DOORMAN_POSTGRES</c> names (an Npgsql connection
/// string with a superuser's login: <c>tests/postgres/postgres.sh env</c> prints it); dropped on dispose.
/// </summary>
public sealed class TestPostgres : IAsyncDisposable
{
    public const string ServerVariable = "DOORMAN_POSTGRES";

    public const string SkipReason =
        "DOORMAN_POSTGRES is not set: run `tests/postgres/postgres.sh start` and `eval \"$(tests/postgres/postgres.sh env)\"`";

    private TestPostgres(string database, string connectionString)
    {
        Database = database;
        ConnectionString = connectionString;
    }

    /// <summary>The server's connection string from <c>DOORMAN_POSTGRES</c>; null when it is not set.</summary>
    public static string? Server =>
        Environment.GetEnvironmentVariable(ServerVariable) is { Length: > 0 } server ? server : null;

    /// <summary>The database's name, <c>doorman_t_</c> and 16 random hex digits.</summary>
    public string Database { get; }

    /// <summary><see cref="Server"/> with <c>Database</c> replaced by this one.</summary>
    public string ConnectionString { get; }

    public static async Task<TestPostgres> CreateAsync()
    {
        var server = Server ?? throw new InvalidOperationException(SkipReason);
        var database = "doorman_t_" + RandomNumberGenerator.GetHexString(16, lowercase: true);
        await ExecuteOnServerAsync(server, $"CREATE DATABASE {database}");
        var connectionString = new NpgsqlConnectionStringBuilder(server) { Database = database }.ConnectionString;
        return new TestPostgres(database, connectionString);
    }

    public async ValueTask DisposeAsync()
    {
        // Pooled connections to the database would otherwise stay open; FORCE ends any that are still in use.
        using (var connection = new NpgsqlConnection(ConnectionString))
            NpgsqlConnection.ClearPool(connection);
        await ExecuteOnServerAsync(Server ?? throw new InvalidOperationException(SkipReason), $"DROP DATABASE IF EXISTS {Database} WITH (FORCE)");
    }

    private static async Task ExecuteOnServerAsync(string server, string sql)
    {
        await using var connection = new NpgsqlConnection(server);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}

/// <summary>A test that needs a PostgreSQL server: skipped, saying how to start one, when <c>DOORMAN_POSTGRES</c> is not set.</summary>
public sealed class PostgresFactAttribute : FactAttribute
{
    public PostgresFactAttribute()
    {
        if (TestPostgres.Server is null)
            Skip = TestPostgres.SkipReason;
    }
}

/// <summary>The <see cref="PostgresFactAttribute"/> of theories.</summary>
public sealed class PostgresTheoryAttribute : TheoryAttribute
{
    public PostgresTheoryAttribute()
    {
        if (TestPostgres.Server is null)
            Skip = TestPostgres.SkipReason;
    }
}
