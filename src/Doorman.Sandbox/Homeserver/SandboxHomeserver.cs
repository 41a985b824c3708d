using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Logging.Abstractions;

namespace Doorman.Sandbox.Homeserver;

/// <summary>
/// An in-process Matrix homeserver for tests: the Client-Server API over real HTTP on loopback, keeping the
/// spec's rules as Synapse 1.160 applies them (membership transitions, power levels, join rules, rate limits,
/// error shapes). Everything lives in memory; <see cref="RestartAsync"/> keeps it. See README.md beside the
/// project for each modelled behaviour and whether it was cross-checked against Synapse.
/// </summary>
public sealed class SandboxHomeserver : IAsyncDisposable
{
    private readonly HomeserverEngine _engine;
    private readonly FaultInjector _faults = new();
    private readonly SandboxHomeserverOptions _options;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _lifecycle = new(1, 1);
    private WebApplication? _app;
    private CancellationTokenSource? _running;
    private int _port;
    private bool _disposed;

    private SandboxHomeserver(SandboxHomeserverOptions options)
    {
        _options = options;
        _loggerFactory = options.LoggerFactory ?? NullLoggerFactory.Instance;
        _logger = _loggerFactory.CreateLogger("Doorman.Sandbox.Homeserver");
        _engine = new HomeserverEngine(options, _logger);
        _port = options.Port;
        Url = new Uri($"http://127.0.0.1:{options.Port}/");
    }

    /// <summary>The base URL clients use, e.g. <c>http://127.0.0.1:41234/</c>.</summary>
    public Uri Url { get; private set; }

    public string ServerName => _engine.ServerName;

    /// <summary>Binds Kestrel on 127.0.0.1 (an ephemeral port unless <see cref="SandboxHomeserverOptions.Port"/> is set).</summary>
    public static async Task<SandboxHomeserver> StartAsync(SandboxHomeserverOptions? options = null, CancellationToken cancellationToken = default)
    {
        var server = new SandboxHomeserver(options ?? new SandboxHomeserverOptions());
        try
        {
            await server.ListenAsync(cancellationToken);
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>Creates <c>@localpart:ServerName</c> with password = localpart and a fresh access token and device.</summary>
    public SandboxUser RegisterUser(string localpart) => _engine.Register(localpart, localpart);

    /// <summary>Creates <c>@localpart:ServerName</c> with the given password.</summary>
    public SandboxUser RegisterUser(string localpart, string password) => _engine.Register(localpart, password);

    /// <summary>The user's current membership: "join", "invite", "leave", "ban", "knock", or null (also for an unknown room).</summary>
    public string? GetMembership(string roomId, string userId) => _engine.GetMembership(roomId, userId);

    /// <summary>Every event of the room in client format (with <c>room_id</c>), oldest first.</summary>
    /// <exception cref="KeyNotFoundException">The room does not exist.</exception>
    public IReadOnlyList<JsonElement> GetTimeline(string roomId) => [.. _engine.GetTimeline(roomId).Select(ToElement)];

    /// <summary>The whole current state event (client format, not just its content), or null when absent.</summary>
    public JsonElement? GetStateEvent(string roomId, string type, string stateKey = "") =>
        _engine.GetStateEvent(roomId, type, stateKey) is { } e ? ToElement(e) : null;

    /// <summary>
    /// The next <paramref name="count"/> rate-limited requests of the user (sends, state, membership changes,
    /// createRoom) that pass the auth rules get 429 <c>M_LIMIT_EXCEEDED</c> with this wait, whatever the bucket says.
    /// </summary>
    public void RateLimitNext(string userId, int count, TimeSpan retryAfter) => _engine.RateLimitNext(userId, count, retryAfter);

    /// <summary>
    /// Lifts <see cref="SandboxHomeserverOptions.MessageRateLimit"/> for one user, as Synapse's admin API does with
    /// <c>POST /_synapse/admin/v1/users/{userId}/override_ratelimit</c> and zeros (the endpoint itself is not modelled).
    /// </summary>
    public void ExemptFromRateLimits(string userId) => _engine.ExemptFromRateLimits(userId);

    /// <summary>
    /// The next <paramref name="count"/> requests whose path contains <paramref name="pathContains"/> fail with
    /// <paramref name="statusCode"/> before anything else happens (0 drops the connection), with the standard error
    /// body <c>{errcode, error}</c>: by default <c>M_UNKNOWN</c>, "Injected fault".
    /// </summary>
    public void FailNext(string pathContains, int statusCode, int count, string errorCode = "M_UNKNOWN", string error = "Injected fault") =>
        _faults.FailNext(pathContains, statusCode, count, errorCode, error);

    /// <summary>Forgets every scripted failure not yet used: the server answers normally again.</summary>
    public void ClearFaults() => _faults.Clear();

    /// <summary>Later requests with this token get 401 <c>M_UNKNOWN_TOKEN</c> carrying <c>soft_logout</c>.</summary>
    public void InvalidateToken(string accessToken, bool softLogout = false) => _engine.InvalidateToken(accessToken, softLogout);

    /// <summary>
    /// Stops listening (in-flight long-polls lose their connection, as with a real restart) and listens again on
    /// the same port. Rooms, accounts, tokens and stream positions survive.
    /// </summary>
    public async Task RestartAsync(CancellationToken cancellationToken = default)
    {
        await StopAsync(cancellationToken);
        await ListenAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        await StopAsync(CancellationToken.None);
        _disposed = true;
        _lifecycle.Dispose();
    }

    /// <summary>A detached copy, so callers may keep it after the document is gone.</summary>
    private static JsonElement ToElement(System.Text.Json.Nodes.JsonObject node)
    {
        using var document = JsonDocument.Parse(node.ToJsonString());
        return document.RootElement.Clone();
    }

    private async Task ListenAsync(CancellationToken cancellationToken)
    {
        await _lifecycle.WaitAsync(cancellationToken);
        try
        {
            var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
            builder.Services.AddSingleton(_loggerFactory);
            builder.Services.AddSingleton(typeof(ILogger<>), typeof(Logger<>));
            builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(2));
            builder.WebHost.UseKestrelCore().ConfigureKestrel(k =>
            {
                k.Listen(IPAddress.Loopback, _port);

                // Room for a maximal upload (Kestrel's default is 30 MB); anything larger is a 413 M_TOO_LARGE.
                k.Limits.MaxRequestBodySize = HomeserverEngine.MaxUploadSize + (1024 * 1024);
            });
            var app = builder.Build();

            var running = new CancellationTokenSource();
            var endpoints = new Endpoints(_engine, _faults, _logger, _options.TimeProvider, () => Url, running.Token);
            app.Run(endpoints.HandleAsync);
            await app.StartAsync(cancellationToken);

            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            _port = new Uri(address).Port;
            Url = new Uri($"http://127.0.0.1:{_port}/");
            _app = app;
            _running = running;
            Log.Listening(_logger, ServerName, Url);
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    private async Task StopAsync(CancellationToken cancellationToken)
    {
        await _lifecycle.WaitAsync(cancellationToken);
        try
        {
            if (_running is not null)
            {
                await _running.CancelAsync();
                _running.Dispose();
                _running = null;
            }

            if (_app is not null)
            {
                await _app.StopAsync(cancellationToken);
                await _app.DisposeAsync();
                _app = null;
            }
        }
        finally
        {
            _lifecycle.Release();
        }
    }
}
