using Doorman.Access;
using Doorman.Hosting;
using Doorman.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Doorman.Tests.Support;

/// <summary>
/// The bot's real service graph, not started: for tests of one part (settlement, sweep) on a real SQLite file.
/// </summary>
public static class BotServices
{
    /// <param name="settings">Overrides, e.g. a homeserver the graph's Matrix client should reach (by default none answers).</param>
    public static async Task<ServiceProvider> BuildAsync(string databasePath, TimeProvider? time = null,
        IPaymentBackend? backend = null, Action<IServiceCollection>? configure = null, IReadOnlyDictionary<string, string?>? settings = null)
    {
        var values = new Dictionary<string, string?>
        {
            ["Matrix:HomeserverUrl"] = "http://127.0.0.1:9/",
            ["Matrix:UserId"] = "@bot:localhost",
            ["Matrix:AccessToken"] = "unused",
            ["Storage:Path"] = databasePath,
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
            values[key] = value;
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        var services = new ServiceCollection();
        services.AddLogging(l => l.SetMinimumLevel(LogLevel.Warning));
        services.AddSingleton<IHostApplicationLifetime, NoLifetime>();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddDoorman(configuration);
        if (time is not null)
            services.Replace(ServiceDescriptor.Singleton(time));
        services.Replace(ServiceDescriptor.Singleton(backend ?? new UnusedBackend()));
        configure?.Invoke(services);
        var provider = services.BuildServiceProvider();
        await provider.GetRequiredService<Migrator>().MigrateAsync(CancellationToken.None);
        return provider;
    }

    private sealed class NoLifetime : IHostApplicationLifetime
    {
        public CancellationToken ApplicationStarted => CancellationToken.None;
        public CancellationToken ApplicationStopping => CancellationToken.None;
        public CancellationToken ApplicationStopped => CancellationToken.None;
        public void StopApplication() { }
    }

    /// <summary>For tests that never reach the backend: any call is a test bug.</summary>
    private sealed class UnusedBackend : IPaymentBackend
    {
        public string Name => "lnd";
        public Task<CreatedInvoice> CreateInvoiceAsync(InvoiceRequest request, CancellationToken cancellationToken) => throw new InvalidOperationException("unused");
        public Task<InvoiceUpdate> LookupInvoiceAsync(string reference, CancellationToken cancellationToken) => throw new InvalidOperationException("unused");
        public Task<ISettlementFeed> OpenSettlementFeedAsync(string? cursor, CancellationToken cancellationToken) => throw new InvalidOperationException("unused");
        public Task CheckHealthAsync(CancellationToken cancellationToken) => throw new InvalidOperationException("unused");
    }
}
