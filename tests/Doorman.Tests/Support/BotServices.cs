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
/// The bot's real service graph, not started: for tests of one part (settlement, sweep) on a real SQLite file, or on
/// a fresh PostgreSQL database when the suite runs on PostgreSQL (<see cref="TestStorage"/>; dropped with the provider).
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
        };
        // A fresh database, unless the settings name one (a second graph on another's database: SharedStorage).
        var (storage, drop) = settings?.ContainsKey("Storage:Provider") == true
            ? (new Dictionary<string, string?>(), NothingToDrop.Instance)
            : await TestStorage.CreateAsync(databasePath);
        foreach (var (key, value) in storage)
            values[key] = value;
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
        services.AddSingleton(_ => new DropOnDispose(drop));
        configure?.Invoke(services);
        var provider = services.BuildServiceProvider();
        provider.GetRequiredService<DropOnDispose>(); // resolved first, so disposed last
        await provider.GetRequiredService<Migrator>().MigrateAsync(CancellationToken.None);
        return provider;
    }

    /// <summary>The settings of <paramref name="services"/>'s database, for a second graph on it (like a second process).</summary>
    public static Dictionary<string, string?> SharedStorage(IServiceProvider services)
    {
        var storage = services.GetRequiredService<Microsoft.Extensions.Options.IOptions<StorageOptions>>().Value;
        var configuration = services.GetRequiredService<IConfiguration>();
        return new()
        {
            ["Storage:Provider"] = storage.Provider.ToString(),
            ["Storage:Path"] = storage.Path,
            ["Storage:ConnectionString"] = storage.ConnectionString,
            ["Matrix:CryptoKey"] = configuration["Matrix:CryptoKey"],
        };
    }

    private sealed class NothingToDrop : IAsyncDisposable
    {
        public static readonly NothingToDrop Instance = new();

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    /// <summary>Drops the test's PostgreSQL database when the provider is disposed (it made the singleton, so it disposes it).</summary>
    private sealed class DropOnDispose(IAsyncDisposable drop) : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => drop.DisposeAsync();
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
