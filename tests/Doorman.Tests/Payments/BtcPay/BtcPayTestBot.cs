using System.Net;
using System.Net.Sockets;
using Doorman.Access;
using Doorman.Payments;
using Doorman.Payments.BtcPay;
using Doorman.Sandbox.BtcPay;
using Doorman.Storage;
using Doorman.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Doorman.Tests.Payments.BtcPay;

/// <summary>
/// The bot's BTCPay parts as the bot runs them: <c>AddBtcPayPaymentBackend</c> bound from configuration, a real
/// SQLite file (migrated), <see cref="IPaymentState"/> on it, and <c>MapBtcPayWebhook</c> served by Kestrel on
/// 127.0.0.1, so the sandbox BTCPay delivers webhooks to it over HTTP.
/// </summary>
internal sealed class BtcPayTestBot : IAsyncDisposable
{
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    private readonly WebApplication app;
    private readonly TempDirectory? ownedFolder;
    private int failWebhooks;

    private BtcPayTestBot(WebApplication app, Uri url, TempDirectory? ownedFolder)
    {
        this.app = app;
        Url = url;
        this.ownedFolder = ownedFolder;
    }

    /// <summary>http://127.0.0.1:port — what <c>PublicUrl</c> is set to when the bot registers its webhook.</summary>
    public Uri Url { get; }

    public IServiceProvider Services => app.Services;

    public BtcPayPaymentBackend Backend => app.Services.GetRequiredService<BtcPayPaymentBackend>();

    public BtcPayWebhookInbox Inbox => app.Services.GetRequiredService<BtcPayWebhookInbox>();

    public IPaymentState State => app.Services.GetRequiredService<IPaymentState>();

    /// <summary>Webhook deliveries the bot answered, with its status, oldest first.</summary>
    public List<int> WebhookAnswers { get; } = [];

    /// <summary>The next <paramref name="count"/> webhook deliveries are answered 500 before the endpoint sees them.</summary>
    public void FailWebhooks(int count) => Interlocked.Exchange(ref failWebhooks, count);

    /// <summary>
    /// Starts the bot's BTCPay parts against <paramref name="server"/> with <paramref name="apiKey"/> (default: one
    /// with the permissions the bot needs). <paramref name="registerWebhook"/> sets <c>PublicUrl</c> to this host;
    /// <paramref name="settings"/> adds or overrides <c>Payments:BtcPay:*</c> keys. <paramref name="databaseFolder"/>
    /// keeps the database across a restart (a new one is made and deleted otherwise). <paramref name="logLines"/>
    /// receives every log line, at every level (Trace included).
    /// </summary>
    public static async Task<BtcPayTestBot> StartAsync(
        SandboxBtcPayServer server,
        string? apiKey = null,
        bool registerWebhook = false,
        IDictionary<string, string?>? settings = null,
        TimeProvider? time = null,
        TempDirectory? databaseFolder = null,
        int port = 0,
        LogLineCollection? logLines = null)
    {
        var owned = databaseFolder is null ? new TempDirectory() : null;
        var folder = databaseFolder ?? owned!;
        port = port == 0 ? FreePort() : port;
        var url = new Uri($"http://127.0.0.1:{port}");

        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, port));
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        if (logLines is not null)
        {
            builder.Logging.SetMinimumLevel(LogLevel.Trace);
            builder.Logging.AddProvider(new RecordingLoggerProvider(logLines));
        }
        var configuration = new Dictionary<string, string?>
        {
            ["Payments:BtcPay:Url"] = server.Url.ToString(),
            ["Payments:BtcPay:StoreId"] = server.StoreId,
            ["Payments:BtcPay:ApiKey"] = apiKey ?? server.CreateApiKey(BotPermissions),
            ["Payments:BtcPay:PollInterval"] = registerWebhook ? null : "00:01:00",
            ["Payments:BtcPay:PublicUrl"] = registerWebhook ? url.ToString() : null,
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
            configuration["Payments:BtcPay:" + key] = value;
        builder.Configuration.AddInMemoryCollection(configuration);

        builder.Services.AddSingleton(time ?? TimeProvider.System);
        builder.Services.AddSingleton(new Database(folder.File("doorman.db")));
        builder.Services.AddSingleton<Migrator>();
        builder.Services.AddSingleton<Cursors>();
        builder.Services.AddSingleton<IPaymentState, PaymentState>();
        builder.Services.AddBtcPayPaymentBackend(builder.Configuration.GetSection("Payments:BtcPay"));

        var app = builder.Build();
        var bot = new BtcPayTestBot(app, url, owned);
        app.Use(async (context, next) =>
        {
            if (context.Request.Path != BtcPayWebhookEndpoint.Path)
            {
                await next(context);
                return;
            }
            if (Interlocked.Decrement(ref bot.failWebhooks) >= 0)
                context.Response.StatusCode = StatusCodes.Status500InternalServerError;
            else
                await next(context);
            lock (bot.WebhookAnswers)
                bot.WebhookAnswers.Add(context.Response.StatusCode);
        });
        app.MapBtcPayWebhook();
        await app.Services.GetRequiredService<Migrator>().MigrateAsync(CancellationToken.None);
        await app.StartAsync();
        return bot;
    }

    /// <summary>What the bot needs with a webhook of its own (a superset of what it needs without).</summary>
    public static readonly string[] BotPermissions =
        ["btcpay.store.cancreateinvoice", "btcpay.store.canviewinvoices", "btcpay.store.webhooks.canmodifywebhooks"];

    public static InvoiceRequest Request(long amountMsat = 21_000_000, int expiryMinutes = 30, string memo = "Access to #vip:example.org, 30 days") =>
        new($"order-{Guid.NewGuid():N}", amountMsat, memo, TimeSpan.FromMinutes(expiryMinutes));

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
        ownedFolder?.Dispose();
    }

    /// <summary>Waits until <paramref name="condition"/> holds, or fails the test after <see cref="Patience"/>.</summary>
    public static Task EventuallyAsync(Func<bool> condition, string what) =>
        Eventually.UntilAsync(() => Task.FromResult(condition()), what, Patience);

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
