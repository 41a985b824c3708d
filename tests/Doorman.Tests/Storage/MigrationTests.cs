using Dapper;
using Doorman.Storage;
using Doorman.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace Doorman.Tests.Storage;

public sealed class MigrationTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task An_empty_file_gets_every_table_and_its_folder()
    {
        var path = Path.Combine(_dir.Path, "nested", "folder", "doorman.db");
        var database = new Database(path);
        await new Migrator(database, TimeProvider.System, NullLogger<Migrator>.Instance).MigrateAsync(CancellationToken.None);

        Assert.True(File.Exists(path));
        await using var connection = await database.OpenAsync(CancellationToken.None);
        var tables = (await connection.QueryAsync<string>("SELECT name FROM sqlite_master WHERE type = 'table'")).ToHashSet();
        foreach (var table in new[] { "gates", "plans", "orders", "subscriptions", "exemptions", "membership_actions",
                     "outgoing_messages", "handled_events", "dm_rooms", "inbox", "cursors", "audit", "schema_migrations" })
            Assert.Contains(table, tables);
        Assert.Equal("wal", await connection.ExecuteScalarAsync<string>("PRAGMA journal_mode"));
    }

    [Fact]
    public async Task Migrating_twice_applies_each_migration_once()
    {
        var database = new Database(_dir.File("doorman.db"));
        var migrator = new Migrator(database, TimeProvider.System, NullLogger<Migrator>.Instance);
        await migrator.MigrateAsync(CancellationToken.None);
        await migrator.MigrateAsync(CancellationToken.None);

        await using var connection = await database.OpenAsync(CancellationToken.None);
        var applied = (await connection.QueryAsync<string>("SELECT version FROM schema_migrations ORDER BY version")).ToList();
        Assert.Equal(Migrator.Migrations().Select(m => m.Version).ToList(), applied);
    }

    [Fact]
    public async Task Data_survives_a_second_migration_run()
    {
        var database = new Database(_dir.File("doorman.db"));
        var migrator = new Migrator(database, TimeProvider.System, NullLogger<Migrator>.Instance);
        await migrator.MigrateAsync(CancellationToken.None);
        await database.WriteAsync(tx => new Cursors().SetAsync(tx, "x", "42"), CancellationToken.None);
        await migrator.MigrateAsync(CancellationToken.None);
        Assert.Equal("42", await database.ReadAsync(tx => new Cursors().GetAsync(tx, "x"), CancellationToken.None));
    }

    [Fact]
    public async Task Membership_actions_from_before_the_awaiting_power_migration_survive_its_table_rebuild()
    {
        var database = new Database(_dir.File("doorman.db"));
        // The database as an older bot left it: every migration before 0004, and an outbox row.
        await using (var connection = await database.OpenAsync(CancellationToken.None))
        {
            await connection.ExecuteAsync("CREATE TABLE schema_migrations (version TEXT PRIMARY KEY, applied_at INTEGER NOT NULL);");
            foreach (var (version, sql) in Migrator.Migrations().Where(m => string.CompareOrdinal(m.Version, "0004") < 0))
            {
                await connection.ExecuteAsync(sql);
                await connection.ExecuteAsync("INSERT INTO schema_migrations VALUES (@version, 0)", new { version });
            }
            await connection.ExecuteAsync(
                """
                INSERT INTO membership_actions (id, room_id, user_id, action, reason, cause, status, attempts, next_attempt_at, last_error, created_at, updated_at)
                VALUES (7, '!room:localhost', '@member:localhost', 'invite', NULL, 'order:1', 'failed', 3, 10, 'no power', 1, 2)
                """);
        }

        await new Migrator(database, TimeProvider.System, NullLogger<Migrator>.Instance).MigrateAsync(CancellationToken.None);

        await using var after = await database.OpenAsync(CancellationToken.None);
        var row = await after.QuerySingleAsync<(long Id, string Status, long Attempts, string LastError, long? ReportedAt)>(
            "SELECT id, status, attempts, last_error, reported_at FROM membership_actions");
        Assert.Equal((7L, "failed", 3L, "no power", (long?)null), row);
        // The new status is allowed now, and the due index is back.
        await after.ExecuteAsync("UPDATE membership_actions SET status = 'awaiting_power' WHERE id = 7");
        Assert.Equal(1, await after.ExecuteScalarAsync<long>(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = 'membership_actions_due'"));
    }

    [Fact]
    public async Task Outgoing_messages_from_before_the_file_migration_survive_its_table_rebuild()
    {
        var database = new Database(_dir.File("doorman.db"));
        // The database as an older bot left it: every migration before 0007, a sent message and a pending QR code.
        const string Indexes = "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'outgoing_messages' AND sql IS NOT NULL ORDER BY name";
        List<(string Name, string Sql)> indexesBefore;
        await using (var connection = await database.OpenAsync(CancellationToken.None))
        {
            await connection.ExecuteAsync("CREATE TABLE schema_migrations (version TEXT PRIMARY KEY, applied_at INTEGER NOT NULL);");
            foreach (var (version, sql) in Migrator.Migrations().Where(m => string.CompareOrdinal(m.Version, "0007") < 0))
            {
                await connection.ExecuteAsync(sql);
                await connection.ExecuteAsync("INSERT INTO schema_migrations VALUES (@version, 0)", new { version });
            }
            await connection.ExecuteAsync(
                """
                INSERT INTO outgoing_messages (id, room_id, user_id, txn_id, kind, content, status, attempts, next_attempt_at, last_error, event_id, created_at, updated_at)
                VALUES (3, '!room:localhost', NULL, 'doorman.a', 'message', '{"msgtype":"m.notice","body":"hi"}', 'sent', 1, 10, NULL, '$sent', 1, 2),
                       (4, NULL, '@member:localhost', 'doorman.b', 'qr', '{"data":"lightning:x","body":"QR"}', 'pending', 2, 20, 'timeout', NULL, 3, 4)
                """);
            indexesBefore = (await connection.QueryAsync<(string, string)>(Indexes)).ToList();
        }

        await new Migrator(database, TimeProvider.System, NullLogger<Migrator>.Instance).MigrateAsync(CancellationToken.None);

        await using var after = await database.OpenAsync(CancellationToken.None);
        var rows = (await after.QueryAsync<(long Id, string? RoomId, string? UserId, string TxnId, string Kind, string Status, long Attempts, string? LastError, string? EventId, long NextAttemptAt)>(
            "SELECT id, room_id, user_id, txn_id, kind, status, attempts, last_error, event_id, next_attempt_at FROM outgoing_messages ORDER BY id")).ToList();
        Assert.Equal(
            [(3L, "!room:localhost", null, "doorman.a", "message", "sent", 1L, null, "$sent", 10L), (4L, null, "@member:localhost", "doorman.b", "qr", "pending", 2L, "timeout", null, 20L)],
            rows);
        Assert.Equal("""{"data":"lightning:x","body":"QR"}""", await after.ExecuteScalarAsync<string>("SELECT content FROM outgoing_messages WHERE id = 4"));
        // The new kind is allowed now, the others still checked, and the table's indexes are back.
        await after.ExecuteAsync(
            "INSERT INTO outgoing_messages (room_id, txn_id, kind, content, status, next_attempt_at, created_at, updated_at) VALUES ('!room:localhost', 'doorman.c', 'file', '{}', 'pending', 0, 0, 0)");
        await Assert.ThrowsAsync<Microsoft.Data.Sqlite.SqliteException>(() => after.ExecuteAsync(
            "INSERT INTO outgoing_messages (room_id, txn_id, kind, content, status, next_attempt_at, created_at, updated_at) VALUES ('!room:localhost', 'doorman.d', 'video', '{}', 'pending', 0, 0, 0)"));
        await Assert.ThrowsAsync<Microsoft.Data.Sqlite.SqliteException>(() => after.ExecuteAsync(
            "INSERT INTO outgoing_messages (room_id, txn_id, kind, content, status, next_attempt_at, created_at, updated_at) VALUES ('!room:localhost', 'doorman.a', 'file', '{}', 'pending', 0, 0, 0)"));
        Assert.Equal(["outgoing_messages_due", "outgoing_messages_finished"], indexesBefore.Select(i => i.Name));
        Assert.Equal(indexesBefore, (await after.QueryAsync<(string, string)>(Indexes)).ToList());
    }

    [Fact]
    public async Task Subscriptions_from_before_the_command_set_keep_their_time_and_get_their_reminder_and_plan()
    {
        var database = new Database(_dir.File("doorman.db"));
        // The database as an older bot left it: every migration before 0006, a 30-day gate (its lead, 3 days, written by
        // `set`) and a paid subscription.
        await using (var connection = await database.OpenAsync(CancellationToken.None))
        {
            await connection.ExecuteAsync("CREATE TABLE schema_migrations (version TEXT PRIMARY KEY, applied_at INTEGER NOT NULL);");
            foreach (var (version, sql) in Migrator.Migrations().Where(m => string.CompareOrdinal(m.Version, "0006") < 0))
            {
                await connection.ExecuteAsync(sql);
                await connection.ExecuteAsync("INSERT INTO schema_migrations VALUES (@version, 0)", new { version });
            }
            await connection.ExecuteAsync(
                """
                INSERT INTO gates (room_id, room_name, enabled, grace_seconds, remind_seconds, created_by, created_at, updated_by, updated_at)
                VALUES ('!room:localhost', '#vip:localhost', 1, 0, 259200, '@owner:localhost', 1, '@owner:localhost', 1);
                INSERT INTO plans (room_id, name, price_msat, period_seconds, is_default, created_at) VALUES ('!room:localhost', 'default', 1000000, 2592000, 1, 1);
                INSERT INTO subscriptions (room_id, user_id, expires_at, source, reminded_at, expired_at, created_at, updated_at)
                VALUES ('!room:localhost', '@member:localhost', 1000000000, 'paid', NULL, NULL, 5, 6);
                """);
        }

        await new Migrator(database, TimeProvider.System, NullLogger<Migrator>.Instance).MigrateAsync(CancellationToken.None);

        await using var after = await database.OpenAsync(CancellationToken.None);
        var row = await after.QuerySingleAsync<(long ExpiresAt, string Source, string Plan, long Period, long RemindAt, long CreatedAt)>(
            "SELECT expires_at, source, plan_name, period_seconds, remind_at, created_at FROM subscriptions");
        Assert.Equal((1_000_000_000L, "paid", "default", 2_592_000L, 1_000_000_000L - 259_200_000L, 5L), row);
        // The owner chose no lead: the default rule applies from now on.
        Assert.Null(await after.ExecuteScalarAsync<long?>("SELECT remind_seconds FROM gates"));
        await after.ExecuteAsync("UPDATE subscriptions SET source = 'trial'");
        Assert.Equal(1, await after.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = 'subscriptions_due'"));
    }

    [Fact]
    public async Task The_crypto_store_migration_adds_its_table_to_an_older_database_and_keeps_its_data()
    {
        var database = new Database(_dir.File("doorman.db"));
        // The database as a bot without end-to-end encryption left it: every migration before 0008, and a sync token.
        await using (var connection = await database.OpenAsync(CancellationToken.None))
        {
            await connection.ExecuteAsync("CREATE TABLE schema_migrations (version TEXT PRIMARY KEY, applied_at INTEGER NOT NULL);");
            foreach (var (version, sql) in Migrator.Migrations().Where(m => string.CompareOrdinal(m.Version, "0008") < 0))
            {
                await connection.ExecuteAsync(sql);
                await connection.ExecuteAsync("INSERT INTO schema_migrations VALUES (@version, 0)", new { version });
            }
        }
        await database.WriteAsync(tx => new Cursors().SetAsync(tx, "sync", "s42"), CancellationToken.None);

        await new Migrator(database, TimeProvider.System, NullLogger<Migrator>.Instance).MigrateAsync(CancellationToken.None);

        Assert.Equal("s42", await database.ReadAsync(tx => new Cursors().GetAsync(tx, "sync"), CancellationToken.None));
        await using var after = await database.OpenAsync(CancellationToken.None);
        Assert.Contains(await after.QueryAsync<string>("SELECT version FROM schema_migrations"), v => v.StartsWith("0008", StringComparison.Ordinal));
        await after.ExecuteAsync("INSERT INTO crypto_items (kind, key, value) VALUES ('olm', 'a%b|1', x'01')");
        // One value per (kind, key); the same key under another kind is another value.
        await after.ExecuteAsync("INSERT INTO crypto_items (kind, key, value) VALUES ('inbound', 'a%b|1', x'02')");
        await Assert.ThrowsAsync<Microsoft.Data.Sqlite.SqliteException>(() => after.ExecuteAsync(
            "INSERT INTO crypto_items (kind, key, value) VALUES ('olm', 'a%b|1', x'03')"));
        await Assert.ThrowsAsync<Microsoft.Data.Sqlite.SqliteException>(() => after.ExecuteAsync(
            "INSERT INTO crypto_items (kind, key, value) VALUES ('olm', 'no value', NULL)"));
        Assert.Equal(2, await after.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM crypto_items"));
    }
}
