using Dapper;
using Microsoft.Data.Sqlite;
using Npgsql;
using NpgsqlTypes;

namespace Doorman.Storage;

/// <summary>How many rows one table had and got.</summary>
public sealed record TableCopy(string Table, long Rows);

/// <summary>What <see cref="PostgresCopy"/> copied: every table, in the order it was copied.</summary>
public sealed record PostgresCopyResult(IReadOnlyList<TableCopy> Tables)
{
    public long Rows => Tables.Sum(t => t.Rows);
}

/// <summary>The copy cannot be made, or did not come out whole; nothing was committed. The message says why, without secrets.</summary>
public sealed class PostgresCopyException(string message) : Exception(message);

/// <summary>
/// Copies a SQLite database into an empty PostgreSQL database (<c>doorman migrate --to-postgres</c>, README "Command
/// line"). Both must be at the same migration: the tables are not listed here but read from the databases themselves
/// (SQLite's <c>sqlite_master</c>, PostgreSQL's <c>information_schema</c>), so a table a future migration adds is
/// copied too, and a table or column that only one side has stops the copy. Columns are matched by name, not by
/// position: SQLite's migrations rebuild tables where PostgreSQL's alter them, so the orders differ.
/// <para>
/// Everything is written in one PostgreSQL transaction that holds the bot's write lock (<see cref="Database.WriteLockKey"/>),
/// through binary COPY (https://www.npgsql.org/doc/copy.html), and the row counts are compared table by table before
/// it commits: either the whole database arrives or nothing does.
/// </para>
/// </summary>
public static class PostgresCopy
{
    /// <summary>
    /// The tables of <paramref name="target"/> that already hold rows, with their counts (empty when it holds none):
    /// every table of its current schema but <c>schema_migrations</c>. Works before the target has any tables.
    /// </summary>
    public static Task<IReadOnlyList<TableCopy>> RowsInTargetAsync(Database target, CancellationToken cancellationToken) =>
        target.ReadAsync(async tx => await NonEmptyAsync((NpgsqlConnection)tx.Connection, cancellationToken), cancellationToken);

    /// <summary>Copies every table of <paramref name="source"/> into <paramref name="target"/>, which must hold no rows yet.</summary>
    public static async Task<PostgresCopyResult> CopyAsync(Database source, Database target, CancellationToken cancellationToken)
    {
        if (source.Provider != StorageProvider.Sqlite || target.Provider != StorageProvider.Postgres)
            throw new ArgumentException("the copy goes from SQLite to PostgreSQL");

        await using var sqlite = (SqliteConnection)await source.OpenAsync(cancellationToken);
        // One read transaction: every table is read from the same snapshot (https://www.sqlite.org/isolation.html).
        await using var snapshot = sqlite.BeginTransaction(deferred: true);
        var sourceTables = await SqliteTablesAsync(sqlite, snapshot);

        // WriteAsync takes pg_advisory_xact_lock(WriteLockKey) first, so no bot writes beside the copy.
        return await target.WriteAsync(async tx =>
        {
            var postgres = (NpgsqlConnection)tx.Connection;
            if (await NonEmptyAsync(postgres, cancellationToken) is { Count: > 0 } full)
                throw new PostgresCopyException(NotEmpty(full));
            var targetTables = await PostgresTablesAsync(postgres, cancellationToken);
            Compare(sourceTables, targetTables);

            var copied = new List<TableCopy>();
            foreach (var table in await InsertOrderAsync(postgres, targetTables.Keys, cancellationToken))
            {
                var columns = targetTables[table];
                var rows = await CopyTableAsync(sqlite, snapshot, postgres, table, columns, cancellationToken);
                var expected = await sqlite.ExecuteScalarAsync<long>($"SELECT COUNT(*) FROM {Quote(table)}", transaction: snapshot);
                var arrived = await tx.ExecuteScalarAsync<long>($"SELECT COUNT(*) FROM {Quote(table)}");
                if (rows != expected || arrived != expected)
                    throw new PostgresCopyException($"table {table}: SQLite has {expected} rows, {rows} were read and PostgreSQL has {arrived}; nothing was committed");
                copied.Add(new TableCopy(table, arrived));
            }
            await AdvanceIdentitiesAsync(tx, postgres, cancellationToken);
            return new PostgresCopyResult(copied);
        }, cancellationToken);
    }

    /// <summary>A column of the target and the PostgreSQL type its values are written as.</summary>
    private sealed record Column(string Name, string Type);

