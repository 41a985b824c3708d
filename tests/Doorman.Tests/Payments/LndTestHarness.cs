using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Doorman.Access;
using Doorman.Payments;
using Doorman.Payments.Lnd;
using Doorman.Sandbox.Lightning;
using Grpc.Core;
using Grpc.Net.Client;
using Lnrpc;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Doorman.Tests.Payments;

internal static class LndTestHarness
{
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    public static string Thumbprint(SandboxLightningNode node) => Convert.ToHexStringLower(SHA256.HashData(node.TlsCertificateDer));

    /// <summary>
    /// The bot's backend pointed at <paramref name="node"/>, pinned to its certificate; its durable state in memory
    /// unless <paramref name="state"/> is given.
    /// </summary>
    public static LndPaymentBackend Backend(
        SandboxLightningNode node, string? macaroonHex = null, TimeProvider? time = null, Action<LndOptions>? configure = null,
        IPaymentState? state = null, ILogger<LndPaymentBackend>? logger = null)
    {
        var options = new LndOptions
        {
            Address = node.Address.ToString(),
            MacaroonHex = macaroonHex ?? node.AdminMacaroonHex,
            TlsCertThumbprint = Thumbprint(node),
        };
        configure?.Invoke(options);
        return new LndPaymentBackend(
            Options.Create(options), state ?? new MemoryPaymentState(), time ?? TimeProvider.System, logger ?? NullLogger<LndPaymentBackend>.Instance);
    }

    /// <summary>
    /// A raw lnrpc client for protocol tests: TLS pinned to the node, no call credentials, so each test decides
    /// what <c>macaroon</c> header to send.
    /// </summary>
    public static (Lightning.LightningClient Client, GrpcChannel Channel) RawClient(SandboxLightningNode node)
    {
        var der = node.TlsCertificateDer;
        var handler = new SocketsHttpHandler();
        handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, _) =>
            certificate is not null && certificate.GetRawCertData().AsSpan().SequenceEqual(der);
        var channel = GrpcChannel.ForAddress(node.Address, new GrpcChannelOptions { HttpHandler = handler, DisposeHttpClient = true });
        return (new Lightning.LightningClient(channel), channel);
    }

    public static Metadata Macaroon(string hex) => new() { { "macaroon", hex } };

    public static X509Certificate2 Certificate(SandboxLightningNode node) => X509CertificateLoader.LoadCertificate(node.TlsCertificateDer);

    public static InvoiceRequest Request(long amountMsat = 21_000_000, string memo = "Access to #vip:example.org, 30 days", int expirySeconds = 3600) =>
        new($"order-{Guid.NewGuid():N}", amountMsat, memo, TimeSpan.FromSeconds(expirySeconds));
}

/// <summary><see cref="IPaymentState"/> in memory, for tests that do not restart the bot.</summary>
internal sealed class MemoryPaymentState : IPaymentState
{
    private readonly ConcurrentDictionary<string, string?> values = new(StringComparer.Ordinal);

    public IReadOnlyDictionary<string, string?> Values => values;

    public Task<string?> GetAsync(string key, CancellationToken cancellationToken) => Task.FromResult(values.GetValueOrDefault(key));

    public Task SetAsync(string key, string? value, CancellationToken cancellationToken)
    {
        values[key] = value;
        return Task.CompletedTask;
    }
}

/// <summary>Reads a settlement feed one update at a time, with a deadline, and can tell that nothing more arrives.</summary>
internal sealed class FeedReader : IAsyncDisposable
{
    private readonly ISettlementFeed feed;
    private readonly CancellationTokenSource stop = new();
    private readonly IAsyncEnumerator<InvoiceUpdate> updates;
    private Task<bool>? pending;

    private FeedReader(ISettlementFeed feed)
    {
        this.feed = feed;
        updates = feed.ReadAllAsync(stop.Token).GetAsyncEnumerator(stop.Token);
    }

    public string? LastCursor { get; private set; }

    public static async Task<FeedReader> OpenAsync(IPaymentBackend backend, string? cursor) =>
        new(await backend.OpenSettlementFeedAsync(cursor, CancellationToken.None));

    /// <summary>
    /// Opens a feed and lets it finish its catch-up (nothing to catch up on), so what is paid next reaches it
    /// through the stream rather than through ListInvoices.
    /// </summary>
    public static async Task<FeedReader> OpenCaughtUpAsync(IPaymentBackend backend, string? cursor)
    {
        var reader = await OpenAsync(backend, cursor);
        Assert.True(await reader.IsQuietAsync(TimeSpan.FromSeconds(1)), "the catch-up found a settlement");
        return reader;
    }

    public async Task<InvoiceUpdate> NextAsync()
    {
        var next = pending ??= updates.MoveNextAsync().AsTask();
        if (await Task.WhenAny(next, Task.Delay(LndTestHarness.Patience)) != next)
            throw new TimeoutException("no settlement arrived in time");
        pending = null;
        Assert.True(await next, "the feed ended");
        LastCursor = updates.Current.Cursor;
        return updates.Current;
    }

    public async Task<List<InvoiceUpdate>> NextAsync(int count)
    {
        var list = new List<InvoiceUpdate>();
        for (var i = 0; i < count; i++)
            list.Add(await NextAsync());
        return list;
    }

    /// <summary>True when no update arrives within <paramref name="wait"/> (default 500 ms).</summary>
    public async Task<bool> IsQuietAsync(TimeSpan? wait = null)
    {
        var next = pending ??= updates.MoveNextAsync().AsTask();
        return await Task.WhenAny(next, Task.Delay(wait ?? TimeSpan.FromMilliseconds(500))) != next;
    }

    /// <summary>Waits for the feed to fail and returns the exception.</summary>
    public async Task<PaymentBackendException> FailureAsync()
    {
        var next = pending ??= updates.MoveNextAsync().AsTask();
        if (await Task.WhenAny(next, Task.Delay(LndTestHarness.Patience)) != next)
            throw new TimeoutException("the feed did not fail in time");
        pending = null;
        return await Assert.ThrowsAsync<PaymentBackendException>(() => next);
    }

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync();
        await feed.DisposeAsync();
        if (pending is not null)
            await Task.WhenAny(pending);
        await updates.DisposeAsync();
        stop.Dispose();
    }
}
