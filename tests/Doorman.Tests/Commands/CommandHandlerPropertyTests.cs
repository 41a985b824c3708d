using System.Security.Cryptography;
using System.Text.Json;
using CsCheck;
using Doorman.Access;
using Doorman.Commands;
using Doorman.Matrix;
using Doorman.Matrix.Http;
using Doorman.Sandbox.Homeserver;
using Doorman.Sandbox.Players;
using Doorman.Storage;
using Doorman.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Doorman.Tests.Commands;

/// <summary>
/// Generated bodies (<see cref="CommandBodies"/>) through the real <see cref="CommandHandler"/>: the bot's service graph
/// on a SQLite file, its Matrix client on the sandbox homeserver where the bot is in two real rooms (one gated), and a
/// payment backend that issues invoices. Typed by the room's owner or by a member, in those rooms or in a DM.
/// </summary>
public sealed class CommandHandlerPropertyTests : IAsyncLifetime
{
    private readonly TempDirectory _dir = new();
    private SandboxHomeserver _hs = null!;
    private ServiceProvider _services = null!;
    private string _owner = null!;
    private string _gatedRoom = null!;
    private Where[] _places = null!;
    private int _events;

    /// <summary>Where a command is typed, and by whom.</summary>
    private sealed record Where(string Sender, string RoomId, bool IsDirect, string Name);

    public async Task InitializeAsync()
    {
        _hs = await SandboxHomeserver.StartAsync();
        var bot = _hs.RegisterUser("doorman");
        var owner = _hs.RegisterUser("owner");
        var member = _hs.RegisterUser("member");
        _owner = owner.UserId;
        using var ownerPlayer = new Player("owner", _hs.Url, owner.UserId, owner.AccessToken);
        using var memberPlayer = new Player("member", _hs.Url, member.UserId, member.AccessToken);
        using var botClient = MatrixClient.Create(_hs.Url, bot.AccessToken);

        async Task<string> RoomWithTheBotAsync(string alias)
        {
            var roomId = await ownerPlayer.CreateRoomAsync(alias);
            await ownerPlayer.Client.InviteAsync(roomId, bot.UserId, null, default);
            await botClient.JoinAsync(roomId, null, null, default);
            await ownerPlayer.SetPowerLevelAsync(roomId, bot.UserId, 50);
            return roomId;
        }

        async Task<string> DirectMessageAsync(Player player)
        {
            var roomId = await player.OpenDirectMessageAsync(bot.UserId);
            await botClient.JoinAsync(roomId, null, null, default);
            return roomId;
        }

        _gatedRoom = await RoomWithTheBotAsync("vip");
        var freeRoom = await RoomWithTheBotAsync("free");
        var memberDm = await DirectMessageAsync(memberPlayer);
        var ownerDm = await DirectMessageAsync(ownerPlayer);

        // Aliases on other servers answer 502, which the client retries for safe requests: quickly, here.
        _services = await BotServices.BuildAsync(_dir.File("doorman.db"), backend: new InvoiceBackend(),
            configure: s => s.Replace(ServiceDescriptor.Singleton(new MatrixClientOptions { TransientRetryDelay = TimeSpan.FromMilliseconds(1) })),
            settings: new Dictionary<string, string?>
        {
            ["Matrix:HomeserverUrl"] = _hs.Url.ToString(),
            ["Matrix:UserId"] = bot.UserId,
            ["Matrix:AccessToken"] = bot.AccessToken,
            // The per-person command limit (Limits:*) is not what this property is about: as loose as it goes.
            ["Limits:CommandsPerMinute"] = "6000",
            ["Limits:CommandBurst"] = "1000",
        });
        await Db.WriteAsync(tx => _services.GetRequiredService<GateStore>().SetPriceAsync(
            tx, _gatedRoom, "#vip:localhost", 10_000, TimeSpan.FromDays(30), owner.UserId, TimeProvider.System.GetUtcNow()), default);

        _places =
        [
            new(owner.UserId, _gatedRoom, false, "the owner in the gated room"),
            new(member.UserId, _gatedRoom, false, "a member in the gated room"),
            new(owner.UserId, freeRoom, false, "the owner in an ungated room"),
            new(member.UserId, memberDm, true, "a member in their DM"),
            new(owner.UserId, ownerDm, true, "the owner in their DM"),
        ];
    }

    public async Task DisposeAsync()
    {
        await _services.DisposeAsync();
        await _hs.DisposeAsync();
        _dir.Dispose();
    }

    private Database Db => _services.GetRequiredService<Database>();

