using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Doorman.Payments.Bolt11;
using Grpc.Core;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Doorman.Sandbox.Lightning;

/// <summary>
/// A Lightning node that speaks LND's gRPC (lnrpc.Lightning: GetInfo, AddInvoice, LookupInvoice, ListInvoices,
/// SubscribeInvoices) over HTTP/2 with TLS on 127.0.0.1, with lnd's macaroon header, its index and stream
/// semantics, and real BOLT11 invoices (network regtest) signed by the node's key. Payments are simulated with
/// <see cref="PayAsync"/>; faults with <see cref="DropStreams"/>, <see cref="SkipSettleIndex"/>, <see cref="RestartAsync"/>
/// and <see cref="SignInvoicesWithAnotherKey"/>. <see cref="InvoiceMacaroonHex"/> is refused GetInfo as lnd's stock
/// invoice.macaroon is (no info:read).
/// </summary>
public sealed class SandboxLightningNode : IAsyncDisposable
{
    private readonly SandboxLightningOptions options;
    private readonly X509Certificate2 certificate;
    private readonly SandboxNodeIdentity identity;
    private readonly SandboxMacaroons macaroons;
    private readonly SandboxLedger ledger;
    private readonly SemaphoreSlim lifecycle = new(1, 1);
    private WebApplication? app;
    private bool disposed;

    private SandboxLightningNode(SandboxLightningOptions options)
    {
        this.options = options;
        certificate = SandboxTlsCertificate.Create(options.TimeProvider.GetUtcNow());
        TlsCertificatePem = certificate.ExportCertificatePem() + "\n";

        using var key = SandboxParts.NewNodeKey(out var keyBytes);
        identity = new SandboxNodeIdentity(keyBytes, Convert.ToHexStringLower(key.CreatePubKey().ToBytes(compressed: true)));
        macaroons = new SandboxMacaroons(
            RandomNumberGenerator.GetBytes(96), RandomNumberGenerator.GetBytes(96), options.AuthFailuresAsUnknown);
        ledger = new SandboxLedger(options.TimeProvider, keyBytes, options.TamperWithInvoices);
    }

    /// <summary>https://127.0.0.1:port</summary>
    public Uri Address { get; private set; } = null!;

    /// <summary>The node's tls.cert, PEM.</summary>
    public string TlsCertificatePem { get; }

    /// <summary>The DER bytes of the TLS certificate, as an lndconnect URI carries it.</summary>
    public byte[] TlsCertificateDer => certificate.RawData;

    /// <summary>Macaroon with every permission, hex (what goes in the <c>macaroon</c> header).</summary>
    public string AdminMacaroonHex => Convert.ToHexStringLower(macaroons.Admin);

    /// <summary>Like lnd's invoice.macaroon: invoices read and write, but not info:read (so GetInfo is refused).</summary>
    public string InvoiceMacaroonHex => Convert.ToHexStringLower(macaroons.Invoice);

    /// <summary>The node's public key, hex; every invoice is signed by it.</summary>
    public string IdentityPubKey => identity.PubKeyHex;

    /// <summary>"bcrt": invoices are for regtest.</summary>
    public static string Network => SandboxLedger.Network;

    public IReadOnlyList<SandboxInvoice> Invoices => ledger.Snapshot();

    public static async Task<SandboxLightningNode> StartAsync(
        SandboxLightningOptions? options = null, CancellationToken cancellationToken = default)
    {
        var node = new SandboxLightningNode(options ?? new SandboxLightningOptions());
        try
        {
            await node.ListenAsync(node.options.Port, cancellationToken);
            return node;
        }
        catch
        {
            await node.DisposeAsync();
            throw;
        }
    }

