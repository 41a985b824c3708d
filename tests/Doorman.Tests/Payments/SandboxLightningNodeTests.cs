using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Doorman.Payments.Bolt11;
using Doorman.Sandbox.Lightning;
using Google.Protobuf;
using Grpc.Core;
using Lnrpc;
using Microsoft.Extensions.Time.Testing;
using static Doorman.Tests.Payments.LndTestHarness;

namespace Doorman.Tests.Payments;

/// <summary>The sandbox speaks lnd's protocol: these tests call it with a raw lnrpc client.</summary>
public sealed class SandboxLightningNodeTests
{
    [Fact]
    public async Task An_added_invoice_carries_a_regtest_bolt11_signed_by_the_node()
    {
        await using var node = await SandboxLightningNode.StartAsync();
        var (client, channel) = RawClient(node);
        using var _ = channel;

        var added = await client.AddInvoiceAsync(
            new Invoice { ValueMsat = 1_234_567, Memo = "room access", Expiry = 900 }, Macaroon(node.AdminMacaroonHex));
        var decoded = Bolt11Codec.Decode(added.PaymentRequest);

        Assert.Equal(32, added.RHash.Length);
        Assert.Equal(1UL, added.AddIndex);
        Assert.Equal("bcrt", decoded.Network);
        Assert.StartsWith("lnbcrt", added.PaymentRequest, StringComparison.Ordinal);
        Assert.Equal(1_234_567, decoded.AmountMsat);
        Assert.Equal(Convert.ToHexStringLower(added.RHash.Span), decoded.PaymentHash);
        Assert.Equal(Convert.ToHexStringLower(added.PaymentAddr.Span), decoded.PaymentSecret);
        Assert.Equal("room access", decoded.Description);
        Assert.Equal(900, decoded.ExpirySeconds);
        Assert.Equal(node.IdentityPubKey, decoded.PayeePubKey);
        Assert.True(decoded.IsSignatureValid);
        Assert.Contains(14, decoded.Features);
    }

    [Fact]
    public async Task Add_indexes_count_from_one_and_expiry_zero_means_a_day()
    {
        await using var node = await SandboxLightningNode.StartAsync();
        var (client, channel) = RawClient(node);
        using var _ = channel;
        var auth = Macaroon(node.AdminMacaroonHex);

        var first = await client.AddInvoiceAsync(new Invoice { Value = 10, Memo = "a" }, auth);
        var second = await client.AddInvoiceAsync(new Invoice { ValueMsat = 10_500, Memo = "b", Expiry = 0 }, auth);
        var looked = await client.LookupInvoiceAsync(new PaymentHash { RHash = second.RHash }, auth);

        Assert.Equal([1UL, 2UL], new[] { first.AddIndex, second.AddIndex });
        Assert.Equal(86400, looked.Expiry);
        Assert.Equal(86400, Bolt11Codec.Decode(second.PaymentRequest).ExpirySeconds);
        Assert.Equal(10_000, Bolt11Codec.Decode(first.PaymentRequest).AmountMsat);
        Assert.Equal(10_500, looked.ValueMsat);
        Assert.Equal(10, looked.Value);
        Assert.Equal(Invoice.Types.InvoiceState.Open, looked.State);
        Assert.Equal(0UL, looked.SettleIndex);
    }

    private static readonly Dictionary<string, Invoice> BadInvoiceCases = new()
    {
        ["both amounts"] = new Invoice { Value = 1, ValueMsat = 1000 },
        ["negative msat"] = new Invoice { ValueMsat = -1 },
        ["negative sat"] = new Invoice { Value = -5 },
        ["long memo"] = new Invoice { Value = 1, Memo = new string('m', 1025) },
        ["over a year"] = new Invoice { Value = 1, Expiry = 31_536_001 },
        ["short description hash"] = new Invoice { Value = 1, DescriptionHash = ByteString.CopyFrom(new byte[31]) },
        ["over 100k BTC"] = new Invoice { ValueMsat = 100_000L * 100_000_000 * 1000 + 1 },
    };

    public static TheoryData<string, string> BadInvoices => new()
    {
        { "both amounts", "mutually exclusive" },
        { "negative msat", "negative value" },
        { "negative sat", "negative value" },
        { "long memo", "memo too large: 1025 bytes (maxsize=1024)" },
        { "over a year", "greater than max expiry of 31536000 seconds" },
        { "short description hash", "description hash is 31 bytes" },
        { "over 100k BTC", "too large" },
    };