    [Fact]
    public async Task A_refused_or_invalid_command_writes_nothing_and_every_reply_is_a_complete_sentence()
    {
        var handler = _services.GetRequiredService<CommandHandler>();
        await Gen.Select(CommandBodies.Body, Gen.Int[0, _places.Length - 1]).SampleAsync(async (body, place) =>
        {
            var where = _places[place];
            if (CommandParser.Parse(body, CommandBodies.Prefix, where.IsDirect) is not { } command)
                return;
            var before = await SnapshotAsync();

            var what = $"{CommandBodies.Show(body)} from {where.Name}, read as {command}";
            try
            {
                await handler.HandleAsync(new CommandContext(where.RoomId, where.Sender, $"$property{Interlocked.Increment(ref _events)}", where.IsDirect),
                    command, default);
            }
            catch (MatrixException e) when ((int)e.Status >= 500)
            {
                // The homeserver, or a server behind it (an alias elsewhere), failed: the command is tried again later,
                // so it must have left no trace.
                Assert.True(before.SameAs(await SnapshotAsync()), $"{what} failed ({e.Message}) after writing");
                return;
            }

            var after = await SnapshotAsync();
            var mayGate = command is SetPriceCommand && !where.IsDirect && where.Sender == _owner;
            Assert.True(mayGate || (after.Gates == before.Gates && after.Plans == before.Plans), $"{what} changed a gate");
            var newOrders = after.Orders.Except(before.Orders).ToList();
            Assert.True(newOrders.Count == 0 || (command is JoinCommand or RenewCommand && newOrders.Count == 1),
                $"{what} wrote orders: {string.Join(" | ", newOrders)}");
            Assert.Equal(before.Orders.Count, after.Orders.Count - newOrders.Count); // none changed or went away
            Assert.Equal(before.Subscriptions, after.Subscriptions);

            var replies = await RepliesSinceAsync(before.LastMessageId);
            Assert.True(replies.Count > 0, $"{what} got no reply");
            foreach (var reply in replies)
                CommandBodies.AssertCompleteSentence(reply, body);
        }, iter: 300, threads: 1, print: t => $"{CommandBodies.Show(t.Item1)} from {_places[t.Item2].Name}");
    }

    /// <summary>
    /// What the property found: an alias the homeserver calls invalid (400) escaped the handler, and the member would
    /// have been told something went wrong on our side.
    /// </summary>
    [Fact]
    public async Task An_alias_the_homeserver_calls_invalid_is_answered_as_an_unknown_room()
    {
        var member = _places[3];
        var before = await SnapshotAsync();

        await HandleAsync(member, "join #a:b:c");

        var reply = Assert.Single(await RepliesSinceAsync(before.LastMessageId));
        Assert.StartsWith("I don't know the room #a:b:c.", reply, StringComparison.Ordinal);
    }

    /// <summary>An alias on a server the homeserver cannot reach (502) is the homeserver's trouble: it propagates, to be tried again, and nothing is written.</summary>
    [Fact]
    public async Task An_alias_on_an_unreachable_server_fails_to_be_tried_again_and_writes_nothing()
    {
        var member = _places[3];
        var before = await SnapshotAsync();

        var e = await Assert.ThrowsAsync<MatrixException>(() => HandleAsync(member, "join #vip:unreachable.example"));

        Assert.Equal(System.Net.HttpStatusCode.BadGateway, e.Status);
        Assert.True(before.SameAs(await SnapshotAsync()));
    }

    private Task HandleAsync(Where where, string body) =>
        _services.GetRequiredService<CommandHandler>().HandleAsync(new CommandContext(where.RoomId, where.Sender, "$" + Guid.NewGuid().ToString("N"), where.IsDirect),
            CommandParser.Parse(body, CommandBodies.Prefix, where.IsDirect)!, default);

    private sealed record Snapshot(string Gates, string Plans, IReadOnlyList<string> Orders, string Subscriptions, long LastMessageId)
    {
        /// <summary>Nothing written, no message queued.</summary>
        public bool SameAs(Snapshot other) => Gates == other.Gates && Plans == other.Plans && Orders.SequenceEqual(other.Orders)
            && Subscriptions == other.Subscriptions && LastMessageId == other.LastMessageId;
    }

    private Task<Snapshot> SnapshotAsync() => Db.ReadAsync(async tx => new Snapshot(
        string.Join("\n", await RowsAsync(tx, "gates")), string.Join("\n", await RowsAsync(tx, "plans")), await RowsAsync(tx, "orders"),
        string.Join("\n", await RowsAsync(tx, "subscriptions")),
        await tx.ExecuteScalarAsync<long>("SELECT COALESCE(MAX(id), 0) FROM outgoing_messages")), default);

    /// <summary>Every row of a table, each as one line of its values, in byte order (on either database).</summary>
    private static async Task<IReadOnlyList<string>> RowsAsync(Tx tx, string table) =>
        [.. (await tx.QueryAsync<object>($"SELECT * FROM {table}"))
            .Select(row => string.Join(",", ((IDictionary<string, object?>)row).OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => $"{c.Key}={c.Value}")))
            .Order(StringComparer.Ordinal)];

    /// <summary>The text of each chat message queued after <paramref name="lastId"/> (QR codes are images with a caption, not replies).</summary>
    private Task<IReadOnlyList<string>> RepliesSinceAsync(long lastId) => Db.ReadAsync(async tx =>
        (IReadOnlyList<string>)[.. (await tx.QueryAsync<string>("SELECT content FROM outgoing_messages WHERE id > @lastId AND kind = 'message' ORDER BY id", new { lastId }))
            .Select(content => JsonDocument.Parse(content).RootElement.GetProperty("body").GetString()!)], default);

    /// <summary>Issues an invoice for every order, as a healthy node would; nothing is ever paid.</summary>
    private sealed class InvoiceBackend : IPaymentBackend
    {
        public string Name => "lnd";

        public Task<CreatedInvoice> CreateInvoiceAsync(InvoiceRequest request, CancellationToken cancellationToken)
        {
            var hash = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
            return Task.FromResult(new CreatedInvoice(hash, "lnbcrt" + hash, hash, TimeProvider.System.GetUtcNow() + request.Expiry));
        }

        public Task<InvoiceUpdate> LookupInvoiceAsync(string reference, CancellationToken cancellationToken) =>
            Task.FromResult(new InvoiceUpdate(reference, InvoiceState.Open, 0, 0, null));

        public Task<ISettlementFeed> OpenSettlementFeedAsync(string? cursor, CancellationToken cancellationToken) =>
            throw new NotSupportedException("commands never open the settlement feed");

        public Task CheckHealthAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
