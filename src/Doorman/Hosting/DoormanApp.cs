using Doorman.Access;
using Doorman.Commands;
using Doorman.Homeserver;
using Doorman.Inbox;
using Doorman.Messaging;
using Doorman.Metrics;
using Doorman.Outbox;
using Doorman.Payments;
using Doorman.Payments.BtcPay;
using Doorman.Payments.Lnd;
using Doorman.Rooms;
using Doorman.Scheduling;
using Doorman.Storage;
using Microsoft.Extensions.Options;
using Prometheus;

namespace Doorman.Hosting;

/// <summary>
/// The bot's composition: one <c>AddXxx</c> per part, in the order a reader meets them. Configuration comes
/// from <c>appsettings.json</c> in the working directory, then environment variables (<c>Matrix__UserId</c>),
/// then the command line (<c>--Matrix:UserId=…</c>).
/// </summary>
public static class DoormanApp
{
    /// <summary>The configured builder; tests and the sandbox add configuration or replace services before building.</summary>
    public static WebApplicationBuilder CreateBuilder(string[] args, Action<IConfigurationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = args,
            ContentRootPath = Directory.GetCurrentDirectory(),
        });
        configure?.Invoke(builder.Configuration);
        builder.Logging.AddFilter("System.Net.Http.HttpClient", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Logging.AddFilter("Quartz", LogLevel.Warning);
        // Polly logs every handled retry (and the last one as an error): the boundary that handles the failure logs it once.
        builder.Logging.AddFilter("Polly", LogLevel.None);
        builder.Services.AddDoorman(builder.Configuration);
        return builder;
    }

    public static WebApplication Build(WebApplicationBuilder builder)
    {
        builder.WebHost.UseUrls(builder.Configuration.GetSection(HttpOptions.Section).Get<HttpOptions>()?.Urls ?? new HttpOptions().Urls);
        var app = builder.Build();
        ValidateConfiguration(app.Services, PaymentsSetup.IsBtcPay(builder.Configuration));
        app.MapGet("/healthz", (Health health, CancellationToken cancellationToken) => health.CheckAsync(cancellationToken));
        _ = app.Services.GetRequiredService<MetricsSampler>(); // registers the scrape-time gauges
        app.MapMetrics("/metrics", app.Services.GetRequiredService<DoormanMetrics>().Registry);
        if (PaymentsSetup.IsBtcPay(builder.Configuration))
            app.MapBtcPayWebhook(); // POST /webhooks/btcpay
        return app;
    }

    /// <summary>
    /// Starts the bot: the start-up checks first (database, Matrix session, payment backend), then the host with
    /// every part. A failed check throws <see cref="StartupException"/> before any part is running.
    /// </summary>
    public static async Task StartAsync(WebApplication app, CancellationToken cancellationToken)
    {
        await app.Services.GetRequiredService<StartupChecks>().RunAsync(cancellationToken);
        await app.StartAsync(cancellationToken);
    }

    /// <summary>
    /// Validates every section before anything is constructed, so all problems are reported together, each by its
    /// key, and the bot stops before it touches the network (STYLE §3). Throws one <see cref="OptionsValidationException"/>.
    /// </summary>
    public static void ValidateConfiguration(IServiceProvider services, bool btcPay)
    {
        var failures = new List<string>();
        void Check<T>()
            where T : class
        {
            try
            {
                _ = services.GetRequiredService<IOptions<T>>().Value;
            }
            catch (OptionsValidationException e)
            {
                failures.AddRange(e.Failures);
            }
        }

        Check<MatrixOptions>();
        Check<PaymentsOptions>();
        Check<StorageOptions>();
        Check<Inbox.InboxOptions>();
        Check<LimitsOptions>();
        if (btcPay)
            Check<BtcPayOptions>();
        else
            Check<LndOptions>();
        if (failures.Count > 0)
            throw new OptionsValidationException("Doorman", typeof(DoormanApp), failures);
    }

    /// <summary>Every part, each registering itself beside its own options: the core first, then its adapters.</summary>
    public static IServiceCollection AddDoorman(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton(TimeProvider.System);
        services.AddAccess();                      // the core: records, rules, use cases
        services.AddDoormanMetrics();              // counters for /metrics (the core's through its IAccessMetrics)
        services.AddStorage(configuration);        // SQLite: the core's stores
        services.AddHomeserver(configuration);     // the bot's Matrix account, client and sync loop
        services.AddInbox(configuration);          // what each sync batch brings, item by item
        services.AddRooms();                       // room facts read live
        services.AddCommands(configuration);       // chat commands, and the per-person limit
        services.AddMessaging();                   // messages queued, DMs, wording
        services.AddPayments(configuration);       // LND or BTCPay, and what watches them
        services.AddOutbox();                      // invites, kicks and messages carried out
        services.AddScheduling(configuration);     // deadlines (Quartz; clustered on PostgreSQL)
        services.AddLeadership();                  // which instance runs the active parts (all of them, on SQLite)
        services.AddSecretFiles<MatrixOptions>(MatrixOptions.Section);   // Matrix:AccessTokenFile, …
        services.AddSecretFiles<BtcPayOptions>("Payments:BtcPay");       // Payments:BtcPay:ApiKeyFile, …
        services.AddSecretFiles<StorageOptions>(StorageOptions.Section); // Storage:ConnectionStringFile
        services.AddSingleton<StartupChecks>();
        services.AddSingleton<Health>();
        services.AddSingleton<MetricsSampler>();
        return services;
    }
}
