using System.Security.Cryptography;
using System.Text;
using Dapper;
using Doorman.Storage;
using Doorman.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace Doorman.Tests.Storage;

/// <summary>The sealed end-to-end encryption store (Storage/CryptoItems.cs) on a real SQLite file, or PostgreSQL (<see cref="TestStorage"/>).</summary>
public sealed class CryptoItemsTests : IAsyncLifetime
{
    private readonly TempDirectory _dir = new();
    private readonly CryptoStoreKey _key = new(RandomNumberGenerator.GetBytes(CryptoStoreKey.Size));
    private Database _database = null!;
    private IAsyncDisposable _drop = null!;

    public async Task InitializeAsync() => (_database, _drop) = await TestStorage.DatabaseAsync(_dir.File("doorman.db"));

    public async Task DisposeAsync()
    {
        await _drop.DisposeAsync();
        _dir.Dispose();
    }

    private Task<Database> DatabaseAsync() => Task.FromResult(_database);

    /// <summary>Another <see cref="Database"/> over the same data, as a restarted bot opens it.</summary>
    private Database Reopened() => _database.FilePath is { } path ? new Database(path) : Database.Postgres(_database.ConnectionString);

    [Fact]
    public async Task A_value_reads_back_as_written_and_a_second_write_replaces_it()
    {
        var database = await DatabaseAsync();
        var store = new CryptoItems(database, _key);
        await store.PutAsync("olm", "key", [1, 2, 3], CancellationToken.None);
        Assert.Equal([1, 2, 3], await store.GetAsync("olm", "key", CancellationToken.None));

        await store.PutAsync("olm", "key", [4], CancellationToken.None);
        // A second store over the same file (a restart) reads what the first wrote.
        Assert.Equal([4], await new CryptoItems(Reopened(), _key).GetAsync("olm", "key", CancellationToken.None));
        Assert.Null(await store.GetAsync("olm", "other", CancellationToken.None));
        Assert.Null(await store.GetAsync("inbound", "key", CancellationToken.None));
    }

    [Fact]
    public async Task The_file_does_not_hold_the_plaintext()
    {
        var database = new Database(_dir.File("plain.db"));
        await new Migrator(database, TimeProvider.System, NullLogger<Migrator>.Instance).MigrateAsync(CancellationToken.None);
        var secret = Encoding.UTF8.GetBytes("{\"private_key\":\"this-is-the-secret-private-key\"}");
        await new CryptoItems(database, _key).PutAsync("identity", "", secret, CancellationToken.None);

        await using var connection = await database.OpenAsync(CancellationToken.None);
        var stored = await connection.QuerySingleAsync<byte[]>("SELECT value FROM crypto_items WHERE kind = 'identity' AND key = ''");
        Assert.True(stored.Length > secret.Length);
        Assert.Equal(-1, stored.AsSpan().IndexOf(Encoding.UTF8.GetBytes("this-is-the-secret")));
        // Nor anywhere else in the file (the WAL included).
        await connection.ExecuteAsync("PRAGMA wal_checkpoint(TRUNCATE)");
        var file = await File.ReadAllBytesAsync(_dir.File("plain.db"));
        Assert.Equal(-1, file.AsSpan().IndexOf(Encoding.UTF8.GetBytes("this-is-the-secret")));
    }

    [Theory]
    [InlineData("olm", "other")]
    [InlineData("inbound", "key")]
    public async Task A_value_copied_to_another_row_does_not_open(string kind, string key)
    {
        var database = await DatabaseAsync();
        var store = new CryptoItems(database, _key);
        await store.PutAsync("olm", "key", [1, 2, 3], CancellationToken.None);
        await using (var connection = await database.OpenAsync(CancellationToken.None))
        {
            await connection.ExecuteAsync(
                "INSERT INTO crypto_items (kind, key, value) SELECT @kind, @key, value FROM crypto_items WHERE kind = 'olm' AND key = 'key'",
                new { kind, key });
        }

        await Assert.ThrowsAsync<CryptoStoreException>(() => store.GetAsync(kind, key, CancellationToken.None));
        await Assert.ThrowsAsync<CryptoStoreException>(() => store.ListAsync(kind, "", CancellationToken.None));
        Assert.Equal([1, 2, 3], await store.GetAsync("olm", "key", CancellationToken.None));
    }

    [Fact]
    public async Task Another_key_does_not_open_a_value()
    {
        var database = await DatabaseAsync();
        await new CryptoItems(database, _key).PutAsync("olm", "key", [1, 2, 3], CancellationToken.None);
        var other = new CryptoItems(database, new CryptoStoreKey(RandomNumberGenerator.GetBytes(CryptoStoreKey.Size)));
        await Assert.ThrowsAsync<CryptoStoreException>(() => other.GetAsync("olm", "key", CancellationToken.None));
    }

    [Fact]
    public async Task Listing_by_prefix_takes_percent_and_underscore_literally_and_returns_keys_in_order()
    {
        var database = await DatabaseAsync();
        var store = new CryptoItems(database, _key);
        // Put out of order, with keys that LIKE 'a%b|%' or 'a_b|%' would also match.
        foreach (var key in new[] { "a%b|2", "aXb|1", "a_b|1", "a%b|1", "a%bc|1", "a%b", "a%b|0", "b%b|1" })
            await store.PutAsync("olm", key, Encoding.UTF8.GetBytes(key), CancellationToken.None);
        await store.PutAsync("inbound", "a%b|5", [0], CancellationToken.None);

        var percent = await store.ListAsync("olm", "a%b|", CancellationToken.None);
        Assert.Equal(["a%b|0", "a%b|1", "a%b|2"], percent.Select(p => p.Key));
        Assert.Equal(percent.Select(p => p.Key), percent.Select(p => Encoding.UTF8.GetString(p.Value)));

        Assert.Equal(["a_b|1"], (await store.ListAsync("olm", "a_b|", CancellationToken.None)).Select(p => p.Key));
        Assert.Equal(["a%b", "a%bc|1", "a%b|0", "a%b|1", "a%b|2", "aXb|1", "a_b|1", "b%b|1"],
            (await store.ListAsync("olm", "", CancellationToken.None)).Select(p => p.Key));
        Assert.Empty(await store.ListAsync("olm", "a%b|3", CancellationToken.None));
    }

    [Fact]
    public async Task Delete_removes_only_that_value()
    {
        var database = await DatabaseAsync();
        var store = new CryptoItems(database, _key);
        await store.PutAsync("olm", "a", [1], CancellationToken.None);
        await store.PutAsync("olm", "b", [2], CancellationToken.None);
        await store.PutAsync("inbound", "a", [3], CancellationToken.None);

        await store.DeleteAsync("olm", "a", CancellationToken.None);

        Assert.Null(await store.GetAsync("olm", "a", CancellationToken.None));
        Assert.Equal(["b"], (await store.ListAsync("olm", "", CancellationToken.None)).Select(p => p.Key));
        Assert.Equal([3], await store.GetAsync("inbound", "a", CancellationToken.None));
        await store.DeleteAsync("olm", "a", CancellationToken.None); // deleting what is not there is fine
    }
}
