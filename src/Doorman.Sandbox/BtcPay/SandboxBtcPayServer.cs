using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace Doorman.Sandbox.BtcPay;

/// <summary>
/// A BTCPay Server that speaks the Greenfield API on 127.0.0.1 over HTTP: API keys with permissions, stores,
/// invoices in SATS (or BTC) paid by Lightning with real BOLT11 invoices (regtest) signed by the store's node key,
/// statuses New → Settled / Expired / Invalid with BTCPay's additional statuses, auto-expiry on the injected clock,
/// payment-method amounts in BTC, webhooks with BTCPay's signed, ordered, retried deliveries. Payments are made with
/// <see cref="PayAsync"/>; faults with <see cref="GoDownAsync"/> and <see cref="FailWebhookDeliveries"/>.
/// </summary>
public sealed class SandboxBtcPayServer : IAsyncDisposable
{
    private readonly SandboxBtcPayOptions options;
    private readonly SandboxBtcPayEngine engine;
    private readonly SandboxWebhookSender sender;
    private readonly SandboxBtcPayApi api;
    private readonly ConcurrentQueue<SandboxGreenfieldExchange> exchanges = new();
    private readonly SemaphoreSlim lifecycle = new(1, 1);
    private readonly byte[] nodeKey;
    private WebApplication? app;
    private volatile bool unavailable;
    private bool disposed;

    private SandboxBtcPayServer(SandboxBtcPayOptions options)
    {
        this.options = options;
        using (var key = SandboxParts.NewNodeKey(out nodeKey))
            NodePubKey = Convert.ToHexStringLower(key.CreatePubKey().ToBytes(compressed: true));
        engine = new SandboxBtcPayEngine(options, nodeKey);
        sender = new SandboxWebhookSender(engine, options);
        engine.Publish = sender.Publish;
        api = new SandboxBtcPayApi(engine, options, () => Url);
        StoreId = engine.AddStore(options.StoreName);
    }

    /// <summary>http://127.0.0.1:port/</summary>
    public Uri Url { get; private set; } = null!;

    /// <summary>The first store, made at start.</summary>
    public string StoreId { get; }

    /// <summary>The public key every Lightning invoice is signed with, hex.</summary>
    public string NodePubKey { get; }

    /// <summary>"bcrt": invoices are for regtest.</summary>
    public static string Network => SandboxBtcPayEngine.Network;

    public IReadOnlyList<SandboxBtcPayInvoice> Invoices => engine.Snapshot();

    /// <summary>Every store's webhooks.</summary>
    public IReadOnlyList<SandboxBtcPayWebhook> Webhooks => engine.WebhookSnapshot();

    /// <summary>Every delivery attempt so far, oldest first.</summary>
    public IReadOnlyList<SandboxWebhookDelivery> Deliveries => sender.Deliveries;

    /// <summary>Every Greenfield request and answer so far, oldest first (not those refused while down).</summary>
    public IReadOnlyList<SandboxGreenfieldExchange> Exchanges => [.. exchanges];

