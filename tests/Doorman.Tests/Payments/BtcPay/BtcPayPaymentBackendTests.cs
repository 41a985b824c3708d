using Doorman.Access;
using Doorman.Payments.Bolt11;
using Doorman.Sandbox.BtcPay;
using Microsoft.Extensions.Time.Testing;
using static Doorman.Tests.Payments.BtcPay.BtcPayTestBot;

namespace Doorman.Tests.Payments.BtcPay;

/// <summary>The bot's BTCPay backend against the sandbox BTCPay, over HTTP.</summary>
public sealed class BtcPayPaymentBackendTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Creating_an_invoice_returns_btcpays_signed_bolt11_for_the_amount_and_expiry_asked()
    {
        await using var server = await SandboxBtcPayServer.StartAsync();
        await using var bot = await StartAsync(server);
        var request = Request(21_000_000, expiryMinutes: 30);

        var created = await bot.Backend.CreateInvoiceAsync(request, CancellationToken.None);
        var decoded = Bolt11Codec.Decode(created.Bolt11);
        var invoice = Assert.Single(server.Invoices);

        Assert.Equal("btcpay", bot.Backend.Name);
        Assert.Equal(invoice.Id, created.Reference);
        Assert.Equal(request.OrderId, invoice.OrderId);
        Assert.Equal(21_000_000, invoice.AmountMsat);
        Assert.Equal(21_000_000, decoded.AmountMsat);
        Assert.Equal(decoded.PaymentHash, created.PaymentHash);
        Assert.Equal(invoice.PaymentHash, created.PaymentHash);
        Assert.Equal(server.NodePubKey, decoded.PayeePubKey);
        Assert.True(decoded.IsSignatureValid);
        Assert.Equal(invoice.CreatedAt.AddMinutes(30), invoice.ExpiresAt);
        Assert.InRange(created.ExpiresAt, invoice.ExpiresAt.AddSeconds(-5), invoice.ExpiresAt);
    }

    [Fact]
    public async Task A_paid_invoice_looks_up_as_settled_with_the_amount_paid()
    {
        await using var server = await SandboxBtcPayServer.StartAsync();
        await using var bot = await StartAsync(server);
        var created = await bot.Backend.CreateInvoiceAsync(Request(5_000_000), CancellationToken.None);

        var before = await bot.Backend.LookupInvoiceAsync(created.Reference, CancellationToken.None);
        await server.PayAsync(created.Bolt11);
        var after = await bot.Backend.LookupInvoiceAsync(created.Reference, CancellationToken.None);

        Assert.Equal(new InvoiceUpdate(created.Reference, InvoiceState.Open, 5_000_000, 0, null), before);
        Assert.Equal(new InvoiceUpdate(created.Reference, InvoiceState.Settled, 5_000_000, 5_000_000, null), after);
    }

    [Fact]
    public async Task A_partial_payment_then_expiry_is_settled_with_less_so_the_bot_records_an_underpayment()
    {
        var clock = new FakeTimeProvider(Start);
        await using var server = await SandboxBtcPayServer.StartAsync(new SandboxBtcPayOptions { TimeProvider = clock });
        await using var bot = await StartAsync(server, time: clock);
        var created = await bot.Backend.CreateInvoiceAsync(Request(10_000_000, expiryMinutes: 15), CancellationToken.None);

        await server.PayAsync(created.Reference, 4_000_000);
        var partlyPaid = await bot.Backend.LookupInvoiceAsync(created.Reference, CancellationToken.None);
        clock.Advance(TimeSpan.FromMinutes(15));
        var expired = await bot.Backend.LookupInvoiceAsync(created.Reference, CancellationToken.None);

        Assert.Equal(InvoiceState.Open, partlyPaid.State);
        Assert.Equal(("Expired", "PaidPartial"), (server.Invoices[0].Status, server.Invoices[0].AdditionalStatus));
        Assert.Equal(new InvoiceUpdate(created.Reference, InvoiceState.Settled, 10_000_000, 4_000_000, null), expired);
    }

    [Fact]
    public async Task After_a_partial_payment_btcpay_issues_a_new_bolt11_for_the_rest_and_paying_it_settles()
    {
        await using var server = await SandboxBtcPayServer.StartAsync();
        await using var bot = await StartAsync(server);
        var created = await bot.Backend.CreateInvoiceAsync(Request(10_000_000), CancellationToken.None);

        await server.PayAsync(created.Bolt11, 4_000_000);
        var rest = server.Invoices[0].Bolt11;
        await server.PayAsync(rest);
        var update = await bot.Backend.LookupInvoiceAsync(created.Reference, CancellationToken.None);

        Assert.Equal(6_000_000, Bolt11Codec.Decode(rest).AmountMsat);
        Assert.Equal(new InvoiceUpdate(created.Reference, InvoiceState.Settled, 10_000_000, 10_000_000, null), update);
    }

    [Fact]
    public async Task Overpayment_is_reported_as_paid_more_than_asked()
    {
        await using var server = await SandboxBtcPayServer.StartAsync();
        await using var bot = await StartAsync(server);
        var created = await bot.Backend.CreateInvoiceAsync(Request(5_000_000), CancellationToken.None);

        await server.PayAsync(created.Bolt11, 7_500_001);
        var update = await bot.Backend.LookupInvoiceAsync(created.Reference, CancellationToken.None);

        Assert.Equal("PaidOver", server.Invoices[0].AdditionalStatus);
        Assert.Equal(new InvoiceUpdate(created.Reference, InvoiceState.Settled, 5_000_000, 7_500_001, null), update);
    }

    [Fact]
    public async Task An_expired_unpaid_invoice_is_canceled()
    {
        var clock = new FakeTimeProvider(Start);
        await using var server = await SandboxBtcPayServer.StartAsync(new SandboxBtcPayOptions { TimeProvider = clock });
        await using var bot = await StartAsync(server, time: clock);
        var created = await bot.Backend.CreateInvoiceAsync(Request(expiryMinutes: 10), CancellationToken.None);

        clock.Advance(TimeSpan.FromMinutes(10) - TimeSpan.FromSeconds(1));
        var almost = await bot.Backend.LookupInvoiceAsync(created.Reference, CancellationToken.None);
        clock.Advance(TimeSpan.FromSeconds(1));
        var expired = await bot.Backend.LookupInvoiceAsync(created.Reference, CancellationToken.None);

        Assert.Equal(Start.AddMinutes(10), created.ExpiresAt);
        Assert.Equal(InvoiceState.Open, almost.State);
        Assert.Equal(new InvoiceUpdate(created.Reference, InvoiceState.Canceled, 21_000_000, 0, null), expired);
        await Assert.ThrowsAsync<InvalidOperationException>(() => server.PayAsync(created.Bolt11));
    }

    [Fact]
    public async Task An_invoice_marked_invalid_is_canceled_and_one_marked_settled_counts_as_paid_in_full()
    {
        await using var server = await SandboxBtcPayServer.StartAsync();
        await using var bot = await StartAsync(server);
        var invalid = await bot.Backend.CreateInvoiceAsync(Request(3_000_000), CancellationToken.None);
        var marked = await bot.Backend.CreateInvoiceAsync(Request(3_000_000), CancellationToken.None);

        server.MarkInvoice(invalid.Reference, "Invalid");
        server.MarkInvoice(marked.Reference, "Settled");

        Assert.Equal(InvoiceState.Canceled, (await bot.Backend.LookupInvoiceAsync(invalid.Reference, CancellationToken.None)).State);
        Assert.Equal(new InvoiceUpdate(marked.Reference, InvoiceState.Settled, 3_000_000, 3_000_000, null),
            await bot.Backend.LookupInvoiceAsync(marked.Reference, CancellationToken.None));
    }

    [Fact]
    public async Task An_unknown_invoice_is_NotFound()
    {
        await using var server = await SandboxBtcPayServer.StartAsync();
        await using var bot = await StartAsync(server);

        var update = await bot.Backend.LookupInvoiceAsync("NoSuchInvoice1234567890", CancellationToken.None);

        Assert.Equal(new InvoiceUpdate("NoSuchInvoice1234567890", InvoiceState.NotFound, 0, 0, null), update);
    }

    [Theory]
    [InlineData(SandboxBtcPayOutage.ServiceUnavailable)]
    [InlineData(SandboxBtcPayOutage.ConnectionRefused)]
    public async Task BTCPay_down_during_creation_is_a_transient_error_that_says_to_try_again(SandboxBtcPayOutage outage)
    {
        await using var server = await SandboxBtcPayServer.StartAsync();
        var apiKey = server.CreateApiKey(BotPermissions);
        await using var bot = await StartAsync(server, apiKey);

        await server.GoDownAsync(outage);
        var error = await Assert.ThrowsAsync<PaymentBackendException>(() => bot.Backend.CreateInvoiceAsync(Request(), CancellationToken.None));
        await server.ComeBackAsync();
        var created = await bot.Backend.CreateInvoiceAsync(Request(), CancellationToken.None);

        Assert.True(error.IsTransient);
        Assert.Contains("creating an invoice", error.Message, StringComparison.Ordinal);
        Assert.Contains("try again", error.Message, StringComparison.Ordinal);
        Assert.Contains(outage == SandboxBtcPayOutage.ServiceUnavailable ? "503" : "cannot reach BTCPay", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(apiKey, error.ToString(), StringComparison.Ordinal);
        Assert.Equal(created.Reference, Assert.Single(server.Invoices).Id);
    }

    [Fact]
    public async Task A_key_without_a_needed_permission_is_refused_at_the_health_check_naming_it()
    {
        await using var server = await SandboxBtcPayServer.StartAsync();
        await using var bot = await StartAsync(server, server.CreateApiKey("btcpay.store.canviewinvoices"));

        var error = await Assert.ThrowsAsync<PaymentBackendException>(() => bot.Backend.CheckHealthAsync(CancellationToken.None));

        Assert.False(error.IsTransient);
        Assert.Contains("lacks btcpay.store.cancreateinvoice for store " + server.StoreId, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("canviewinvoices", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Registering_a_webhook_also_needs_the_webhooks_permission()
    {
        await using var server = await SandboxBtcPayServer.StartAsync();
        await using var bot = await StartAsync(server, server.CreateApiKey("btcpay.store.canmodifyinvoices"), registerWebhook: true);

        var error = await Assert.ThrowsAsync<PaymentBackendException>(() => bot.Backend.CheckHealthAsync(CancellationToken.None));

        Assert.False(error.IsTransient);
        Assert.Contains("lacks btcpay.store.webhooks.canmodifywebhooks for store", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("btcpay.store.cancreateinvoice btcpay.store.canviewinvoices")]
    [InlineData("btcpay.store.canmodifyinvoices")]
    [InlineData("btcpay.store.cancreateinvoice:{store} btcpay.store.canviewstoresettings:{store}")]
    [InlineData("btcpay.store.canmodifystoresettings:{store}")]
    [InlineData("unrestricted")]
    public async Task Implied_and_store_scoped_permissions_are_enough(string permissions)
    {
        await using var server = await SandboxBtcPayServer.StartAsync();
        var key = server.CreateApiKey([.. permissions.Split(' ').Select(p => p.Replace("{store}", server.StoreId, StringComparison.Ordinal))]);
        await using var bot = await StartAsync(server, key);

        await bot.Backend.CheckHealthAsync(CancellationToken.None);
        var created = await bot.Backend.CreateInvoiceAsync(Request(), CancellationToken.None);

        Assert.Equal(InvoiceState.Open, (await bot.Backend.LookupInvoiceAsync(created.Reference, CancellationToken.None)).State);
    }

    [Fact]
    public async Task A_key_scoped_to_another_store_is_refused()
    {
        await using var server = await SandboxBtcPayServer.StartAsync();
        var other = server.AddStore();
        await using var bot = await StartAsync(server, server.CreateApiKey("btcpay.store.canmodifyinvoices:" + other));

        var health = await Assert.ThrowsAsync<PaymentBackendException>(() => bot.Backend.CheckHealthAsync(CancellationToken.None));
        var create = await Assert.ThrowsAsync<PaymentBackendException>(() => bot.Backend.CreateInvoiceAsync(Request(), CancellationToken.None));

        Assert.Contains("lacks btcpay.store.cancreateinvoice, btcpay.store.canviewinvoices", health.Message, StringComparison.Ordinal);
        Assert.False(create.IsTransient);
        Assert.Contains("missing-permission", create.Message, StringComparison.Ordinal);
        Assert.Contains("btcpay.store.cancreateinvoice", create.Message, StringComparison.Ordinal);
        Assert.Empty(server.Invoices);
    }

    [Fact]
    public async Task A_wrong_api_key_is_a_clear_permanent_error_that_does_not_quote_it()
    {
        await using var server = await SandboxBtcPayServer.StartAsync();
        const string wrong = "0123456789abcdef0123456789abcdef01234567";
        await using var bot = await StartAsync(server, wrong);

        var health = await Assert.ThrowsAsync<PaymentBackendException>(() => bot.Backend.CheckHealthAsync(CancellationToken.None));
        var create = await Assert.ThrowsAsync<PaymentBackendException>(() => bot.Backend.CreateInvoiceAsync(Request(), CancellationToken.None));

        foreach (var error in new[] { health, create })
        {
            Assert.False(error.IsTransient);
            Assert.Contains("does not accept Payments:BtcPay:ApiKey", error.Message, StringComparison.Ordinal);
            Assert.DoesNotContain(wrong, error.ToString(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_wrong_store_id_is_refused_at_the_health_check()
    {
        await using var server = await SandboxBtcPayServer.StartAsync();
        await using var bot = await StartAsync(server, server.CreateApiKey("unrestricted"),
            settings: new Dictionary<string, string?> { ["StoreId"] = "NoSuchStore" });

        var error = await Assert.ThrowsAsync<PaymentBackendException>(() => bot.Backend.CheckHealthAsync(CancellationToken.None));

        Assert.False(error.IsTransient);
        Assert.Contains("store-not-found", error.Message, StringComparison.Ordinal);
        Assert.Contains("Payments:BtcPay:StoreId", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_lightning_invoice_for_another_amount_is_refused_and_the_orphan_named()
    {
        await using var server = await SandboxBtcPayServer.StartAsync(new SandboxBtcPayOptions
        {
            TamperWithInvoices = d => d with { AmountMsat = d.AmountMsat + 1000 },
        });
        await using var bot = await StartAsync(server);

        var error = await Assert.ThrowsAsync<PaymentBackendException>(() => bot.Backend.CreateInvoiceAsync(Request(21_000_000), CancellationToken.None));

        Assert.False(error.IsTransient);
        Assert.Contains("Lightning amount 21001000 msat instead of 21000000", error.Message, StringComparison.Ordinal);
        Assert.Contains($"BTCPay invoice {server.Invoices[0].Id} was created and will expire unpaid", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_lightning_invoice_that_outlives_the_btcpay_invoice_is_refused()
    {
        await using var server = await SandboxBtcPayServer.StartAsync(new SandboxBtcPayOptions
        {
            TamperWithInvoices = d => d.WithField(Bolt11TaggedField.ExpiryType, Bolt11TaggedField.Expiry(24 * 3600)),
        });
        await using var bot = await StartAsync(server);

        var error = await Assert.ThrowsAsync<PaymentBackendException>(() => bot.Backend.CreateInvoiceAsync(Request(), CancellationToken.None));

        Assert.Contains("not with the BTCPay invoice", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_lazy_lightning_payment_method_is_activated_before_its_bolt11_is_read()
    {
        await using var server = await SandboxBtcPayServer.StartAsync(new SandboxBtcPayOptions { ForceLazyPaymentMethods = true });
        await using var bot = await StartAsync(server);

        var created = await bot.Backend.CreateInvoiceAsync(Request(), CancellationToken.None);

        Assert.Equal(server.Invoices[0].Bolt11, created.Bolt11);
        Assert.Contains(server.Exchanges, e => e.Method == "POST" && e.Path.EndsWith("/payment-methods/BTC-LN/activate", StringComparison.Ordinal));
    }

    [Fact]
    public async Task BTCPay_1x_payment_method_names_are_understood()
    {
        await using var server = await SandboxBtcPayServer.StartAsync(new SandboxBtcPayOptions { LegacyPaymentMethods = true });
        await using var bot = await StartAsync(server);

        var created = await bot.Backend.CreateInvoiceAsync(Request(2_000_000), CancellationToken.None);
        await server.PayAsync(created.Bolt11, 2_500_000);
        var update = await bot.Backend.LookupInvoiceAsync(created.Reference, CancellationToken.None);

        Assert.Contains(server.Exchanges, e => e.ResponseBody?.Contains("\"paymentMethod\":\"BTC-LightningNetwork\"", StringComparison.Ordinal) == true);
        Assert.Equal(new InvoiceUpdate(created.Reference, InvoiceState.Settled, 2_000_000, 2_500_000, null), update);
    }

    [Fact]
    public async Task The_request_asks_for_a_sats_invoice_paid_by_lightning_with_our_order_id()
    {
        await using var server = await SandboxBtcPayServer.StartAsync();
        await using var bot = await StartAsync(server);
        var request = Request(21_000_000, expiryMinutes: 45, memo: "Access to #vip");

        await bot.Backend.CreateInvoiceAsync(request, CancellationToken.None);
        var post = Assert.Single(server.Exchanges, e => e.Method == "POST" && e.Path == $"/api/v1/stores/{server.StoreId}/invoices");

        Assert.Equal(
            $$$"""{"amount":"21000","currency":"SATS","metadata":{"orderId":"{{{request.OrderId}}}","itemDesc":"Access to #vip"},"checkout":{"paymentMethods":["BTC-LN"],"expirationMinutes":45,"lazyPaymentMethods":false,"monitoringMinutes":1440}}""",
            post.RequestBody);
    }

    [Fact]
    public async Task A_partial_minute_expiry_is_rounded_up_and_a_partial_satoshi_refused()
    {
        await using var server = await SandboxBtcPayServer.StartAsync();
        await using var bot = await StartAsync(server);

        var created = await bot.Backend.CreateInvoiceAsync(new InvoiceRequest("o-1", 1000, "m", TimeSpan.FromSeconds(61)), CancellationToken.None);
        await Assert.ThrowsAsync<ArgumentException>(() => bot.Backend.CreateInvoiceAsync(new InvoiceRequest("o-2", 1500, "m", TimeSpan.FromMinutes(5)), CancellationToken.None));

        Assert.Equal(server.Invoices[0].CreatedAt.AddMinutes(2), server.Invoices[0].ExpiresAt);
        Assert.Single(server.Invoices);
        Assert.Equal(created.Reference, server.Invoices[0].Id);
    }

    [Fact]
    public async Task The_poll_interval_comes_from_the_options()
    {
        await using var server = await SandboxBtcPayServer.StartAsync();
        await using var polling = await StartAsync(server, settings: new Dictionary<string, string?> { ["PollInterval"] = "00:00:30" });
        await using var webhooks = await StartAsync(server, registerWebhook: true);

        Assert.Equal(TimeSpan.FromSeconds(30), polling.Backend.PollInterval);
        Assert.Null(webhooks.Backend.PollInterval);
    }
}
