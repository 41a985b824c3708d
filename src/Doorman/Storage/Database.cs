using System.Data;
using System.Data.Common;
using Dapper;
using Doorman.Access;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Doorman.Storage;

/// <summary>
/// The database, SQLite or PostgreSQL (<see cref="StorageProvider"/>); the stores' SQL is the same for both, and
/// what differs between them is here (connections, the write lock) and in the migrations (Migrator.cs).
/// <para>
/// Writes never interleave: every write is one transaction, one writer at a time in the process, and one at a time
/// across processes too — on SQLite by its <c>BEGIN IMMEDIATE</c> (Microsoft.Data.Sqlite's default for
/// BeginTransaction), on PostgreSQL by a transaction-level advisory lock taken first thing in each write transaction
/// (https://www.postgresql.org/docs/15/explicit-locking.html#ADVISORY-LOCKS). So a write transaction that reads, then
/// decides, then writes, sees nothing change under it on either database, at READ COMMITTED on PostgreSQL, and the
/// stores need no retry-on-conflict logic.
/// </para>
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification =
    "The semaphore's wait handle is never asked for (AvailableWaitHandle), and only that needs disposing.")]
public sealed class Database : IDatabase
{
    /// <summary>
    /// The advisory lock every PostgreSQL write transaction takes (<c>pg_advisory_xact_lock</c>): an arbitrary constant,
    /// "DOORMAN\x01" read as a number, so it meets no other application's locks in a shared database.
    /// </summary>
    public const long WriteLockKey = 0x444F4F524D414E01;

    private readonly string _connectionString;
    private readonly IWriteFence? _fence;

    /// <summary>
    /// The process's writers take turns here rather than at SQLite's lock: a <c>BEGIN IMMEDIATE</c> that finds the lock
    /// held is retried by Microsoft.Data.Sqlite after a fixed 150 ms sleep, which put 150–300 ms steps into the
    /// bot's settle → invite tail (bench/README.md, "Settle → invite inside the bot"). Here the next writer starts the
    /// moment the last one commits. Other processes (<c>doorman check</c>, a backup, a second instance on PostgreSQL)
    /// still meet the database's lock.
    /// </summary>
    private readonly SemaphoreSlim _writer = new(1, 1);

    public Database(IOptions<StorageOptions> options, IWriteFence? fence = null)
        : this(options.Value, fence)
    {
    }

    /// <summary>A SQLite database in the file at <paramref name="path"/>.</summary>
    public Database(string path)
        : this(new StorageOptions { Path = path })
    {
    }

    public Database(StorageOptions options, IWriteFence? fence = null)
    {
        Provider = options.Provider;
        _fence = fence;
        if (Provider == StorageProvider.Postgres)
        {
            var builder = new NpgsqlConnectionStringBuilder(options.ConnectionString);
            Name = $"PostgreSQL database {builder.Database ?? builder.Username} on {builder.Host}:{builder.Port}";
            _connectionString = builder.ConnectionString;
        }
        else
        {
            FilePath = System.IO.Path.GetFullPath(options.Path);
            Name = FilePath;
            _connectionString = new SqliteConnectionStringBuilder
            {
                DataSource = FilePath,
                Mode = SqliteOpenMode.ReadWriteCreate,
                Cache = SqliteCacheMode.Private,
                DefaultTimeout = 30, // seconds a command waits on a locked database before failing
                Pooling = true,
            }.ToString();
        }
    }

    /// <summary>A PostgreSQL database (an Npgsql connection string).</summary>
    public static Database Postgres(string connectionString) =>
        new(new StorageOptions { Provider = StorageProvider.Postgres, ConnectionString = connectionString });

    public StorageProvider Provider { get; }

    /// <summary>The SQLite file; null on PostgreSQL.</summary>
    public string? FilePath { get; }

    /// <summary>How logs and the command line name the database: the SQLite file, or PostgreSQL's database, host and port (never the password).</summary>
    public string Name { get; }

    /// <summary>The connection string, for the parts that open their own connections (Quartz, the leader lock). It may hold a password: never log it.</summary>
    internal string ConnectionString => _connectionString;

    public async Task<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        if (Provider == StorageProvider.Postgres)
        {
            var postgres = new NpgsqlConnection(_connectionString);
            try
            {
                await postgres.OpenAsync(cancellationToken);
                return postgres;
            }
            catch
            {
                await postgres.DisposeAsync();
                throw;
            }
        }
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
            // SQLite: Serializable is BEGIN IMMEDIATE. PostgreSQL: READ COMMITTED under the write lock (the class comment).
            var isolation = Provider == StorageProvider.Postgres ? IsolationLevel.ReadCommitted : IsolationLevel.Serializable;
            await using var transaction = await connection.BeginTransactionAsync(isolation, cancellationToken);
            var tx = new Tx(connection, transaction, cancellationToken);
            if (Provider == StorageProvider.Postgres)
                await tx.ExecuteAsync("SELECT pg_advisory_xact_lock(@key)", new { key = WriteLockKey });
            if (_fence is not null)
                await _fence.CheckAsync(tx);
            var result = await work(tx);
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

/// <summary>
/// Checked at the start of every write transaction, after the write lock is taken: throws to refuse the write. The
/// active/standby leadership (Hosting/Leadership.cs) uses it so that an instance that lost the lead writes nothing more.
/// </summary>
public interface IWriteFence
{
    Task CheckAsync(Tx tx);
}

/// <summary>A connection and, for writes, its transaction: what every SQL statement runs in.</summary>
public sealed record Tx(DbConnection Connection, DbTransaction? Transaction, CancellationToken CancellationToken) : ITx
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