    public static async Task<SandboxBtcPayServer> StartAsync(SandboxBtcPayOptions? options = null, CancellationToken cancellationToken = default)
    {
        var server = new SandboxBtcPayServer(options ?? new SandboxBtcPayOptions());
        try
        {
            await server.ListenAsync(server.options.Port, cancellationToken);
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>Another store; returns its id.</summary>
    public string AddStore(string name = "Another store") => engine.AddStore(name);

    /// <summary>
    /// An API key with these permissions, e.g. <c>btcpay.store.canviewinvoices</c> (every store) or
    /// <c>btcpay.store.canviewinvoices:&lt;storeId&gt;</c> (one store), or <c>unrestricted</c>.
    /// </summary>
    public string CreateApiKey(params string[] permissions) => engine.CreateApiKey(permissions);

    /// <summary>
    /// Pays an invoice (by id, or by a BOLT11 it issued) over Lightning with <paramref name="amountMsat"/>, by default
    /// what is due. Less leaves it New (PaidPartial) with a new BOLT11 for the rest; more settles it PaidOver. Throws
    /// <see cref="InvalidOperationException"/> when it is not payable (settled, expired, invalid, unknown).
    /// </summary>
    public Task PayAsync(string invoiceIdOrBolt11, long? amountMsat = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(invoiceIdOrBolt11);
        cancellationToken.ThrowIfCancellationRequested();
        engine.Pay(invoiceIdOrBolt11, amountMsat);
        return Task.CompletedTask;
    }

    /// <summary>
    /// A payment that arrives after the invoice expired (the Lightning node settled it in the moment before canceling
    /// it): the invoice stays Expired with additional status PaidLate, and webhooks say the payment came
    /// <c>afterExpiration</c>. Allowed while BTCPay still monitors the invoice (<c>monitoringMinutes</c> after expiry).
    /// </summary>
    public Task PayLateAsync(string invoiceIdOrBolt11, long? amountMsat = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(invoiceIdOrBolt11);
        cancellationToken.ThrowIfCancellationRequested();
        engine.PayLate(invoiceIdOrBolt11, amountMsat);
        return Task.CompletedTask;
    }

    /// <summary>Marks an invoice Invalid or Settled as the store owner would (additional status Marked).</summary>
    public void MarkInvoice(string invoiceId, string status)
    {
        var entry = engine.Find(invoiceId) ?? throw new InvalidOperationException($"No invoice {invoiceId}.");
        if (!engine.Mark(entry, status))
            throw new InvalidOperationException($"Invoice {invoiceId} cannot be marked {status}.");
    }

    /// <summary>
    /// The next <paramref name="count"/> webhook delivery attempts fail as if the receiver answered
    /// <paramref name="statusCode"/> (0: a network error), without reaching it. BTCPay's retry rules apply.
    /// </summary>
    public void FailWebhookDeliveries(int statusCode, int count) => sender.FailNext(statusCode, count);

    public bool IsDown => unavailable || app is null;

    /// <summary>Every request is answered 503 (<see cref="SandboxBtcPayOutage.ServiceUnavailable"/>) or refused.</summary>
    public async Task GoDownAsync(SandboxBtcPayOutage outage = SandboxBtcPayOutage.ServiceUnavailable, CancellationToken cancellationToken = default)
    {
        if (outage == SandboxBtcPayOutage.ServiceUnavailable)
        {
            unavailable = true;
            return;
        }
        await lifecycle.WaitAsync(cancellationToken);
        try
        {
            await StopAppAsync(cancellationToken);
        }
        finally
        {
            lifecycle.Release();
        }
    }

    /// <summary>Serves again, on the same port, with everything it had.</summary>
    public async Task ComeBackAsync(CancellationToken cancellationToken = default)
    {
        unavailable = false;
        await lifecycle.WaitAsync(cancellationToken);
        try
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            if (app is null)
                await ListenAsync(Url.Port, cancellationToken);
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
            await StopAppAsync(CancellationToken.None);
            await sender.DisposeAsync();
            engine.Dispose();
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
            ApplicationName = typeof(SandboxBtcPayServer).Assembly.GetName().Name,
        });
        builder.WebHost.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, port));
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(5));
        builder.Services.AddRouting();
        builder.Logging.ClearProviders();
        if (options.LoggerFactory is { } loggerFactory)
            builder.Services.AddSingleton(loggerFactory);

        var started = builder.Build();
        started.Use(async (context, next) =>
        {
            if (unavailable)
            {
                // What a reverse proxy in front of a stopped BTCPay answers: HTML, not Greenfield JSON.
                context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                context.Response.ContentType = "text/html";
                await context.Response.WriteAsync("<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>");
                return;
            }
            await RecordAsync(context, next);
        });
        started.UseRouting();
        api.Map(started);
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
        Url = new Uri($"http://127.0.0.1:{new Uri(address).Port}/");
    }

    private async Task RecordAsync(HttpContext context, RequestDelegate next)
    {
        if (!context.Request.Path.StartsWithSegments("/api", StringComparison.Ordinal))
        {
            await next(context);
            return;
        }
        context.Request.EnableBuffering();
        string? requestBody = null;
        using (var reader = new StreamReader(context.Request.Body, Encoding.UTF8, leaveOpen: true))
        {
            var text = await reader.ReadToEndAsync(context.RequestAborted);
            requestBody = text.Length > 0 ? text : null;
        }
        context.Request.Body.Position = 0;

        var original = context.Response.Body;
        using var captured = new MemoryStream();
        context.Response.Body = captured;
        try
        {
            await next(context);
        }
        finally
        {
            context.Response.Body = original;
        }
        var bytes = captured.ToArray();
        await original.WriteAsync(bytes, context.RequestAborted);
        exchanges.Enqueue(new SandboxGreenfieldExchange(
            context.Request.Method, context.Request.Path.Value ?? "", context.Request.QueryString.Value ?? "", requestBody,
            context.Response.StatusCode, context.Response.ContentType, bytes.Length > 0 ? Encoding.UTF8.GetString(bytes) : null));
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