    private static async Task<Dictionary<string, List<string>>> SqliteTablesAsync(SqliteConnection sqlite, SqliteTransaction snapshot)
    {
        var tables = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        var names = await sqlite.QueryAsync<string>(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name <> 'schema_migrations' ORDER BY name",
            transaction: snapshot);
        foreach (var name in names)
            tables[name] = [.. await sqlite.QueryAsync<string>("SELECT name FROM pragma_table_info(@name) ORDER BY cid", new { name }, snapshot)];
        return tables;
    }

    private static async Task<Dictionary<string, List<Column>>> PostgresTablesAsync(NpgsqlConnection postgres, CancellationToken cancellationToken)
    {
        var rows = await postgres.QueryAsync<(string Table, string Column, string Type)>(new CommandDefinition("""
            SELECT c.table_name, c.column_name, c.data_type
            FROM information_schema.columns c
            JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
            WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE' AND c.table_name <> 'schema_migrations'
            ORDER BY c.table_name, c.ordinal_position
            """, cancellationToken: cancellationToken));
        return rows.GroupBy(r => r.Table, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Select(r => new Column(r.Column, r.Type)).ToList(), StringComparer.Ordinal);
    }

    /// <summary>Both sides must have the same tables with the same columns (in any order): anything else is a schema this copy does not understand.</summary>
    private static void Compare(Dictionary<string, List<string>> source, Dictionary<string, List<Column>> target)
    {
        var problems = new List<string>();
        foreach (var table in source.Keys.Except(target.Keys).Order(StringComparer.Ordinal))
            problems.Add($"table {table} is in SQLite only");
        foreach (var table in target.Keys.Except(source.Keys).Order(StringComparer.Ordinal))
            problems.Add($"table {table} is in PostgreSQL only");
        foreach (var table in source.Keys.Intersect(target.Keys).Order(StringComparer.Ordinal))
        {
            var targetColumns = target[table].Select(c => c.Name).ToList();
            foreach (var column in source[table].Except(targetColumns))
                problems.Add($"column {table}.{column} is in SQLite only");
            foreach (var column in targetColumns.Except(source[table]))
                problems.Add($"column {table}.{column} is in PostgreSQL only");
            foreach (var column in target[table].Where(c => !Writers.ContainsKey(c.Type)))
                problems.Add($"column {table}.{column.Name} has PostgreSQL type {column.Type}, which the copy does not know");
        }
        if (problems.Count > 0)
            throw new PostgresCopyException("the two databases' schemas differ: " + string.Join("; ", problems));
    }

    /// <summary>
    /// The tables in an order that inserts every row after the rows its foreign keys point at (plans after gates):
    /// the constraints are checked per statement (https://www.postgresql.org/docs/15/sql-set-constraints.html).
    /// </summary>
    private static async Task<List<string>> InsertOrderAsync(NpgsqlConnection postgres, IEnumerable<string> tables, CancellationToken cancellationToken)
    {
        var references = (await postgres.QueryAsync<(string Table, string Parent)>(new CommandDefinition("""
            SELECT child.relname, parent.relname
            FROM pg_constraint c
            JOIN pg_class child ON child.oid = c.conrelid
            JOIN pg_class parent ON parent.oid = c.confrelid
            JOIN pg_namespace n ON n.oid = child.relnamespace
            WHERE c.contype = 'f' AND n.nspname = current_schema() AND child.oid <> parent.oid
            """, cancellationToken: cancellationToken))).ToLookup(r => r.Table, r => r.Parent, StringComparer.Ordinal);
        var order = new List<string>();
        var visiting = new HashSet<string>(StringComparer.Ordinal);
        void Visit(string table)
        {
            if (order.Contains(table, StringComparer.Ordinal) || !visiting.Add(table))
                return; // done, or a cycle (none in our schema): the insert will name the failing key
            foreach (var parent in references[table].Order(StringComparer.Ordinal))
                Visit(parent);
            order.Add(table);
        }
        foreach (var table in tables.Order(StringComparer.Ordinal))
            Visit(table);
        return order;
    }

    /// <summary>One table through binary COPY, its rows streamed from SQLite; returns how many were written.</summary>
    private static async Task<long> CopyTableAsync(SqliteConnection sqlite, SqliteTransaction snapshot, NpgsqlConnection postgres,
        string table, List<Column> columns, CancellationToken cancellationToken)
    {
        var names = string.Join(", ", columns.Select(c => Quote(c.Name)));
        await using var read = sqlite.CreateCommand();
        read.Transaction = snapshot;
        read.CommandText = $"SELECT {names} FROM {Quote(table)}";
        await using var reader = await read.ExecuteReaderAsync(cancellationToken);
        // COPY … FROM STDIN (FORMAT BINARY) runs inside the open transaction: https://www.postgresql.org/docs/15/sql-copy.html
        await using var import = await postgres.BeginBinaryImportAsync($"COPY {Quote(table)} ({names}) FROM STDIN (FORMAT BINARY)", cancellationToken);
        long rows = 0;
        while (await reader.ReadAsync(cancellationToken))
        {
            await import.StartRowAsync(cancellationToken);
            for (var i = 0; i < columns.Count; i++)
            {
                var value = reader.GetValue(i);
                if (value is DBNull)
                    await import.WriteNullAsync(cancellationToken);
                else
                    await Writers[columns[i].Type](import, value, table, columns[i].Name, cancellationToken);
            }
            rows++;
        }
        await import.CompleteAsync(cancellationToken);
        return rows;
    }

