using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Dapper;
using Doorman.Homeserver;
using Doorman.Storage;
using Doorman.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit.Abstractions;

namespace Doorman.Tests.Hosting;

/// <summary>
/// <c>doorman migrate --to-postgres</c> (Hosting/MigrateToPostgres.cs, Storage/PostgresCopy.cs), run in-process as
/// an operator would: a SQLite database with rows in every table is copied into a fresh PostgreSQL database.
/// </summary>
public sealed class MigrateToPostgresTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDirectory dir = new();

    private string DatabasePath => dir.File("doorman.db");

    public void Dispose() => dir.Dispose();

    [PostgresFact]
    public async Task Copies_every_table_row_for_row_and_says_what_to_change()
    {
        var key = RandomNumberGenerator.GetBytes(CryptoStoreKey.Size);
        var sqlite = await SqliteWithEveryTableAsync(key);
        await File.WriteAllTextAsync(dir.File(CryptoKeys.FileName), Convert.ToBase64String(key) + "\n");
        await using var postgres = await TestPostgres.CreateAsync();
        var before = await TablesAsync(sqlite);
        Assert.All(before, t => Assert.NotEmpty(t.Value)); // this test gives every table rows: a new table needs some here

        var (exit, lines) = await RunAsync("migrate", "--to-postgres", postgres.ConnectionString, "--Storage:Path=" + DatabasePath);

        Assert.Equal(0, exit);
        var target = Database.Postgres(postgres.ConnectionString);
        var after = await TablesAsync(target);
        Assert.Equal(before.Keys.Order(StringComparer.Ordinal), after.Keys.Order(StringComparer.Ordinal));
        foreach (var (table, rows) in before)
            Assert.True(rows.SequenceEqual(after[table]), $"{table} differs:\nSQLite:\n{string.Join("\n", rows)}\nPostgreSQL:\n{string.Join("\n", after[table])}");
        foreach (var (table, rows) in before)
            Assert.Contains(lines, l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries) is [var name, var count] && name == table && count == rows.Count.ToString(CultureInfo.InvariantCulture));

        Assert.Contains("Storage:Provider=Postgres", lines);
        Assert.Contains(lines, l => l.StartsWith("Storage:ConnectionString=", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("Matrix:CryptoKeyFile=" + dir.File(CryptoKeys.FileName) + " ", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.Contains("Password=", StringComparison.OrdinalIgnoreCase)
            || l.Contains(postgres.ConnectionString, StringComparison.Ordinal) || l.Contains(Convert.ToBase64String(key), StringComparison.Ordinal));

        // New rows get ids past the copied ones (the largest copied id is 40, in audit).
        var newAudit = await target.WriteAsync(tx => tx.ExecuteScalarAsync<long>(
            "INSERT INTO audit (at, actor, action) VALUES (1, '@op:example.org', 'after') RETURNING id"), CancellationToken.None);
        Assert.Equal(41, newAudit);
        var newPlan = await target.WriteAsync(tx => tx.ExecuteScalarAsync<long>(
            "INSERT INTO plans (room_id, name, price_msat, created_at) VALUES ('!a:example.org', 'after', 1000, 1) RETURNING id"), CancellationToken.None);
        Assert.Equal(8, newPlan);
        var newAlert = await target.WriteAsync(tx => tx.ExecuteScalarAsync<long>(
            "INSERT INTO alerts (room_id, kind, detail, opened_at) VALUES ('!a:example.org', 'after', '', 1) RETURNING id"), CancellationToken.None);
        Assert.Equal(2, newAlert);

        // The bot's own stores read what was copied as they read it on SQLite.
        var subscriptions = new SubscriptionStore();
        Assert.Equal(
            await sqlite.ReadAsync(tx => subscriptions.GetAsync(tx, "!a:example.org", "@m:example.org"), CancellationToken.None),
            await target.ReadAsync(tx => subscriptions.GetAsync(tx, "!a:example.org", "@m:example.org"), CancellationToken.None));
        var sealedOnPostgres = new CryptoItems(target, new CryptoStoreKey(key));
        byte[] pickle = [1, 2, 3, 255];
        Assert.Equal(pickle, await sealedOnPostgres.GetAsync("account", "pickle", CancellationToken.None));
    }

    [PostgresFact]
    public async Task A_second_run_into_the_filled_database_refuses_and_changes_nothing()
    {
        var sqlite = await SqliteWithEveryTableAsync(RandomNumberGenerator.GetBytes(CryptoStoreKey.Size));
        await using var postgres = await TestPostgres.CreateAsync();
        Assert.Equal(0, (await RunAsync("migrate", "--to-postgres", postgres.ConnectionString, "--Storage:Path=" + DatabasePath)).Exit);
        var target = Database.Postgres(postgres.ConnectionString);
        var copied = await TablesAsync(target);
        await sqlite.WriteAsync(tx => tx.ExecuteAsync(
            "INSERT INTO audit (at, actor, action) VALUES (2, '@op:example.org', 'later')"), CancellationToken.None);

        var (exit, lines) = await RunAsync("migrate", "--to-postgres", postgres.ConnectionString, "--Storage:Path=" + DatabasePath);

        Assert.Equal(1, exit);
        var line = Assert.Single(lines);
        Assert.Contains("refused: the PostgreSQL database is not empty", line, StringComparison.Ordinal);
        Assert.Contains("audit: 2 rows", line, StringComparison.Ordinal);
        var now = await TablesAsync(target);
        foreach (var (table, rows) in copied)
            Assert.True(rows.SequenceEqual(now[table]), table);
    }

    [PostgresFact]
    public async Task A_target_with_only_the_schema_is_fine()
    {
        var sqlite = await SqliteWithEveryTableAsync(RandomNumberGenerator.GetBytes(CryptoStoreKey.Size));
        await using var postgres = await TestPostgres.CreateAsync();
        await new Migrator(Database.Postgres(postgres.ConnectionString), TimeProvider.System, NullLogger<Migrator>.Instance).MigrateAsync(CancellationToken.None);

        var (exit, lines) = await RunAsync("migrate", "--to-postgres", postgres.ConnectionString, "--Storage:Path=" + DatabasePath);

        Assert.Equal(0, exit);
        Assert.Contains(lines, l => l.EndsWith($": 0 migrations applied, {Migrator.Migrations(StorageProvider.Postgres).Count()} there before", StringComparison.Ordinal));
        // Without a key file or Matrix:CryptoKey, the operator is told to make a key.
        Assert.Contains(lines, l => l.StartsWith("Matrix:CryptoKey=<32 random bytes", StringComparison.Ordinal));
        var audit = await Database.Postgres(postgres.ConnectionString).ReadAsync(tx => tx.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM audit"), CancellationToken.None);
        Assert.Equal((await TablesAsync(sqlite))["audit"].Count, audit);
    }

    /// <summary>A SQLite file one migration behind (a bot stopped before an upgrade) is brought up to date first, as its next start would.</summary>
    [PostgresFact]
    public async Task A_SQLite_database_behind_is_migrated_first()
    {
        var sqlite = new Database(DatabasePath);
        var (last, _) = Migrator.Migrations().Last();
        await sqlite.WriteAsync(async tx =>
        {
            await tx.ExecuteAsync("CREATE TABLE schema_migrations (version TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)");
            foreach (var (version, sql) in Migrator.Migrations().SkipLast(1))
            {
                await tx.ExecuteAsync(sql);
                await tx.ExecuteAsync("INSERT INTO schema_migrations (version, applied_at) VALUES (@version, 1)", new { version });
            }
            await tx.ExecuteAsync("INSERT INTO cursors (name, value) VALUES ('matrix.since', 's1')");
        }, CancellationToken.None);
        await using var postgres = await TestPostgres.CreateAsync();

        var (exit, lines) = await RunAsync("migrate", "--to-postgres", postgres.ConnectionString, "--Storage:Path=" + DatabasePath);

        Assert.Equal(0, exit);
        Assert.Contains($"applied {last} to {sqlite.Name}", lines);
        Assert.Contains("cursors  1", lines.Select(l => System.Text.RegularExpressions.Regex.Replace(l, " +", "  ")));
    }

    /// <summary>Tables are read from the databases, not listed in the code: one that only SQLite has stops the copy rather than being left behind.</summary>
    [PostgresFact]
    public async Task A_table_or_column_on_one_side_only_stops_the_copy_and_commits_nothing()
    {
        var sqlite = await SqliteWithEveryTableAsync(RandomNumberGenerator.GetBytes(CryptoStoreKey.Size));
        await sqlite.WriteAsync(async tx =>
        {
            await tx.ExecuteAsync("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)");
            await tx.ExecuteAsync("ALTER TABLE gates ADD COLUMN colour TEXT");
        }, CancellationToken.None);
        await using var postgres = await TestPostgres.CreateAsync();

        var (exit, lines) = await RunAsync("migrate", "--to-postgres", postgres.ConnectionString, "--Storage:Path=" + DatabasePath);

        Assert.Equal(1, exit);
        var line = Assert.Single(lines, l => l.Contains("refused", StringComparison.Ordinal));
        Assert.Contains("table notes is in SQLite only", line, StringComparison.Ordinal);
        Assert.Contains("column gates.colour is in SQLite only", line, StringComparison.Ordinal);
        Assert.All(await TablesAsync(Database.Postgres(postgres.ConnectionString)), t => Assert.Empty(t.Value));
    }

    [Fact]
    public async Task A_target_that_cannot_be_reached_fails_with_one_line_and_no_password()
    {
        await SqliteWithEveryTableAsync(RandomNumberGenerator.GetBytes(CryptoStoreKey.Size));
        var unreachable = $"Host=127.0.0.1;Port={FreePort()};Database=doorman;Username=doorman;Password=s3cret-pw;Timeout=5";

        var (exit, lines) = await RunAsync("migrate", "--to-postgres", unreachable, "--Storage:Path=" + DatabasePath);

        Assert.Equal(1, exit);
        var line = Assert.Single(lines);
        Assert.StartsWith("doorman migrate --to-postgres: PostgreSQL database doorman on 127.0.0.1:", line, StringComparison.Ordinal);
        Assert.Contains("nothing was copied", line, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret-pw", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Refuses_when_the_bot_is_configured_for_PostgreSQL_already()
    {
        var (exit, lines) = await RunAsync("migrate", "--to-postgres", "Host=127.0.0.1;Database=doorman;Username=doorman;Password=s3cret-pw",
            "--Storage:Provider=Postgres", "--Storage:ConnectionString=Host=127.0.0.1;Database=old;Username=doorman;Password=s3cret-pw");

        Assert.Equal(2, exit);
        var line = Assert.Single(lines);
        Assert.Contains("Storage:Provider is Postgres already", line, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret-pw", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Refuses_a_SQLite_database_that_is_not_there()
    {
        var (exit, lines) = await RunAsync("migrate", "--to-postgres", "Host=127.0.0.1;Database=doorman", "--Storage:Path=" + DatabasePath);

        Assert.Equal(1, exit);
        Assert.Contains($"there is no SQLite database at {DatabasePath}", Assert.Single(lines), StringComparison.Ordinal);
        Assert.False(File.Exists(DatabasePath));
    }

    private Task<(int Exit, string[] Lines)> RunAsync(params string[] args) => CliRun.RunAsync(output, args);

    /// <summary>
    /// A migrated SQLite database with rows in every table: odd values where the types could slip (a REAL position,
    /// integers past 2^53, NULLs, non-ASCII text, a sealed blob), and ids with gaps.
    /// </summary>
    private async Task<Database> SqliteWithEveryTableAsync(byte[] cryptoKey)
    {
        var sqlite = new Database(DatabasePath);
        await new Migrator(sqlite, TimeProvider.System, NullLogger<Migrator>.Instance).MigrateAsync(CancellationToken.None);
        await sqlite.WriteAsync(tx => tx.ExecuteAsync("""
            INSERT INTO gates (room_id, room_name, enabled, grace_seconds, remind_seconds, created_by, created_at, updated_by, updated_at, trial_seconds)
            VALUES ('!a:example.org', '#a:example.org', 1, 3600, NULL, '@owner:example.org', 1700000000000, '@owner:example.org', 1700000000001, 86400),
                   ('!b:example.org', 'Zimmer „B“ ✓', 0, 0, 600, '@owner:example.org', 1700000000002, '@op:example.org', 1700000000003, NULL);
            INSERT INTO plans (id, room_id, name, price_msat, period_seconds, is_default, created_at)
            VALUES (3, '!a:example.org', 'default', 21000, 2592000, 1, 1700000000000),
                   (7, '!a:example.org', 'lifetime', 9007199254740993, NULL, 0, 1700000000001);
            INSERT INTO orders (id, room_id, user_id, plan_name, amount_msat, period_seconds, backend, reference, bolt11, payment_hash, status,
                                paid_msat, created_at, expires_at, applied_at, request_room_id, late_lookups, next_lookup_at, origin)
            VALUES ('01HZX0000000000000000000A1', '!a:example.org', '@m:example.org', 'default', 21000, 2592000, 'lnd', 'ab01', 'lnbc210n1…', 'ab01',
                    'applied', 21000, 1700000000000, 1700001800000, 1700000000500, '!dm:example.org', 0, NULL, 'command'),
                   ('01HZX0000000000000000000B2', '!a:example.org', '@n:example.org', 'lifetime', 9007199254740993, NULL, 'btcpay', 'inv-1', 'lnbc…', 'cd02',
                    'expired', NULL, 1700000000000, 1700001800000, NULL, NULL, 3, 1700009000000, 'knock');
            INSERT INTO subscriptions (room_id, user_id, expires_at, source, reminded_at, expired_at, created_at, updated_at, plan_name, period_seconds,
                                       remind_at, reminders_off, ended_at)
            VALUES ('!a:example.org', '@m:example.org', 1702592000000, 'paid', NULL, NULL, 1700000000000, 1700000000000, 'default', 2592000, 1702505600000, 1, NULL),
                   ('!a:example.org', '@g:example.org', NULL, 'grant', NULL, NULL, 1700000000000, 1700000000000, NULL, NULL, NULL, 0, NULL),
                   ('!b:example.org', '@t:example.org', 1700086400000, 'trial', 1700080000000, 1700086400001, 1700000000000, 1700086400001, NULL, 86400, NULL, 0, 1700086400002);
            INSERT INTO exemptions (room_id, user_id, created_by, created_at) VALUES ('!a:example.org', '@friend:example.org', '@owner:example.org', 1700000000000);
            INSERT INTO membership_actions (id, room_id, user_id, action, reason, cause, status, attempts, next_attempt_at, last_error, created_at, updated_at,
                                            reported_at, power_changed_at)
            VALUES (1, '!a:example.org', '@m:example.org', 'invite', NULL, 'order:01HZX0000000000000000000A1', 'done', 1, 1700000000500, NULL, 1700000000500, 1700000000600, NULL, NULL),
                   (5, '!b:example.org', '@t:example.org', 'kick', 'time is up', 'sweep', 'awaiting_power', 4, 1700090000000, 'M_FORBIDDEN: no power', 1700086400001, 1700090000000, 1700086500000, 1700089000000);
            INSERT INTO outgoing_messages (id, room_id, user_id, txn_id, kind, content, status, attempts, next_attempt_at, last_error, event_id, created_at, updated_at)
            VALUES (2, '!dm:example.org', '@m:example.org', 'txn-2', 'message', '{"msgtype":"m.text","body":"Welcome ✓"}', 'sent', 1, 1700000000600, NULL, '$e2', 1700000000600, 1700000000700),
                   (9, NULL, '@n:example.org', 'txn-9', 'qr', '{"data":"lightning:lnbc…","body":"pay"}', 'pending', 0, 1700000000800, NULL, NULL, 1700000000800, 1700000000800);
            INSERT INTO inbox (id, room_id, position, kind, event_id, payload, status, attempts, next_attempt_at, last_error, created_at, updated_at)
            VALUES (4, '!dm:example.org', 4, 'event', '$in4', '{"type":"m.room.message"}', 'done', 1, 1700000000000, NULL, 1700000000000, 1700000000001),
                   (6, '!dm:example.org', 4.5, 'gap', NULL, '{"from":"s1","to":"s2"}', 'quarantined', 4, 1700000000000, 'gave up', 1700000000000, 1700000000002);
            INSERT INTO handled_events (event_id, room_id, handled_at) VALUES ('$h1', '!a:example.org', 1700000000000);
            INSERT INTO dm_rooms (room_id, user_id, created_at, left_at)
            VALUES ('!dm:example.org', '@m:example.org', 1700000000000, NULL), ('!old:example.org', '@m:example.org', 1690000000000, 1695000000000);
            INSERT INTO cursors (name, value) VALUES ('matrix.since', 's123_456'), ('payments.state.lnd.settle_index', '42'), ('empty', NULL);
            INSERT INTO audit (id, at, actor, room_id, action, detail)
            VALUES (1, 1700000000000, '@owner:example.org', '!a:example.org', 'gate.set', '21 sats per 30d'),
                   (40, 1700000000001, '@op:example.org', NULL, 'grant', NULL);
            INSERT INTO alerts (id, room_id, kind, detail, opened_at, resolved_at) VALUES (1, '!b:example.org', 'power', 'needs 50', 1700086500000, NULL);
            INSERT INTO trials (room_id, user_id, started_at) VALUES ('!b:example.org', '@t:example.org', 1700000000000);
            INSERT INTO webhook_deliveries (delivery_id, received_at) VALUES ('wh-1', 1700000000000);
            """), CancellationToken.None);
        // Sealed through the bot's own store: the PostgreSQL side must open it with the same key.
        await new CryptoItems(sqlite, new CryptoStoreKey(cryptoKey)).PutAsync("account", "pickle", [1, 2, 3, 255], CancellationToken.None);
        return sqlite;
    }

    /// <summary>Every table but <c>schema_migrations</c>, each row as one line of its values by column name, the lines sorted.</summary>
    private static async Task<Dictionary<string, List<string>>> TablesAsync(Database database)
    {
        await using var connection = await database.OpenAsync(CancellationToken.None);
        var tables = database.Provider == StorageProvider.Sqlite
            ? await connection.QueryAsync<string>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%' AND name <> 'schema_migrations'")
            : await connection.QueryAsync<string>("SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_name <> 'schema_migrations'");
        var result = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var table in tables)
        {
            await using var command = connection.CreateCommand();
            command.CommandText = $"SELECT * FROM {table}";
            await using var reader = await command.ExecuteReaderAsync();
            var rows = new List<string>();
            while (await reader.ReadAsync())
            {
                var values = Enumerable.Range(0, reader.FieldCount)
                    .OrderBy(reader.GetName, StringComparer.Ordinal)
                    .Select(i => reader.GetName(i) + "=" + reader.GetValue(i) switch
                    {
                        DBNull => "NULL",
                        long number => "i" + number.ToString(CultureInfo.InvariantCulture),
                        double real => "r" + real.ToString("R", CultureInfo.InvariantCulture),
                        string text => "t" + System.Text.Json.JsonSerializer.Serialize(text),
                        byte[] bytes => "b" + Convert.ToHexString(bytes),
                        var other => throw new InvalidOperationException($"{table}: a {other.GetType().Name}"),
                    });
                rows.Add(string.Join(" ", values));
            }
            rows.Sort(StringComparer.Ordinal);
            result[table] = rows;
        }
        return result;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
