using Npgsql;

namespace Doorman.Tests.Support;

public sealed class TestPostgresTests
{
    [PostgresFact]
    public async Task Creates_an_empty_writable_database_and_drops_it_on_dispose()
    {
        string database;
        await using (var postgres = await TestPostgres.CreateAsync())
        {
            database = postgres.Database;
            Assert.Matches("^doorman_t_[0-9a-f]{16}$", database);
            await using var connection = new NpgsqlConnection(postgres.ConnectionString);
            await connection.OpenAsync();
            Assert.Equal(database, connection.Database);
            Assert.Equal(0L, await ScalarAsync<long>(connection,
                "SELECT count(*) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace " +
                "WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'"));
            await using (var write = new NpgsqlCommand("CREATE TABLE t (x int); INSERT INTO t VALUES (7)", connection))
                await write.ExecuteNonQueryAsync();
            Assert.Equal(7, await ScalarAsync<int>(connection, "SELECT x FROM t"));
            // Closed at the end of this block, the connection stays open in Npgsql's pool: disposing clears the pool.
        }

        await using var server = new NpgsqlConnection(TestPostgres.Server);
        await server.OpenAsync();
        await using var exists = new NpgsqlCommand("SELECT count(*) FROM pg_database WHERE datname = @name", server);
        exists.Parameters.AddWithValue("name", database);
        Assert.Equal(0L, (long)(await exists.ExecuteScalarAsync())!);
    }

    private static async Task<T> ScalarAsync<T>(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync())!;
    }
}