    [Theory]
    [MemberData(nameof(BadInvoices))]
    public async Task Invalid_invoices_are_rejected_as_lnd_rejects_them(string name, string reason)
    {
        var invoice = BadInvoiceCases[name];
        await using var node = await SandboxLightningNode.StartAsync();
        var (client, channel) = RawClient(node);
        using var _ = channel;

        var error = await Assert.ThrowsAsync<RpcException>(() => client.AddInvoiceAsync(invoice, Macaroon(node.AdminMacaroonHex)).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains(reason, error.Status.Detail, StringComparison.Ordinal);
        Assert.Empty(node.Invoices);
    }

    [Fact]
    public async Task A_memo_of_exactly_1024_bytes_passes_lnds_limit_but_not_bolt11s()
    {
        await using var node = await SandboxLightningNode.StartAsync();
        var (client, channel) = RawClient(node);
        using var _ = channel;
        var auth = Macaroon(node.AdminMacaroonHex);

        var fits = await client.AddInvoiceAsync(new Invoice { Value = 1, Memo = new string('m', 639) }, auth);
        var error = await Assert.ThrowsAsync<RpcException>(
            () => client.AddInvoiceAsync(new Invoice { Value = 1, Memo = new string('m', 1024) }, auth).ResponseAsync);

        Assert.Equal(639, Bolt11Codec.Decode(fits.PaymentRequest).Description!.Length);
        Assert.Contains("639", error.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Lookup_of_an_unknown_hash_is_NotFound_and_a_short_hash_is_invalid()
    {
        await using var node = await SandboxLightningNode.StartAsync();
        var (client, channel) = RawClient(node);
        using var _ = channel;
        var auth = Macaroon(node.AdminMacaroonHex);

        var unknown = await Assert.ThrowsAsync<RpcException>(() =>
            client.LookupInvoiceAsync(new PaymentHash { RHash = ByteString.CopyFrom(new byte[32]) }, auth).ResponseAsync);
        var shortHash = await Assert.ThrowsAsync<RpcException>(() =>
            client.LookupInvoiceAsync(new PaymentHash { RHash = ByteString.CopyFrom(new byte[31]) }, auth).ResponseAsync);

        Assert.Equal(StatusCode.NotFound, unknown.StatusCode);
        Assert.Equal(StatusCode.InvalidArgument, shortHash.StatusCode);
        Assert.Contains("exactly 32 bytes, is instead 31", shortHash.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ListInvoices_pages_by_add_index_forward_backward_and_pending_only()
    {
        await using var node = await SandboxLightningNode.StartAsync();
        var (client, channel) = RawClient(node);
        using var _ = channel;
        var auth = Macaroon(node.AdminMacaroonHex);
        var hashes = new List<string>();
        for (var i = 0; i < 5; i++)
            hashes.Add(Convert.ToHexStringLower((await client.AddInvoiceAsync(new Invoice { Value = 100 + i }, auth)).RHash.Span));
        await node.PayAsync(hashes[1]);

        var forward = await client.ListInvoicesAsync(new ListInvoiceRequest { IndexOffset = 2, NumMaxInvoices = 2 }, auth);
        var newest = await client.ListInvoicesAsync(new ListInvoiceRequest { Reversed = true, NumMaxInvoices = 2 }, auth);
        var backward = await client.ListInvoicesAsync(new ListInvoiceRequest { Reversed = true, IndexOffset = 4, NumMaxInvoices = 2 }, auth);
        var pending = await client.ListInvoicesAsync(new ListInvoiceRequest { PendingOnly = true }, auth);
        var past = await client.ListInvoicesAsync(new ListInvoiceRequest { IndexOffset = 5 }, auth);

        Assert.Equal([3UL, 4UL], forward.Invoices.Select(i => i.AddIndex));
        Assert.Equal((3UL, 4UL), (forward.FirstIndexOffset, forward.LastIndexOffset));
        Assert.Equal([4UL, 5UL], newest.Invoices.Select(i => i.AddIndex));
        Assert.Equal([2UL, 3UL], backward.Invoices.Select(i => i.AddIndex));
        Assert.Equal([1UL, 3UL, 4UL, 5UL], pending.Invoices.Select(i => i.AddIndex));
        Assert.Empty(past.Invoices);
        Assert.Equal((0UL, 0UL), (past.FirstIndexOffset, past.LastIndexOffset));
    }

    [Fact]
    public async Task SubscribeInvoices_replays_after_the_given_indexes_then_streams_adds_and_settles_only()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero));
        await using var node = await SandboxLightningNode.StartAsync(new SandboxLightningOptions { TimeProvider = clock });
        var (client, channel) = RawClient(node);
        using var _ = channel;
        var auth = Macaroon(node.AdminMacaroonHex);
        var hashes = new List<ByteString>();
        for (var i = 0; i < 4; i++)
            hashes.Add((await client.AddInvoiceAsync(new Invoice { Value = 1000, Expiry = i == 3 ? 60 : 3600 }, auth)).RHash);
        await node.PayAsync(Hex(hashes[0]));
        await node.PayAsync(Hex(hashes[1]));

        using var stream = client.SubscribeInvoices(new InvoiceSubscription { AddIndex = 2, SettleIndex = 1 }, auth);
        var replay = await ReadAsync(stream, 3);
        clock.Advance(TimeSpan.FromSeconds(61)); // invoice 4 expires: canceled, and not streamed
        await node.PayAsync(Hex(hashes[2]));
        var added = await client.AddInvoiceAsync(new Invoice { Value = 7 }, auth);
        var live = await ReadAsync(stream, 2);

        Assert.Equal(
            [(3UL, Invoice.Types.InvoiceState.Open), (4UL, Invoice.Types.InvoiceState.Open), (2UL, Invoice.Types.InvoiceState.Settled)],
            replay.Select(i => (i.State == Invoice.Types.InvoiceState.Settled ? i.SettleIndex : i.AddIndex, i.State)));
        Assert.Equal([Invoice.Types.InvoiceState.Settled, Invoice.Types.InvoiceState.Open], live.Select(i => i.State));
        Assert.Equal(3UL, live[0].SettleIndex);
        Assert.Equal(added.RHash, live[1].RHash);
        Assert.Equal(SandboxInvoiceState.Canceled, node.Invoices[3].State);
    }

    [Fact]
    public async Task SubscribeInvoices_from_zero_replays_nothing()
    {
        await using var node = await SandboxLightningNode.StartAsync();
        var (client, channel) = RawClient(node);
        using var _ = channel;
        var auth = Macaroon(node.AdminMacaroonHex);
        var first = await client.AddInvoiceAsync(new Invoice { Value = 1 }, auth);
        await node.PayAsync(Hex(first.RHash));

        using var stream = client.SubscribeInvoices(new InvoiceSubscription(), auth);
        var next = stream.ResponseStream.MoveNext(CancellationToken.None);
        // The registration cannot be observed, so keep adding until the stream speaks: the first thing it says must
        // be a live add, not the earlier invoice or its settlement.
        var later = new List<ByteString>();
        while (!next.IsCompleted && later.Count < 50)
        {
            later.Add((await client.AddInvoiceAsync(new Invoice { Value = 2 }, auth)).RHash);
            await Task.WhenAny(next, Task.Delay(100));
        }

        Assert.True(await next);
        Assert.Equal(Invoice.Types.InvoiceState.Open, stream.ResponseStream.Current.State);
        Assert.NotEqual(first.RHash, stream.ResponseStream.Current.RHash);
        Assert.Contains(stream.ResponseStream.Current.RHash, later);
    }

    [Fact]
    public async Task Every_call_needs_exactly_one_macaroon()
    {
        await using var node = await SandboxLightningNode.StartAsync();
        var (client, channel) = RawClient(node);
        using var _ = channel;

        var missing = await Assert.ThrowsAsync<RpcException>(() => client.GetInfoAsync(new GetInfoRequest()).ResponseAsync);
        var wrong = await Assert.ThrowsAsync<RpcException>(() =>
            client.GetInfoAsync(new GetInfoRequest(), Macaroon(Convert.ToHexString(RandomNumberGenerator.GetBytes(96)))).ResponseAsync);
        var stream = client.SubscribeInvoices(new InvoiceSubscription());
        var streamMissing = await Assert.ThrowsAsync<RpcException>(() => stream.ResponseStream.MoveNext(CancellationToken.None));
        var info = await client.GetInfoAsync(new GetInfoRequest(), Macaroon(node.AdminMacaroonHex.ToUpperInvariant()));

        Assert.Equal((StatusCode.Unauthenticated, "expected 1 macaroon, got 0"), (missing.StatusCode, missing.Status.Detail));
        Assert.Equal(StatusCode.Unauthenticated, wrong.StatusCode);
        Assert.Contains("verification failed", wrong.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(StatusCode.Unauthenticated, streamMissing.StatusCode);
        Assert.Equal(node.IdentityPubKey, info.IdentityPubkey);
        Assert.Equal("regtest", Assert.Single(info.Chains).Network);
    }

    [Theory]
    [InlineData(false, StatusCode.PermissionDenied)]
    [InlineData(true, StatusCode.Unknown)]
    public async Task The_invoice_macaroon_manages_invoices_but_cannot_call_GetInfo(bool asLnd, StatusCode expected)
    {
        await using var node = await SandboxLightningNode.StartAsync(new SandboxLightningOptions { AuthFailuresAsUnknown = asLnd });
        var (client, channel) = RawClient(node);
        using var _ = channel;
        var auth = Macaroon(node.InvoiceMacaroonHex);

        var added = await client.AddInvoiceAsync(new Invoice { Value = 5 }, auth);
        var listed = await client.ListInvoicesAsync(new ListInvoiceRequest(), auth);
        var refused = await Assert.ThrowsAsync<RpcException>(() => client.GetInfoAsync(new GetInfoRequest(), auth).ResponseAsync);

        Assert.Equal(added.RHash, Assert.Single(listed.Invoices).RHash);
        Assert.Equal((expected, "permission denied"), (refused.StatusCode, refused.Status.Detail));
    }

    [Fact]
    public async Task The_tls_certificate_is_self_signed_P256_for_localhost_and_loopback()
    {
        await using var node = await SandboxLightningNode.StartAsync();

        using var certificate = X509Certificate2.CreateFromPem(node.TlsCertificatePem);
        using var key = certificate.GetECDsaPublicKey();
        var names = certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single();

        Assert.Equal(node.TlsCertificateDer, certificate.RawData);
        Assert.Equal(certificate.Subject, certificate.Issuer);
        Assert.Equal(256, key!.KeySize);
        Assert.Equal(ECCurve.NamedCurves.nistP256.Oid.Value, key.ExportParameters(false).Curve.Oid.Value);
        Assert.Contains("localhost", names.EnumerateDnsNames());
        Assert.Contains(IPAddress.Loopback, names.EnumerateIPAddresses());
        Assert.Equal(IPAddress.Loopback.ToString(), node.Address.Host);
    }

    [Fact]
    public async Task Files_are_written_as_lnd_writes_them()
    {
        await using var node = await SandboxLightningNode.StartAsync();
        var directory = Path.Combine(Path.GetTempPath(), "doorman-lnd-" + Guid.NewGuid().ToString("N"));
        try
        {
            Assert.Equal(directory, node.WriteFiles(directory));

            Assert.Equal(Convert.FromHexString(node.AdminMacaroonHex), await File.ReadAllBytesAsync(Path.Combine(directory, "admin.macaroon")));
            Assert.Equal(Convert.FromHexString(node.InvoiceMacaroonHex), await File.ReadAllBytesAsync(Path.Combine(directory, "invoice.macaroon")));
            Assert.StartsWith("-----BEGIN CERTIFICATE-----", await File.ReadAllTextAsync(Path.Combine(directory, "tls.cert")), StringComparison.Ordinal);
            Assert.NotEqual(node.AdminMacaroonHex, node.InvoiceMacaroonHex);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task Paying_refuses_what_lnd_would_not_accept()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero));
        await using var node = await SandboxLightningNode.StartAsync(new SandboxLightningOptions { TimeProvider = clock });
        var (client, channel) = RawClient(node);
        using var _ = channel;
        var auth = Macaroon(node.AdminMacaroonHex);
        var paid = await client.AddInvoiceAsync(new Invoice { Value = 10 }, auth);
        var expiring = await client.AddInvoiceAsync(new Invoice { Value = 10, Expiry = 30 }, auth);
        var anyAmount = await client.AddInvoiceAsync(new Invoice { Memo = "tip" }, auth);
        await node.PayAsync(paid.PaymentRequest);
        clock.Advance(TimeSpan.FromSeconds(30));

        await Assert.ThrowsAsync<InvalidOperationException>(() => node.PayAsync(paid.PaymentRequest));
        await Assert.ThrowsAsync<InvalidOperationException>(() => node.PayAsync(expiring.PaymentRequest));
        await Assert.ThrowsAsync<InvalidOperationException>(() => node.PayAsync(new string('0', 64)));
        await Assert.ThrowsAsync<InvalidOperationException>(() => node.PayAsync(anyAmount.PaymentRequest));
        await node.PayAsync(anyAmount.PaymentRequest, 4_000);

        Assert.Equal(
            [SandboxInvoiceState.Settled, SandboxInvoiceState.Canceled, SandboxInvoiceState.Settled],
            node.Invoices.Select(i => i.State));
        Assert.Equal(4_000, node.Invoices[2].AmountPaidMsat);
    }

    [Fact]
    public async Task Underpaying_is_refused()
    {
        await using var node = await SandboxLightningNode.StartAsync();
        var (client, channel) = RawClient(node);
        using var _ = channel;
        var added = await client.AddInvoiceAsync(new Invoice { Value = 10 }, Macaroon(node.AdminMacaroonHex));

        await Assert.ThrowsAsync<InvalidOperationException>(() => node.PayAsync(added.PaymentRequest, 9_999));

        Assert.Equal(SandboxInvoiceState.Open, Assert.Single(node.Invoices).State);
    }

    [Fact]
    public async Task Restarting_keeps_the_port_certificate_and_invoices_and_ends_streams()
    {
        await using var node = await SandboxLightningNode.StartAsync();
        var (client, channel) = RawClient(node);
        using var _ = channel;
        var auth = Macaroon(node.AdminMacaroonHex);
        var added = await client.AddInvoiceAsync(new Invoice { Value = 10 }, auth);
        var address = node.Address;
        using var stream = client.SubscribeInvoices(new InvoiceSubscription(), auth);
        var reading = stream.ResponseStream.MoveNext(CancellationToken.None);

        await node.RestartAsync();
        var error = await Assert.ThrowsAnyAsync<RpcException>(() => reading.WaitAsync(Patience));
        // A client connecting after the restart (the first channel's HTTP/2 connection may still be the old server's,
        // closing with GOAWAY: a call on it fails with Internal before the client has read that, which is a race
        // of the test's making, not of the node).
        var (after, afterChannel) = RawClient(node);
        using var __ = afterChannel;
        var looked = await after.LookupInvoiceAsync(new PaymentHash { RHash = added.RHash }, auth);

        Assert.Equal(StatusCode.Unavailable, error.StatusCode);
        Assert.Equal(address, node.Address);
        Assert.Equal(added.PaymentRequest, looked.PaymentRequest);
    }

    [Fact]
    public async Task Skipped_and_reset_settle_indexes_are_visible()
    {
        await using var node = await SandboxLightningNode.StartAsync();
        var (client, channel) = RawClient(node);
        using var _ = channel;
        var auth = Macaroon(node.AdminMacaroonHex);
        var a = await client.AddInvoiceAsync(new Invoice { Value = 1 }, auth);
        var b = await client.AddInvoiceAsync(new Invoice { Value = 1 }, auth);
        await node.PayAsync(a.PaymentRequest);
        node.SkipSettleIndex(3);
        await node.PayAsync(b.PaymentRequest);
        var before = node.Invoices.Select(i => i.SettleIndex).ToList();

        await node.RestartAsync(resetIndexes: true);

        Assert.Equal([1UL, 5UL], before);
        Assert.Equal([1UL, 2UL], node.Invoices.Select(i => i.SettleIndex));
    }

    [Fact]
    public async Task A_tamper_hook_changes_the_signed_invoice_but_not_the_stored_one()
    {
        await using var node = await SandboxLightningNode.StartAsync(new SandboxLightningOptions
        {
            TamperWithInvoices = d => d with { AmountMsat = d.AmountMsat + 1 },
        });
        var (client, channel) = RawClient(node);
        using var _ = channel;

        var added = await client.AddInvoiceAsync(new Invoice { ValueMsat = 5_000 }, Macaroon(node.AdminMacaroonHex));

        Assert.Equal(5_001, Bolt11Codec.Decode(added.PaymentRequest).AmountMsat);
        Assert.Equal(5_000, Assert.Single(node.Invoices).ValueMsat);
    }

    private static string Hex(ByteString bytes) => Convert.ToHexStringLower(bytes.Span);

    private static async Task<List<Invoice>> ReadAsync(AsyncServerStreamingCall<Invoice> stream, int count)
    {
        var read = new List<Invoice>();
        using var timeout = new CancellationTokenSource(Patience);
        while (read.Count < count && await stream.ResponseStream.MoveNext(timeout.Token))
            read.Add(stream.ResponseStream.Current);
        return read;
    }
}