    private delegate Task Writer(NpgsqlBinaryImporter import, object value, string table, string column, CancellationToken cancellationToken);

    /// <summary>
    /// SQLite's storage classes (https://www.sqlite.org/datatype3.html: INTEGER, REAL, TEXT, BLOB, as
    /// Microsoft.Data.Sqlite returns them: long, double, string, byte[]) into the types of PostgreSQL's migrations.
    /// A value of another class is refused rather than converted: it would be a row the bot never wrote.
    /// </summary>
    private static readonly Dictionary<string, Writer> Writers = new(StringComparer.Ordinal)
    {
        ["bigint"] = (import, value, table, column, ct) => value is long number
            ? import.WriteAsync(number, NpgsqlDbType.Bigint, ct)
            : throw Unexpected(value, table, column, "an integer"),
        ["double precision"] = (import, value, table, column, ct) => value switch
        {
            double real => import.WriteAsync(real, NpgsqlDbType.Double, ct),
            long number => import.WriteAsync((double)number, NpgsqlDbType.Double, ct),
            _ => throw Unexpected(value, table, column, "a number"),
        },
        ["text"] = (import, value, table, column, ct) => value is string text
            ? import.WriteAsync(text, NpgsqlDbType.Text, ct)
            : throw Unexpected(value, table, column, "text"),
        ["bytea"] = (import, value, table, column, ct) => value is byte[] bytes
            ? import.WriteAsync(bytes, NpgsqlDbType.Bytea, ct)
            : throw Unexpected(value, table, column, "a blob"),
    };

    // The value itself is not shown: it may be a secret (a stored token, a sealed key).
    private static PostgresCopyException Unexpected(object value, string table, string column, string expected) =>
        new($"column {table}.{column} holds a {value.GetType().Name} where PostgreSQL expects {expected}; nothing was committed");

    /// <summary>
    /// Identity columns were written with their SQLite ids; their sequences still stand at 1, so each is set past the
    /// largest id copied (https://www.postgresql.org/docs/15/functions-sequence.html): the next row gets the next id.
    /// </summary>
    private static async Task AdvanceIdentitiesAsync(Tx tx, NpgsqlConnection postgres, CancellationToken cancellationToken)
    {
        var identities = await postgres.QueryAsync<(string Table, string Column)>(new CommandDefinition("""
            SELECT table_name, column_name FROM information_schema.columns
            WHERE table_schema = current_schema() AND is_identity = 'YES' ORDER BY table_name
            """, cancellationToken: cancellationToken));
        foreach (var (table, column) in identities)
        {
            await tx.ExecuteAsync(
                $"SELECT setval(pg_get_serial_sequence(@table, @column), GREATEST(MAX({Quote(column)}), 1), MAX({Quote(column)}) IS NOT NULL) FROM {Quote(table)}",
                new { table = Quote(table), column });
        }
    }

    private static async Task<IReadOnlyList<TableCopy>> NonEmptyAsync(NpgsqlConnection postgres, CancellationToken cancellationToken)
    {
        var tables = await postgres.QueryAsync<string>(new CommandDefinition("""
            SELECT table_name FROM information_schema.tables
            WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name <> 'schema_migrations'
            ORDER BY table_name
            """, cancellationToken: cancellationToken));
        var full = new List<TableCopy>();
        foreach (var table in tables)
        {
            var rows = await postgres.ExecuteScalarAsync<long>(new CommandDefinition($"SELECT COUNT(*) FROM {Quote(table)}", cancellationToken: cancellationToken));
            if (rows > 0)
                full.Add(new TableCopy(table, rows));
        }
        return full;
    }

    /// <summary>The refusal for a target that holds rows.</summary>
    public static string NotEmpty(IReadOnlyList<TableCopy> full) =>
        "the PostgreSQL database is not empty (" + string.Join(", ", full.Select(t => $"{t.Table}: {t.Rows} rows"))
        + "); give an empty database (one with only Doorman's tables is fine)";

    /// <summary>A table or column name as an SQL identifier, on either database.</summary>
    private static string Quote(string name) => "\"" + name.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
}
