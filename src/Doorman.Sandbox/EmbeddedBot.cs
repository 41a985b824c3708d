using Doorman.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace Doorman.Sandbox;

/// <summary>
/// The real bot, started in this process from the same composition as <c>src/Doorman</c>'s Program, with the
/// given settings layered over the usual configuration. Only the servers around it are embedded.
/// </summary>
public sealed class EmbeddedBot : IAsyncDisposable
{
    private readonly WebApplication _app;

    private EmbeddedBot(WebApplication app) => _app = app;

    public IServiceProvider Services => _app.Services;

    /// <summary>The bot's HTTP listener (for /healthz).</summary>
    public Uri HttpUrl => new(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());

    public static async Task<EmbeddedBot> StartAsync(IReadOnlyDictionary<string, string?> settings, Action<ILoggingBuilder>? logging = null,
        Action<IServiceCollection>? services = null, CancellationToken cancellationToken = default)
    {
        var builder = DoormanApp.CreateBuilder([], configuration => configuration.AddInMemoryCollection(settings));
        if (logging is not null)
        {
            builder.Logging.ClearProviders();
            logging(builder.Logging);
        }
        services?.Invoke(builder.Services);
        var app = DoormanApp.Build(builder);
        try
        {
            await DoormanApp.StartAsync(app, cancellationToken);
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }
        return new EmbeddedBot(app);
    }

    /// <summary>A graceful stop, as on SIGTERM: the current work finishes, nothing is left half-done.</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default) => await _app.StopAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _app.StopAsync(CancellationToken.None);
        }
        catch (ObjectDisposedException)
        {
        }
        await _app.DisposeAsync();
    }
}
