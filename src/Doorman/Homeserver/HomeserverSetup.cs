using Doorman.Storage;
using Doorman.Matrix;
using Doorman.Matrix.Http;
using Doorman.Matrix.Sync;
using Microsoft.Extensions.Options;

namespace Doorman.Homeserver;

public static class HomeserverSetup
{
    /// <summary>The plain client for <c>/.well-known</c> discovery.</summary>
    public const string DiscoveryClient = "Doorman.Matrix.Discovery";

    /// <summary>
    /// The bot's account on its homeserver: <c>Matrix:*</c> and <c>Operators</c>, the Matrix client with its
    /// resilience, the session established at start, and the sync loop (its handler is the inbox's).
    /// </summary>
    public static IServiceCollection AddHomeserver(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<MatrixOptions>().Bind(configuration.GetSection(MatrixOptions.Section)).ValidateOnStart();
        services.AddOptions<OperatorOptions>().Configure(o => o.Operators = configuration.GetSection("Operators").Get<List<string>>() ?? []);
        services.AddSingleton<IValidateOptions<MatrixOptions>, MatrixOptionsValidator>();
        services.AddSingleton<Fatal>();

        const string Api = "Doorman.Matrix", LongPoll = "Doorman.Matrix.Sync";
        services.AddSingleton(new MatrixClientOptions());
        services.AddSingleton(sp => sp.GetRequiredService<IOptions<MatrixOptions>>().Value.AccessToken is { Length: > 0 } token
            ? new AccessTokenSource(token) : new AccessTokenSource());
        services.AddSingleton(sp => sp.GetRequiredService<IOptions<MatrixOptions>>().Value.HomeserverUrl is { Length: > 0 } url
            ? new HomeserverAddress(new Uri(url)) : new HomeserverAddress());
        services.AddTransient<AccessTokenHandler>();
        services.AddSingleton<MatrixSession>();
        services.AddSingleton<BotCrypto>();
        services.AddHttpClient(DiscoveryClient, http => http.Timeout = TimeSpan.FromSeconds(30));

        // Per-attempt timeouts come from the pipeline and the sync loop, not from HttpClient.
        static void Base(HttpClient http) => http.Timeout = Timeout.InfiniteTimeSpan;
        static SocketsHttpHandler Primary() => new() { PooledConnectionLifetime = TimeSpan.FromMinutes(5) };

        services.AddSingleton(sp => new PriorityGate(sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILoggerFactory>().CreateLogger("Doorman.Matrix")));
        // Invites and kicks go first (README "Rate limits"): the gate's outer handler wraps the resilience pipeline,
        // its inner handler holds each attempt of other writes.
        var api = services.AddHttpClient(Api, Base)
            .ConfigurePrimaryHttpMessageHandler(Primary)
            .AddHttpMessageHandler<AccessTokenHandler>()
            .AddHttpMessageHandler(sp => new UrgentRequestHandler(sp.GetRequiredService<PriorityGate>()));
        api.AddResilienceHandler("matrix", (pipeline, context) => MatrixResilience.Configure(pipeline,
            context.ServiceProvider.GetRequiredService<MatrixClientOptions>(), context.ServiceProvider.GetRequiredService<TimeProvider>(),
            context.ServiceProvider.GetRequiredService<ILoggerFactory>().CreateLogger("Doorman.Matrix")));
        api.AddHttpMessageHandler(sp => new PriorityGateHandler(sp.GetRequiredService<PriorityGate>()));
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
        services.AddSingleton<SyncLoop>();
        services.AddActivePart<CryptoStart>();      // the first active part: the device's keys, then the sync loop
        services.AddActivePart<SyncService>();
        services.AddHealthChecks().AddCheck<SyncHealthCheck>(SyncHealthCheck.Name);
        return services;
    }
}
