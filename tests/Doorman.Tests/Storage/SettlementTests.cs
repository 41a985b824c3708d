using Doorman.Access;
using Doorman.Storage;
using Doorman.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Doorman.Tests.Storage;

/// <summary>DESIGN rules 1 and 3 on a real SQLite file: a payment is applied exactly once, and renewals never lose days.</summary>
public sealed class SettlementTests : IAsyncLifetime
{
    private readonly TempDirectory _dir = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero));
    private ServiceProvider _services = null!;

    public async Task InitializeAsync()
    {
        _services = await BotServices.BuildAsync(_dir.File("doorman.db"), _time);
        await Db.WriteAsync(tx => _services.GetRequiredService<GateStore>().SetPriceAsync(
            tx, "!room:localhost", "#room:localhost", 1_000_000, TimeSpan.FromDays(30), "@owner:localhost", _time.GetUtcNow()), default);
    }

    public async Task DisposeAsync()
    {
        await _services.DisposeAsync();
        _dir.Dispose();
    }

    private Database Db => _services.GetRequiredService<Database>();

    private async Task<Order> OrderAsync(string reference, long amountMsat = 1_000_000)
    {
        var now = _time.GetUtcNow();
        var order = new Order(Ulid.New(now), "!room:localhost", "@member:localhost", Plans.Default, amountMsat, TimeSpan.FromDays(30),
            "lnd", reference, "lnbcrt1…", reference, OrderStatus.Pending, null, now, now.AddMinutes(30), null, null);
        await Db.WriteAsync(tx => _services.GetRequiredService<OrderStore>().InsertAsync(tx, order), default);
        return order;
    }

    private static InvoiceUpdate Settled(string reference, long paid = 1_000_000, string? cursor = "7") =>
        new(reference, InvoiceState.Settled, 1_000_000, paid, cursor);

    private Task<int> InvitesAsync() =>
        Db.ReadAsync(tx => tx.ExecuteScalarAsync<int>("SELECT COUNT(*) FROM membership_actions WHERE action = 'invite'"), default);

    [Fact]
    public async Task A_settlement_applies_once_however_often_it_arrives()
    {
        await OrderAsync("aa");
        var settlements = _services.GetRequiredService<Settlements>();

        Assert.Equal(SettlementOutcome.Applied, await settlements.ApplyAsync("lnd", Settled("aa"), default));
        Assert.Equal(SettlementOutcome.AlreadyDone, await settlements.ApplyAsync("lnd", Settled("aa"), default));
        Assert.Equal(SettlementOutcome.AlreadyDone, await settlements.ApplyAsync("lnd", Settled("aa", cursor: null), default));

        Assert.Equal(1, await InvitesAsync());
        var sub = await Db.ReadAsync(tx => _services.GetRequiredService<SubscriptionStore>().GetAsync(tx, "!room:localhost", "@member:localhost"), default);
        Assert.Equal(_time.GetUtcNow().AddDays(30), sub!.ExpiresAt);
    }

    [Fact]
    public async Task Two_appliers_racing_on_one_database_file_apply_once()
    {
        await OrderAsync("bb");
        // A second, independent service graph: its own connection pool on the same database, like a second process.
        await using var other = await BotServices.BuildAsync(_dir.File("doorman.db"), _time, settings: BotServices.SharedStorage(_services));
        var first = _services.GetRequiredService<Settlements>();
        var second = other.GetRequiredService<Settlements>();

        for (var round = 0; round < 20; round++)
        {
            var reference = "race" + round;
            await OrderAsync(reference);
            using var start = new ManualResetEventSlim();
            var a = Task.Run(() => { start.Wait(); return first.ApplyAsync("lnd", Settled(reference), default); });
            var b = Task.Run(() => { start.Wait(); return second.ApplyAsync("lnd", Settled(reference), default); });
            start.Set();
            var outcomes = await Task.WhenAll(a, b);
            Assert.Equal(1, outcomes.Count(o => o == SettlementOutcome.Applied));
            Assert.Equal(1, outcomes.Count(o => o == SettlementOutcome.AlreadyDone));
        }
        Assert.Equal(20, await InvitesAsync());
        // Twenty payments of 30 days each, every one extending the last: no payment lost, none doubled.
        var sub = await Db.ReadAsync(tx => _services.GetRequiredService<SubscriptionStore>().GetAsync(tx, "!room:localhost", "@member:localhost"), default);
        Assert.Equal(_time.GetUtcNow().AddDays(30 * 20), sub!.ExpiresAt);
    }

    [Fact]
    public async Task Renewing_early_extends_from_the_current_expiry()
    {
        var settlements = _services.GetRequiredService<Settlements>();
        await OrderAsync("first");
        await settlements.ApplyAsync("lnd", Settled("first"), default);
        _time.Advance(TimeSpan.FromDays(20));
        await OrderAsync("second");
        await settlements.ApplyAsync("lnd", Settled("second"), default);

        var sub = await Db.ReadAsync(tx => _services.GetRequiredService<SubscriptionStore>().GetAsync(tx, "!room:localhost", "@member:localhost"), default);
        Assert.Equal(_time.GetUtcNow().AddDays(10 + 30), sub!.ExpiresAt);
    }

    [Fact]
    public async Task The_feed_cursor_is_stored_with_the_settlement()
    {
        await OrderAsync("cc");
        await _services.GetRequiredService<Settlements>().ApplyAsync("lnd", Settled("cc", cursor: "41/12"), default);
        Assert.Equal("41/12", await Db.ReadAsync(tx => _services.GetRequiredService<Cursors>().GetAsync(tx, CursorNames.PaymentFeed("lnd")), default));
    }

    [Fact]
    public async Task An_unknown_invoice_is_ignored_but_the_cursor_still_advances()
    {
        var outcome = await _services.GetRequiredService<Settlements>().ApplyAsync("lnd", Settled("not-ours", cursor: "9"), default);
        Assert.Equal(SettlementOutcome.Ignored, outcome);
        Assert.Equal("9", await Db.ReadAsync(tx => _services.GetRequiredService<Cursors>().GetAsync(tx, CursorNames.PaymentFeed("lnd")), default));
        Assert.Equal(0, await InvitesAsync());
    }

    [Fact]
    public async Task An_underpayment_grants_nothing_and_the_member_is_told()
    {
        await OrderAsync("dd");
        var outcome = await _services.GetRequiredService<Settlements>().ApplyAsync("lnd", Settled("dd", paid: 999_999), default);
        Assert.Equal(SettlementOutcome.Underpaid, outcome);
        Assert.Equal(0, await InvitesAsync());
        var told = await Db.ReadAsync(tx => tx.QueryAsync<string>("SELECT content FROM outgoing_messages WHERE user_id = '@member:localhost'"), default);
        Assert.Contains(told, m => m.Contains("less than the 1,000 sats", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_overpayment_grants_and_is_recorded()
    {
        var order = await OrderAsync("ee");
        Assert.Equal(SettlementOutcome.Applied, await _services.GetRequiredService<Settlements>().ApplyAsync("lnd", Settled("ee", paid: 1_500_000), default));
        var stored = await Db.ReadAsync(tx => _services.GetRequiredService<OrderStore>().GetAsync(tx, order.Id), default);
        Assert.Equal(1_500_000, stored!.PaidMsat);
        Assert.Equal(OrderStatus.Applied, stored.Status);
    }

    [Fact]
    public async Task A_canceled_invoice_expires_the_order_and_a_late_settlement_still_grants()
    {
        var order = await OrderAsync("ff");
        var settlements = _services.GetRequiredService<Settlements>();
        Assert.Equal(SettlementOutcome.Expired, await settlements.ApplyAsync("lnd", new InvoiceUpdate("ff", InvoiceState.Canceled, 1_000_000, 0, null), default));
        Assert.Equal(0, await InvitesAsync());
        // The node said canceled, yet money arrived (its expiry raced ours): money received always grants.
        Assert.Equal(SettlementOutcome.Applied, await settlements.ApplyAsync("lnd", Settled("ff"), default));
        Assert.Equal(1, await InvitesAsync());
        Assert.Equal(OrderStatus.Applied, (await Db.ReadAsync(tx => _services.GetRequiredService<OrderStore>().GetAsync(tx, order.Id), default))!.Status);
    }

    [Fact]
    public async Task An_open_invoice_past_its_expiry_expires_the_order_but_an_open_one_in_time_does_not()
    {
        await OrderAsync("gg");
        var settlements = _services.GetRequiredService<Settlements>();
        var open = new InvoiceUpdate("gg", InvoiceState.Open, 1_000_000, 0, null);
        Assert.Equal(SettlementOutcome.Ignored, await settlements.ApplyAsync("lnd", open, default));
        _time.Advance(TimeSpan.FromMinutes(31));
        Assert.Equal(SettlementOutcome.Expired, await settlements.ApplyAsync("lnd", open, default));
    }
}
