using Doorman.Sandbox.BtcPay;
using Doorman.Sandbox.Players;
using Doorman.Storage;
using Microsoft.Extensions.Time.Testing;
using Xunit.Abstractions;

namespace Doorman.Tests.EndToEnd;

/// <summary>
/// Payment failures at the bot's level (DESIGN rules 2 and 4): no payment lost whatever the node does, nothing
/// granted for less than the price, and the member always told.
/// </summary>
public sealed class PaymentFaultTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly FakeTimeProvider _nodeClock = new(TimeProvider.System.GetUtcNow());
    private SandboxTestHomeserver _hs = null!;
    private readonly List<Scenario> _scenarios = [];

    public async Task InitializeAsync() => _hs = await SandboxTestHomeserver.StartAsync();

    public async Task DisposeAsync()
    {
        foreach (var s in _scenarios)
            await s.DisposeAsync();
        await _hs.DisposeAsync();
    }

    private async Task<Scenario> LndAsync()
    {
        var s = await Scenario.StartAsync(_hs, output, async dir => await LndTestPayments.StartAsync(Path.Combine(dir, "lnd"), _nodeClock));
        _scenarios.Add(s);
        return s;
    }

    private async Task<Scenario> BtcPayAsync(bool webhooks = true)
    {
        var s = await Scenario.StartAsync(_hs, output, async _ => await BtcPayTestPayments.StartAsync(webhooks, _nodeClock));
        _scenarios.Add(s);
        return s;
    }

    /// <summary>The owner gates a room and the member asks for an invoice: the usual start.</summary>
    private static async Task<(string RoomId, string Alias, string Dm, string Bolt11)> InvoiceAsync(Scenario s, string price = "10 sats per 30d")
    {
        await s.StartBotAsync();
        var (roomId, alias) = await s.OwnerMakesRoomAsync();
        await s.OwnerGatesAsync(roomId, price);
        var dm = await s.MemberOpensDmAsync();
        return (roomId, alias, dm, await s.MemberAsksToJoinAsync(dm, alias));
    }

    private static Task<T> QueryAsync<T>(Scenario s, Func<Tx, Task<T>> query) => new Database(s.DatabasePath).ReadAsync(query, default);

    [Fact]
    public async Task A_settlement_stream_dropped_just_before_the_payment_loses_nothing()
    {
        var s = await LndAsync();
        var (roomId, _, _, bolt11) = await InvoiceAsync(s);
        s.Lightning.DropStreams();
        await s.Payments.PayAsync(bolt11);
        await s.Member.WaitForInviteAsync(roomId, Scenario.Patience);
    }

    [Fact]
    public async Task A_gap_in_settle_index_loses_nothing()
    {
        var s = await LndAsync();
        var (roomId, alias, dm, bolt11) = await InvoiceAsync(s);
        s.Lightning.SkipSettleIndex(5);
        await s.Payments.PayAsync(bolt11);
        await s.Member.WaitForInviteAsync(roomId, Scenario.Patience);

        // And the next payment, after the gap, too: a renewal.
        var renewal = await s.MemberAsksToJoinAsync(dm, alias);
        s.Lightning.SkipSettleIndex(3);
        var mark = s.Member.Mark;
        await s.Payments.PayAsync(renewal);
        await s.Member.WaitForMessageAsync(dm, b => b.Contains("Payment received", StringComparison.Ordinal), Scenario.Patience, mark);
    }

    [Fact]
    public async Task A_node_that_lost_its_indexes_while_the_bot_was_down_loses_nothing()
    {
        var s = await LndAsync();
        var (roomId, alias, dm, first) = await InvoiceAsync(s);
        await s.Payments.PayAsync(first);
        await s.Member.WaitForInviteAsync(roomId, Scenario.Patience);
        var second = await s.MemberAsksToJoinAsync(dm, alias);

        await s.StopBotAsync();
        await s.Lightning.RestartAsync(resetIndexes: true); // as after a migration of LND's database
        var mark = s.Member.Mark;
        await s.Payments.PayAsync(second);
        await s.StartBotAsync();
        await s.Member.WaitForMessageAsync(dm, b => b.Contains("Payment received", StringComparison.Ordinal), Scenario.Patience, mark);
    }

    [Fact]
    public async Task An_overpayment_grants_and_is_recorded()
    {
        var s = await LndAsync();
        var (roomId, _, _, bolt11) = await InvoiceAsync(s);
        await s.Payments.PayAsync(bolt11, amountMsat: 15_000);
        await s.Member.WaitForInviteAsync(roomId, Scenario.Patience);
        Assert.Equal(15_000, await QueryAsync(s, tx => tx.ExecuteScalarAsync<long>("SELECT paid_msat FROM orders WHERE status = 'applied'")));
    }

    [Fact]
    public async Task An_invoice_that_expires_unpaid_grants_nothing_and_the_member_is_told()
    {
        var s = await LndAsync();
        var (roomId, alias, dm, _) = await InvoiceAsync(s);
        _nodeClock.Advance(TimeSpan.FromMinutes(31)); // the node cancels the invoice at its expiry
        var mark = s.Member.Mark;
        s.Lightning.DropStreams(); // the bot reconnects and looks every pending order up
        await s.Member.WaitForMessageAsync(dm, b => b.Contains("expired unpaid", StringComparison.Ordinal), Scenario.Patience, mark);
        Assert.Contains("join " + alias, Player.BodyOf((await s.Member.WaitForMessageAsync(dm, b => b.Contains("expired", StringComparison.Ordinal), Scenario.Patience, mark))), StringComparison.Ordinal);
        Assert.Null(_hs.Server.GetMembership(roomId, s.Member.UserId));
        Assert.Equal("expired", await QueryAsync(s, tx => tx.ExecuteScalarAsync<string>("SELECT status FROM orders")));
    }

    private static Task<string?> OrderStatusAsync(Scenario s) => QueryAsync(s, tx => tx.ExecuteScalarAsync<string>("SELECT status FROM orders"));

    [Fact]
    public async Task LND_a_payment_settled_after_the_bot_gave_the_invoice_up_grants_and_the_member_is_told_it_was_late()
    {
        var s = await LndAsync();
        var (roomId, _, dm, bolt11) = await InvoiceAsync(s);

        // The bot's clock runs ahead of the node's: by the bot's reckoning the invoice has expired, while the node still
        // holds it open (lnd settles an HTLC for any invoice its expiry watcher has not canceled yet: invoices/update.go).
        s.BotClock.Ahead = TimeSpan.FromMinutes(31);
        var mark = s.Member.Mark;
        s.Lightning.DropStreams(); // the bot reconnects and looks every pending order up: open, and past its expiry
        await s.Member.WaitForMessageAsync(dm, b => b.Contains("expired unpaid", StringComparison.Ordinal), Scenario.Patience, mark);
        Assert.Equal("expired", await OrderStatusAsync(s));

        await s.Payments.PayAsync(bolt11); // the member's wallet pays anyway, and the node settles
        var late = await s.Member.WaitForMessageAsync(dm, b => b.Contains("arrived late", StringComparison.Ordinal), Scenario.Patience, mark);
        Assert.Contains("you are in", Player.BodyOf(late), StringComparison.Ordinal);
        await s.Member.WaitForInviteAsync(roomId, Scenario.Patience);
        Assert.Equal("applied", await OrderStatusAsync(s));
    }

    [Fact]
    public async Task BTCPay_a_payment_recorded_late_is_honoured_from_its_webhook_and_the_member_is_told()
    {
        var s = await BtcPayAsync(webhooks: true);
        var (roomId, _, dm, bolt11) = await InvoiceAsync(s);
        var mark = s.Member.Mark;
        _nodeClock.Advance(TimeSpan.FromMinutes(31)); // BTCPay expires the invoice and says so by webhook
        await s.Member.WaitForMessageAsync(dm, b => b.Contains("expired unpaid", StringComparison.Ordinal), Scenario.Patience, mark);
        Assert.Equal("expired", await OrderStatusAsync(s));

        // The payment reaches BTCPay after all: the invoice stays Expired, PaidLate; webhooks say "afterExpiration".
        await ((BtcPayTestPayments)s.Payments).Server.PayLateAsync(bolt11);
        await s.Member.WaitForMessageAsync(dm, b => b.Contains("arrived late", StringComparison.Ordinal), Scenario.Patience, mark);
        await s.Member.WaitForInviteAsync(roomId, Scenario.Patience);
        Assert.Equal("applied", await OrderStatusAsync(s));
    }

    [Fact]
    public async Task BTCPay_polling_a_payment_recorded_late_is_found_by_looking_expired_orders_up_again()
    {
        var s = await BtcPayAsync(webhooks: false);
        var (roomId, _, dm, bolt11) = await InvoiceAsync(s);
        var mark = s.Member.Mark;
        _nodeClock.Advance(TimeSpan.FromMinutes(31)); // BTCPay expires the invoice; the bot's polling finds that
        await s.Member.WaitForMessageAsync(dm, b => b.Contains("expired unpaid", StringComparison.Ordinal), Scenario.Patience, mark);

        await ((BtcPayTestPayments)s.Payments).Server.PayLateAsync(bolt11); // no webhook tells of it
        // Time passes for the bot too: its first look-up of the expired order is due a minute after the invoice expired.
        s.BotClock.Ahead = TimeSpan.FromMinutes(32);
        await s.Member.WaitForMessageAsync(dm, b => b.Contains("arrived late", StringComparison.Ordinal), Scenario.Patience, mark);
        await s.Member.WaitForInviteAsync(roomId, Scenario.Patience);
        Assert.Equal("applied", await OrderStatusAsync(s));
        Assert.Equal(1, await QueryAsync(s, tx => tx.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM membership_actions WHERE action = 'invite'")));
    }

    [Fact]
    public async Task An_underpaid_invoice_grants_nothing_and_the_member_is_told()
    {
        var s = await BtcPayAsync();
        var (roomId, _, dm, bolt11) = await InvoiceAsync(s);
        await s.Payments.PayAsync(bolt11, amountMsat: 4_000); // 4 of the 10 sats
        _nodeClock.Advance(TimeSpan.FromMinutes(31)); // BTCPay expires it: Expired, PaidPartial
        var told = await s.Member.WaitForMessageAsync(dm, b => b.Contains("less than the 10 sats", StringComparison.Ordinal), Scenario.Patience);
        Assert.Contains("4 sats", Player.BodyOf(told), StringComparison.Ordinal);
        Assert.Null(_hs.Server.GetMembership(roomId, s.Member.UserId));
        Assert.Equal("underpaid", await QueryAsync(s, tx => tx.ExecuteScalarAsync<string>("SELECT status FROM orders")));
    }

    [Fact]
    public async Task BTCPay_down_when_an_invoice_is_asked_for_gives_a_clear_try_again_and_no_order()
    {
        var s = await BtcPayAsync();
        await s.StartBotAsync();
        var (roomId, alias) = await s.OwnerMakesRoomAsync();
        await s.OwnerGatesAsync(roomId, "10 sats per 30d");
        var dm = await s.MemberOpensDmAsync();

        await ((BtcPayTestPayments)s.Payments).Server.GoDownAsync(SandboxBtcPayOutage.ServiceUnavailable);
        var mark = s.Member.Mark;
        await s.Member.SayAsync(dm, "join " + alias);
        var reply = await s.Member.WaitForMessageAsync(dm, b => b.Contains("try again", StringComparison.Ordinal), Scenario.Patience, mark);
        Assert.DoesNotContain("lnbc", Player.BodyOf(reply), StringComparison.OrdinalIgnoreCase);
        Assert.Equal(0, await QueryAsync(s, tx => tx.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM orders")));

        // Back up: the same request works.
        await ((BtcPayTestPayments)s.Payments).Server.ComeBackAsync();
        var bolt11 = await s.MemberAsksToJoinAsync(dm, alias);
        await s.Payments.PayAsync(bolt11);
        await s.Member.WaitForInviteAsync(roomId, Scenario.Patience);
    }
}
