using Doorman.Commands;
using Doorman.Matrix;
using Doorman.Matrix.Http;
using Doorman.Matrix.Sync;
using Doorman.Messaging;
using Doorman.Outbox;
using Doorman.Payments;
using Doorman.Payments.BtcPay;
using Doorman.Payments.Lnd;
using Doorman.Rooms;
using Doorman.Scheduling;
using Doorman.Storage;
using Microsoft.Extensions.Options;
using Quartz;

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
        ValidateConfiguration(app.Services, PaymentBackends.IsBtcPay(builder.Configuration));
        app.MapGet("/healthz", (Health health, CancellationToken cancellationToken) => health.CheckAsync(cancellationToken));
        if (PaymentBackends.IsBtcPay(builder.Configuration))
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
        if (btcPay)
            Check<BtcPayOptions>();
        else
            Check<LndOptions>();
        if (failures.Count > 0)
            throw new OptionsValidationException("Doorman", typeof(DoormanApp), failures);
    }

    public static IServiceCollection AddDoorman(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton(TimeProvider.System);
        services.AddOptions(configuration);
        services.AddStorage();
        services.AddMatrix();
        services.AddCommands();
        services.AddPayments(configuration);
        services.AddOutbox();
        services.AddScheduling();
        services.AddSingleton<Health>();
        return services;
    }

    private static void AddOptions(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<MatrixOptions>().Bind(configuration.GetSection(MatrixOptions.Section)).ValidateOnStart();
        services.AddOptions<OperatorOptions>().Configure(o => o.Operators = configuration.GetSection("Operators").Get<List<string>>() ?? []);
        services.AddOptions<PaymentsOptions>().Bind(configuration.GetSection(PaymentsOptions.Section));
        services.AddOptions<StorageOptions>().Bind(configuration.GetSection(StorageOptions.Section));
        services.AddSingleton<IValidateOptions<MatrixOptions>, DoormanOptionsValidator>();
        services.AddSingleton<Fatal>();
        services.AddSingleton<StartupChecks>();
    }

    private static void AddStorage(this IServiceCollection services)
    {
        services.AddSingleton<Database>();
        services.AddSingleton<Migrator>();
        services.AddSingleton<GateStore>();
        services.AddSingleton<OrderStore>();
        services.AddSingleton<SubscriptionStore>();
        services.AddSingleton<ExemptionStore>();
        services.AddSingleton<MembershipActionStore>();
        services.AddSingleton<MessageStore>();
        services.AddSingleton<HandledEvents>();
        services.AddSingleton<DirectRooms>();
        services.AddSingleton<Cursors>();
        services.AddSingleton<AuditLog>();
        services.AddSingleton<IPaymentState, PaymentState>();
    }

    /// <summary>The plain client for <c>/.well-known</c> discovery.</summary>
    public const string DiscoveryClient = "Doorman.Matrix.Discovery";

    private static void AddMatrix(this IServiceCollection services)
    {
        const string Api = "Doorman.Matrix", LongPoll = "Doorman.Matrix.Sync";
        services.AddSingleton(new MatrixClientOptions());
        services.AddSingleton(sp => sp.GetRequiredService<IOptions<MatrixOptions>>().Value.AccessToken is { Length: > 0 } token
            ? new AccessTokenSource(token) : new AccessTokenSource());
        services.AddSingleton(sp => sp.GetRequiredService<IOptions<MatrixOptions>>().Value.HomeserverUrl is { Length: > 0 } url
            ? new HomeserverAddress(new Uri(url)) : new HomeserverAddress());
        services.AddTransient<AccessTokenHandler>();
        services.AddSingleton<MatrixSession>();
        services.AddHttpClient(DiscoveryClient, http => http.Timeout = TimeSpan.FromSeconds(30));

        // Per-attempt timeouts come from the pipeline and the sync loop, not from HttpClient.
        static void Base(HttpClient http) => http.Timeout = Timeout.InfiniteTimeSpan;
        static SocketsHttpHandler Primary() => new() { PooledConnectionLifetime = TimeSpan.FromMinutes(5) };

        services.AddHttpClient(Api, Base)
            .ConfigurePrimaryHttpMessageHandler(Primary)
            .AddHttpMessageHandler<AccessTokenHandler>()
            .AddResilienceHandler("matrix", (pipeline, context) => MatrixResilience.Configure(pipeline,
                context.ServiceProvider.GetRequiredService<MatrixClientOptions>(), context.ServiceProvider.GetRequiredService<TimeProvider>(),
                context.ServiceProvider.GetRequiredService<ILoggerFactory>().CreateLogger("Doorman.Matrix")));
        services.AddHttpClient(LongPoll, Base)
            .ConfigurePrimaryHttpMessageHandler(Primary)
            .AddHttpMessageHandler<AccessTokenHandler>();
        services.AddSingleton(sp =>
        {
            var factory = sp.GetRequiredService<IHttpClientFactory>();
            return new MatrixClient(factory.CreateClient(Api), factory.CreateClient(LongPoll), sp.GetRequiredService<HomeserverAddress>(),
                sp.GetRequiredService<MatrixClientOptions>(), sp.GetRequiredService<TimeProvider>());
        });

        services.AddSingleton(new SyncLoopOptions());
        services.AddSingleton<ISyncStateStore, SqliteSyncStateStore>();
        services.AddSingleton<ISyncHandler, BotSyncHandler>();
        services.AddSingleton<SyncLoop>();
        services.AddSingleton<RoomDirectory>();
        services.AddSingleton<DirectMessages>();
        services.AddHostedService<SyncService>();
    }

    private static void AddCommands(this IServiceCollection services) => services.AddSingleton<CommandHandler>();

    private static void AddPayments(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton<Settlements>();
        services.AddSingleton<Reconciler>();
        services.AddSingleton<PaymentListener>();
        services.AddHostedService(sp => sp.GetRequiredService<PaymentListener>());
        services.AddHostedService<PaymentPoller>();
        PaymentBackends.Add(services, configuration);
    }

    private static void AddOutbox(this IServiceCollection services)
    {
        services.AddSingleton<OutboxSignals>();
        services.AddSingleton<MessageOutbox>();
        services.AddHostedService<MessageSender>();
        services.AddHostedService<MembershipWorker>();
    }

    private static void AddScheduling(this IServiceCollection services)
    {
        services.AddSingleton<Sweeper>();
        services.AddSingleton<SweepScheduler>();
        // Quartz takes its clock from the container's TimeProvider, so tests can move time.
        services.AddQuartz(quartz =>
        {
            quartz.AddJob<SweepJob>(job => job.WithIdentity(SweepScheduler.Job).StoreDurably());
            quartz.AddTrigger(t => t.WithIdentity(SweepScheduler.Periodic).ForJob(SweepScheduler.Job).StartNow()
                .WithSchedule(SimpleScheduleBuilder.Create().WithInterval(TimeSpan.FromMinutes(1)).RepeatForever()));
            quartz.AddJob<ReconcileJob>(job => job.WithIdentity(ReconcileJob.Key).StoreDurably());
            quartz.AddTrigger(t => t.WithIdentity("reconcile-periodic", "doorman").ForJob(ReconcileJob.Key).StartNow()
                .WithSchedule(SimpleScheduleBuilder.Create().WithInterval(TimeSpan.FromMinutes(1)).RepeatForever()));
        });
        services.AddQuartzHostedService(options => options.WaitForJobsToComplete = true);
    }
}

/// <summary>Registers the configured <see cref="IPaymentBackend"/> (<c>Payments:Backend</c>: <c>Lnd</c> or <c>BtcPay</c>).</summary>
public static class PaymentBackends
{
    public static bool IsBtcPay(IConfiguration configuration) =>
        string.Equals(configuration["Payments:Backend"], "BtcPay", StringComparison.OrdinalIgnoreCase);

    public static void Add(IServiceCollection services, IConfiguration configuration)
    {
        // Any other value is refused by the options validator at start, naming the key.
        if (IsBtcPay(configuration))
            services.AddBtcPayPaymentBackend(configuration.GetSection("Payments:BtcPay"));
        else
            services.AddLndPaymentBackend(configuration.GetSection("Payments:Lnd"));
    }
}
