using Doorman.Access;
using Doorman.Payments.Bolt11;
using Doorman.Payments.Lnd;
using Doorman.Sandbox.Lightning;
using Microsoft.Extensions.Time.Testing;
using static Doorman.Tests.Payments.LndTestHarness;

namespace Doorman.Tests.Payments;

/// <summary>The bot's LND backend against the sandbox node, over real TLS.</summary>
public sealed class LndPaymentBackendTests
{
    [Fact]
    public async Task Creating_an_invoice_returns_the_nodes_signed_bolt11_for_what_was_asked()
    {
        await using var node = await SandboxLightningNode.StartAsync();
        using var backend = Backend(node);

        var created = await backend.CreateInvoiceAsync(Request(21_000_000, "Access to #vip", 900), CancellationToken.None);
        var decoded = Bolt11Codec.Decode(created.Bolt11);

        Assert.Equal("lnd", backend.Name);
        Assert.Equal(created.PaymentHash, created.Reference);
        Assert.Matches("^[0-9a-f]{64}$", created.PaymentHash);
        Assert.Equal(created.PaymentHash, decoded.PaymentHash);
        Assert.Equal(21_000_000, decoded.AmountMsat);
        Assert.Equal("Access to #vip", decoded.Description);
        Assert.Equal(900, decoded.ExpirySeconds);
        Assert.Equal(node.IdentityPubKey, decoded.PayeePubKey);
        Assert.Equal(decoded.Timestamp.AddSeconds(900), created.ExpiresAt);
        Assert.Equal(created.PaymentHash, Assert.Single(node.Invoices).PaymentHash);
    }

    [Fact]
    public async Task The_expiry_is_rounded_up_to_whole_seconds()
    {
        await using var node = await SandboxLightningNode.StartAsync();
        using var backend = Backend(node);

        var created = await backend.CreateInvoiceAsync(
            new InvoiceRequest("order-1", 1_000, "memo", TimeSpan.FromSeconds(90.2)), CancellationToken.None);

        Assert.Equal(91, Bolt11Codec.Decode(created.Bolt11).ExpirySeconds);
    }

    [Fact]
    public async Task A_paid_invoice_looks_up_as_settled_with_the_amount_paid()
    {
        await using var node = await SandboxLightningNode.StartAsync();
        using var backend = Backend(node);
        var created = await backend.CreateInvoiceAsync(Request(5_000_000), CancellationToken.None);

        var before = await backend.LookupInvoiceAsync(created.Reference, CancellationToken.None);
        await node.PayAsync(created.Bolt11);
        var after = await backend.LookupInvoiceAsync(created.Reference.ToUpperInvariant(), CancellationToken.None);

        Assert.Equal(new InvoiceUpdate(created.Reference, InvoiceState.Open, 5_000_000, 0, null), before);
        Assert.Equal(new InvoiceUpdate(created.Reference, InvoiceState.Settled, 5_000_000, 5_000_000, null), after);
    }

    [Fact]
    public async Task Overpayment_is_reported_as_paid_more_than_asked()
    {
        await using var node = await SandboxLightningNode.StartAsync();
        using var backend = Backend(node);
        var created = await backend.CreateInvoiceAsync(Request(5_000_000), CancellationToken.None);

        await node.PayAsync(created.PaymentHash, 7_500_000);
        var update = await backend.LookupInvoiceAsync(created.Reference, CancellationToken.None);

        Assert.Equal(InvoiceState.Settled, update.State);
        Assert.Equal(5_000_000, update.AmountMsat);
        Assert.Equal(7_500_000, update.PaidMsat);
    }

