using System.Data;
using Dapper;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace Doorman.Storage;

public sealed class StorageOptions
{
    public const string Section = "Storage";

    /// <summary>The SQLite file; its folder is created if missing.</summary>
    public string Path { get; set; } = "data/doorman.db";
}

/// <summary>
/// The SQLite database: one file, WAL mode, a busy timeout so concurrent writers wait instead of failing,
/// every write in a <c>BEGIN IMMEDIATE</c> transaction (Microsoft.Data.Sqlite's default for BeginTransaction),
/// so two writers never interleave their reads and writes.
/// </summary>
public sealed class Database
{
    private readonly string _connectionString;

    public Database(IOptions<StorageOptions> options)
        : this(options.Value.Path)
    {
    }

    public Database(string path)
    {
        FilePath = System.IO.Path.GetFullPath(path);
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = FilePath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            DefaultTimeout = 30, // seconds a command waits on a locked database before failing
            Pooling = true,
        }.ToString();
    }

    public string FilePath { get; }

    public async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
            await connection.ExecuteAsync("PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;");
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>Runs <paramref name="work"/> in one write transaction and commits it; rolls back if it throws.</summary>
    public async Task<T> WriteAsync<T>(Func<Tx, Task<T>> work, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(IsolationLevel.Serializable, cancellationToken);
        var result = await work(new Tx(connection, transaction, cancellationToken));
        await transaction.CommitAsync(cancellationToken);
        return result;
    }

    public Task WriteAsync(Func<Tx, Task> work, CancellationToken cancellationToken) =>
        WriteAsync(async tx =>
        {
            await work(tx);
            return true;
        }, cancellationToken);

    /// <summary>Runs <paramref name="work"/> on a connection without a transaction (single reads).</summary>
    public async Task<T> ReadAsync<T>(Func<Tx, Task<T>> work, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        return await work(new Tx(connection, null, cancellationToken));
    }
}

/// <summary>A connection and, for writes, its transaction: what every SQL statement runs in.</summary>
public sealed record Tx(SqliteConnection Connection, SqliteTransaction? Transaction, CancellationToken CancellationToken)
{
    public Task<int> ExecuteAsync(string sql, object? param = null) =>
        Connection.ExecuteAsync(Command(sql, param));

    public Task<T?> QuerySingleOrDefaultAsync<T>(string sql, object? param = null) =>
        Connection.QuerySingleOrDefaultAsync<T>(Command(sql, param));

    public async Task<IReadOnlyList<T>> QueryAsync<T>(string sql, object? param = null) =>
        (await Connection.QueryAsync<T>(Command(sql, param))).AsList();

    public Task<T?> ExecuteScalarAsync<T>(string sql, object? param = null) =>
        Connection.ExecuteScalarAsync<T>(Command(sql, param));

    private CommandDefinition Command(string sql, object? param) =>
        new(sql, param, Transaction, cancellationToken: CancellationToken);
}