    /// <summary>Writes tls.cert (PEM), admin.macaroon and invoice.macaroon (binary, as lnd writes them); returns <paramref name="directory"/>.</summary>
    public string WriteFiles(string directory)
    {
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, "tls.cert"), TlsCertificatePem);
        File.WriteAllBytes(Path.Combine(directory, "admin.macaroon"), macaroons.Admin);
        File.WriteAllBytes(Path.Combine(directory, "invoice.macaroon"), macaroons.Invoice);
        return directory;
    }

    /// <summary>
    /// Pays an open invoice as a remote payer would, settling it with <paramref name="amountMsat"/> (default: the
    /// invoice's value; more is allowed, less is refused as lnd refuses it). Throws
    /// <see cref="InvalidOperationException"/> when the invoice is unknown, settled, canceled or expired.
    /// </summary>
    public Task PayAsync(string bolt11OrPaymentHashHex, long? amountMsat = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(bolt11OrPaymentHashHex);
        cancellationToken.ThrowIfCancellationRequested();
        var hash = bolt11OrPaymentHashHex.Length == 64 && bolt11OrPaymentHashHex.All(char.IsAsciiHexDigit)
            ? bolt11OrPaymentHashHex.ToLowerInvariant()
            : Bolt11Codec.Decode(bolt11OrPaymentHashHex).PaymentHash;
        ledger.Pay(hash, amountMsat);
        return Task.CompletedTask;
    }

    /// <summary>Ends every open SubscribeInvoices stream with status Unavailable, as a dropped connection would.</summary>
    public void DropStreams() =>
        ledger.DropSubscribers(new Status(StatusCode.Unavailable, "the sandbox LND dropped the stream"));

    /// <summary>
    /// Fault: invoices added from now on are signed by a fresh key that is not the node's (GetInfo still reports
    /// <see cref="IdentityPubKey"/>), so their payee (BOLT #11: the key recovered from the signature) is someone else,
    /// as from a compromised node or a connection that leads elsewhere. Returns that key's public key, hex.
    /// </summary>
    public string SignInvoicesWithAnotherKey()
    {
        using var key = SandboxParts.NewNodeKey(out var keyBytes);
        ledger.SignWith(keyBytes);
        return Convert.ToHexStringLower(key.CreatePubKey().ToBytes(compressed: true));
    }

    /// <summary>The next settlement's settle_index jumps by <paramref name="count"/> (lnd#7071: gaps happen).</summary>
    public void SkipSettleIndex(int count = 1) => ledger.SkipSettleIndex(count);

    /// <summary>
    /// Stops listening (open streams end with Unavailable) and listens again on the same port with the same
    /// certificate, macaroons and invoices. <paramref name="resetIndexes"/> renumbers add and settle indexes from 1,
    /// as after a database migration, so a client's stored cursor may point past the node's highest index.
    /// </summary>
    public async Task RestartAsync(bool resetIndexes = false, CancellationToken cancellationToken = default)
    {
        await lifecycle.WaitAsync(cancellationToken);
        try
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            ledger.Close(new Status(StatusCode.Unavailable, "the sandbox LND is shutting down"));
            await StopAppAsync(cancellationToken);
            if (resetIndexes)
                ledger.RenumberIndexes();
            ledger.Reopen();
            await ListenAsync(Address.Port, cancellationToken);
        }
        finally
        {
            lifecycle.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await lifecycle.WaitAsync();
        try
        {
            if (disposed)
                return;
            disposed = true;
            ledger.Close(new Status(StatusCode.Unavailable, "the sandbox LND is shutting down"));
            await StopAppAsync(CancellationToken.None);
            ledger.Dispose();
            certificate.Dispose();
        }
        finally
        {
            lifecycle.Release();
        }
    }

    private async Task ListenAsync(int port, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions
        {
            ApplicationName = typeof(SandboxLightningNode).Assembly.GetName().Name,
        });
        builder.WebHost.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, port, listen =>
        {
            listen.Protocols = HttpProtocols.Http2;
            listen.UseHttps(certificate);
        }));
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(5));
        builder.Services.AddRouting();
        builder.Services.AddGrpc(o => o.Interceptors.Add<SandboxMacaroonInterceptor>());
        builder.Services.AddSingleton(identity);
        builder.Services.AddSingleton(macaroons);
        builder.Services.AddSingleton(ledger);
        builder.Logging.ClearProviders();
        if (options.LoggerFactory is { } loggerFactory)
            builder.Services.AddSingleton(loggerFactory);

        var started = builder.Build();
        started.MapGrpcService<SandboxLightningService>();
        try
        {
            await started.StartAsync(cancellationToken);
        }
        catch
        {
            await started.DisposeAsync();
            throw;
        }
        app = started;

        var address = started.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        Address = new Uri($"https://127.0.0.1:{new Uri(address).Port}");
    }

    private async Task StopAppAsync(CancellationToken cancellationToken)
    {
        if (app is null)
            return;
        var stopping = app;
        app = null;
        await SandboxParts.StopAndDisposeAsync(stopping, cancellationToken);
    }
}