    [Fact]
    public async Task An_expired_invoice_looks_up_as_canceled()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero));
        await using var node = await SandboxLightningNode.StartAsync(new SandboxLightningOptions { TimeProvider = clock });
        using var backend = Backend(node, time: clock);
        var created = await backend.CreateInvoiceAsync(Request(expirySeconds: 600), CancellationToken.None);

        clock.Advance(TimeSpan.FromSeconds(599));
        var almost = await backend.LookupInvoiceAsync(created.Reference, CancellationToken.None);
        clock.Advance(TimeSpan.FromSeconds(1));
        var expired = await backend.LookupInvoiceAsync(created.Reference, CancellationToken.None);

        Assert.Equal(clock.GetUtcNow(), created.ExpiresAt);
        Assert.Equal(InvoiceState.Open, almost.State);
        Assert.Equal(InvoiceState.Canceled, expired.State);
        Assert.Equal(0, expired.PaidMsat);
    }

    [Fact]
    public async Task An_unknown_invoice_is_NotFound()
    {
        await using var node = await SandboxLightningNode.StartAsync();
        using var backend = Backend(node);

        var update = await backend.LookupInvoiceAsync(new string('a', 64), CancellationToken.None);

        Assert.Equal(InvoiceState.NotFound, update.State);
        await Assert.ThrowsAsync<ArgumentException>(() => backend.LookupInvoiceAsync("not-a-hash", CancellationToken.None));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_wrong_macaroon_is_a_clear_permanent_error_that_does_not_quote_it(bool refusalsAsLnd)
    {
        await using var node = await SandboxLightningNode.StartAsync(new SandboxLightningOptions { AuthFailuresAsUnknown = refusalsAsLnd });
        var wrong = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(96));
        using var backend = Backend(node, macaroonHex: wrong);

        var create = await Assert.ThrowsAsync<PaymentBackendException>(() => backend.CreateInvoiceAsync(Request(), CancellationToken.None));
        var health = await Assert.ThrowsAsync<PaymentBackendException>(() => backend.CheckHealthAsync(CancellationToken.None));
        var feed = await Assert.ThrowsAsync<PaymentBackendException>(() => backend.OpenSettlementFeedAsync(null, CancellationToken.None));

        foreach (var error in new[] { create, health, feed })
        {
            Assert.False(error.IsTransient);
            Assert.StartsWith("LND refused the macaroon", error.Message, StringComparison.Ordinal);
            Assert.DoesNotContain(wrong, error.ToString(), StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain(node.AdminMacaroonHex, error.ToString(), StringComparison.OrdinalIgnoreCase);
        }
        Assert.Empty(node.Invoices);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task The_invoice_macaroon_is_enough_for_everything_the_bot_does(bool refusalsAsLnd)
    {
        await using var node = await SandboxLightningNode.StartAsync(new SandboxLightningOptions { AuthFailuresAsUnknown = refusalsAsLnd });
        using var backend = Backend(node, macaroonHex: node.InvoiceMacaroonHex);

        await backend.CheckHealthAsync(CancellationToken.None);
        var first = await backend.CreateInvoiceAsync(Request(), CancellationToken.None);
        var second = await backend.CreateInvoiceAsync(Request(), CancellationToken.None);
        await using var feed = await FeedReader.OpenAsync(backend, null);
        await node.PayAsync(second.Bolt11);
        var settled = await feed.NextAsync();
        var looked = await backend.LookupInvoiceAsync(first.Reference, CancellationToken.None);

        Assert.Equal(second.Reference, settled.Reference);
        Assert.Equal(InvoiceState.Open, looked.State);
    }

    [Fact]
    public async Task Health_uses_GetInfo_with_the_admin_macaroon()
    {
        await using var node = await SandboxLightningNode.StartAsync();
        using var backend = Backend(node);

        await backend.CheckHealthAsync(CancellationToken.None);
    }

    [Fact]
    public async Task Another_nodes_certificate_fails_the_pin_clearly()
    {
        await using var node = await SandboxLightningNode.StartAsync();
        await using var impostor = await SandboxLightningNode.StartAsync();
        var directory = impostor.WriteFiles(Path.Combine(Path.GetTempPath(), "doorman-lnd-" + Guid.NewGuid().ToString("N")));
        try
        {
            using var backend = Backend(node, configure: o =>
            {
                o.TlsCertThumbprint = null;
                o.TlsCertPath = Path.Combine(directory, "tls.cert");
            });

            var error = await Assert.ThrowsAsync<PaymentBackendException>(() => backend.CreateInvoiceAsync(Request(), CancellationToken.None));

            Assert.True(error.IsTransient);
            Assert.StartsWith("LND's TLS certificate does not match the pinned certificate", error.Message, StringComparison.Ordinal);
            Assert.Contains(Thumbprint(node), error.Message, StringComparison.Ordinal);
            Assert.Contains(Thumbprint(impostor), error.Message, StringComparison.Ordinal);
            Assert.Empty(node.Invoices);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task A_pinned_file_is_re_read_when_lnd_regenerated_its_certificate()
    {
        await using var node = await SandboxLightningNode.StartAsync();
        await using var other = await SandboxLightningNode.StartAsync();
        var directory = other.WriteFiles(Path.Combine(Path.GetTempPath(), "doorman-lnd-" + Guid.NewGuid().ToString("N")));
        try
        {
            var certPath = Path.Combine(directory, "tls.cert");
            using var backend = Backend(node, configure: o =>
            {
                o.TlsCertThumbprint = null;
                o.TlsCertPath = certPath;
            });
            await Assert.ThrowsAsync<PaymentBackendException>(() => backend.CheckHealthAsync(CancellationToken.None));

            await File.WriteAllTextAsync(certPath, node.TlsCertificatePem);

            await backend.CheckHealthAsync(CancellationToken.None);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task A_self_signed_certificate_without_a_pin_is_refused_with_advice()
    {
        await using var node = await SandboxLightningNode.StartAsync();
        using var backend = Backend(node, configure: o => o.TlsCertThumbprint = null);

        var error = await Assert.ThrowsAsync<PaymentBackendException>(() => backend.CheckHealthAsync(CancellationToken.None));

        Assert.True(error.IsTransient);
        Assert.Contains("TlsCertPath", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_node_that_is_down_is_a_transient_error_naming_the_address()
    {
        var node = await SandboxLightningNode.StartAsync();
        using var backend = Backend(node);
        var address = node.Address;
        await node.DisposeAsync();

        var error = await Assert.ThrowsAsync<PaymentBackendException>(() => backend.LookupInvoiceAsync(new string('b', 64), CancellationToken.None));

        Assert.True(error.IsTransient);
        Assert.StartsWith($"cannot reach LND at {address}", error.Message, StringComparison.Ordinal);
    }

    public static TheoryData<string, string> Tampering => new()
    {
        { "amount", "amount 21001000 msat instead of 21000000" },
        { "no amount", "amount any msat instead of 21000000" },
        { "hash", "instead of r_hash" },
        { "expiry", "expiry 7200 s instead of 3600 s" },
        { "description", "a description other than the memo" },
    };

    [Theory]
    [MemberData(nameof(Tampering))]
    public async Task An_invoice_that_differs_from_the_request_is_refused(string tampering, string reason)
    {
        Func<Bolt11InvoiceDraft, Bolt11InvoiceDraft> tamper = tampering switch
        {
            "amount" => d => d with { AmountMsat = d.AmountMsat + 1_000 },
            "no amount" => d => d with { AmountMsat = null },
            "hash" => d => d.WithField(Bolt11TaggedField.PaymentHashType, Bolt11TaggedField.PaymentHash(new byte[32])),
            "expiry" => d => d.WithField(Bolt11TaggedField.ExpiryType, Bolt11TaggedField.Expiry(7200)),
            _ => d => d.WithField(Bolt11TaggedField.DescriptionType, Bolt11TaggedField.Description("Pay the other guy")),
        };
        await using var node = await SandboxLightningNode.StartAsync(new SandboxLightningOptions { TamperWithInvoices = tamper });
        using var backend = Backend(node);

        var error = await Assert.ThrowsAsync<PaymentBackendException>(() => backend.CreateInvoiceAsync(Request(21_000_000), CancellationToken.None));

        Assert.False(error.IsTransient);
        Assert.StartsWith("LND returned an invoice that does not match the request", error.Message, StringComparison.Ordinal);
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Requests_lnd_would_refuse_are_caught_before_calling_it()
    {
        await using var node = await SandboxLightningNode.StartAsync();
        using var backend = Backend(node);

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => backend.CreateInvoiceAsync(Request(amountMsat: 0), CancellationToken.None));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => backend.CreateInvoiceAsync(Request(expirySeconds: 0), CancellationToken.None));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => backend.CreateInvoiceAsync(Request(expirySeconds: 31_536_001), CancellationToken.None));
        await Assert.ThrowsAsync<ArgumentException>(() => backend.CreateInvoiceAsync(Request(memo: new string('x', 640)), CancellationToken.None));

        Assert.Empty(node.Invoices);
    }

    /// <summary>
    /// LND's states as the settle rule needs them: only SETTLED carries a payment. ACCEPTED is a hold invoice whose
    /// HTLCs are locked in but not yet claimed (lightning.proto, Invoice.InvoiceState): it may report amt_paid_msat,
    /// yet the money can still go back, so it grants nothing.
    /// </summary>
    [Theory]
    [InlineData("Open", InvoiceState.Open, 0)]
    [InlineData("Accepted", InvoiceState.Open, 0)]
    [InlineData("Canceled", InvoiceState.Canceled, 0)]
    [InlineData("Settled", InvoiceState.Settled, 12_345_000)]
    public void Only_a_settled_invoice_reports_what_was_paid(string lndState, InvoiceState expected, long paidMsat)
    {
        var invoice = new Lnrpc.Invoice
        {
            RHash = Google.Protobuf.ByteString.CopyFrom(Enumerable.Range(0, 32).Select(i => (byte)i).ToArray()),
            State = Enum.Parse<Lnrpc.Invoice.Types.InvoiceState>(lndState),
            ValueMsat = 12_000_000,
            AmtPaidMsat = 12_345_000,
        };
        var update = LndPaymentBackend.ToUpdate(invoice, cursor: null);
        Assert.Equal(expected, update.State);
        Assert.Equal(paidMsat, update.PaidMsat);
        Assert.Equal(12_000_000, update.AmountMsat);
        Assert.Equal("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", update.Reference);
    }
}
