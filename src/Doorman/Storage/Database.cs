using System.Data;
using Dapper;
using Doorman.Access;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace Doorman.Storage;

/// <summary>
/// The SQLite database: one file, WAL mode with every commit synced to disk (<c>synchronous = FULL</c>), a busy
/// timeout so concurrent writers wait instead of failing,
/// every write in a <c>BEGIN IMMEDIATE</c> transaction (Microsoft.Data.Sqlite's default for BeginTransaction),
/// so two writers never interleave their reads and writes, and one writer at a time in the process.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification =
    "The semaphore's wait handle is never asked for (AvailableWaitHandle), and only that needs disposing.")]
public sealed class Database : IDatabase
{
    private readonly string _connectionString;

    /// <summary>
    /// The process's writers take turns here rather than at SQLite's lock: a <c>BEGIN IMMEDIATE</c> that finds the lock
    /// held is retried by Microsoft.Data.Sqlite after a fixed 150 ms sleep, which put 150–300 ms steps into the
    /// bot's settle → invite tail (bench/README.md, "Settle → invite inside the bot"). Here the next writer starts the
    /// moment the last one commits. Other processes (<c>doorman check</c>, a backup) still meet SQLite's lock.
    /// </summary>
    private readonly SemaphoreSlim _writer = new(1, 1);

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
            // synchronous = FULL, not NORMAL: in WAL mode NORMAL does not sync the WAL at each commit, so "a transaction
            // committed in WAL mode with synchronous=NORMAL might roll back following a power loss or system crash"
            // (https://www.sqlite.org/pragma.html#pragma_synchronous). A lost commit can be an order whose invoice the
            // member already holds, or a settlement already acknowledged; FULL syncs the WAL before each commit returns.
            // The pragma is per connection, so every connection sets it.
            await connection.ExecuteAsync("PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL;");
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
        await _writer.WaitAsync(cancellationToken);
        try
        {
            await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(IsolationLevel.Serializable, cancellationToken);
            var result = await work(new Tx(connection, transaction, cancellationToken));
            await transaction.CommitAsync(cancellationToken);
            return result;
        }
        finally
        {
            _writer.Release();
        }
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

    Task<T> IDatabase.WriteAsync<T>(Func<ITx, Task<T>> work, CancellationToken cancellationToken) => WriteAsync<T>(tx => work(tx), cancellationToken);

    Task<T> IDatabase.ReadAsync<T>(Func<ITx, Task<T>> work, CancellationToken cancellationToken) => ReadAsync<T>(tx => work(tx), cancellationToken);
}

/// <summary>A connection and, for writes, its transaction: what every SQL statement runs in.</summary>
public sealed record Tx(SqliteConnection Connection, SqliteTransaction? Transaction, CancellationToken CancellationToken) : ITx
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

/// <summary>
/// SQL on the core's <see cref="ITx"/>: the stores implement the core's interfaces, whose transactions are always the
/// <see cref="Tx"/> this database made.
/// </summary>
internal static class TxSql
{
    public static Task<int> ExecuteAsync(this ITx tx, string sql, object? param = null) => Sql(tx).ExecuteAsync(sql, param);

    public static Task<T?> QuerySingleOrDefaultAsync<T>(this ITx tx, string sql, object? param = null) => Sql(tx).QuerySingleOrDefaultAsync<T>(sql, param);

    public static Task<IReadOnlyList<T>> QueryAsync<T>(this ITx tx, string sql, object? param = null) => Sql(tx).QueryAsync<T>(sql, param);

    public static Task<T?> ExecuteScalarAsync<T>(this ITx tx, string sql, object? param = null) => Sql(tx).ExecuteScalarAsync<T>(sql, param);

    private static Tx Sql(ITx tx) => tx as Tx ?? throw new ArgumentException($"a transaction of another storage ({tx.GetType().Name})", nameof(tx));
}

/// <summary>
/// The core's enums as the database stores them: lowercase names, words joined by underscores (<c>'pending'</c>,
/// <c>'invite'</c>, <c>'awaiting_power'</c>).
/// </summary>
internal static class DbText
{
    public static string Of<T>(T value)
        where T : struct, Enum
    {
        var name = value.ToString();
        var text = new System.Text.StringBuilder(name.Length + 4);
        foreach (var c in name)
        {
            if (char.IsUpper(c) && text.Length > 0)
                text.Append('_');
            text.Append(char.ToLowerInvariant(c));
        }
        return text.ToString();
    }

    public static T Parse<T>(string text)
        where T : struct, Enum => Enum.Parse<T>(text.Replace("_", "", StringComparison.Ordinal), ignoreCase: true);
}
