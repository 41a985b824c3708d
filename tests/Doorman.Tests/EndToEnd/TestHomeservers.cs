using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Doorman.Sandbox.Homeserver;
using Doorman.Sandbox.Players;

namespace Doorman.Tests.EndToEnd;

/// <summary>A homeserver a scenario runs on: the in-process sandbox, or a real Synapse.</summary>
public interface ITestHomeserver : IAsyncDisposable
{
    string Kind { get; }

    Uri Url { get; }

    string ServerName { get; }

    Task<(string UserId, string AccessToken)> RegisterAsync(string localpart, CancellationToken cancellationToken = default);

    /// <summary>Lifts the message rate limit for one user (never the bot's, in a test about the bot's rate limit).</summary>
    Task ExemptFromRateLimitsAsync(string userId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Logs a user registered here in again with its password: a new device, as when the person signs in on another
    /// client. Returns the new device's access token.
    /// </summary>
    Task<string> LoginNewDeviceAsync(string userId, string deviceName, CancellationToken cancellationToken = default);
}

/// <summary>CS API v1.12 §5.5.2 "POST /_matrix/client/v3/login" with m.login.password: a fresh device and access token.</summary>
internal static class PasswordLogin
{
    public static async Task<string> LoginAsync(Uri homeserver, string userId, string password, string deviceName, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { BaseAddress = homeserver, Timeout = TimeSpan.FromSeconds(30) };
        using var response = await http.PostAsJsonAsync("_matrix/client/v3/login", new JsonObject
        {
            ["type"] = "m.login.password",
            ["identifier"] = new JsonObject { ["type"] = "m.id.user", ["user"] = userId },
            ["password"] = password,
            ["initial_device_display_name"] = deviceName,
        }, cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        if (!response.IsSuccessStatusCode)
            throw new InvalidOperationException($"the homeserver refused {userId}'s login: {(int)response.StatusCode} {body}");
        return JsonNode.Parse(body)!["access_token"]!.GetValue<string>();
    }
}

public sealed class SandboxTestHomeserver(SandboxHomeserver server) : ITestHomeserver
{
    public string Kind => "sandbox";

    public SandboxHomeserver Server => server;

    public Uri Url => server.Url;

    public string ServerName => server.ServerName;

    public static async Task<SandboxTestHomeserver> StartAsync(SandboxHomeserverOptions? options = null) =>
        new(await SandboxHomeserver.StartAsync(options));

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> _passwords = new(StringComparer.Ordinal);

    public Task<(string UserId, string AccessToken)> RegisterAsync(string localpart, CancellationToken cancellationToken = default)
    {
        var user = server.RegisterUser(localpart); // its password is the localpart (tests/Doorman.Tests/Matrix/SessionTests.cs logs the bot in with it)
        _passwords[user.UserId] = localpart;
        return Task.FromResult((user.UserId, user.AccessToken));
    }

    public Task<string> LoginNewDeviceAsync(string userId, string deviceName, CancellationToken cancellationToken = default) =>
        PasswordLogin.LoginAsync(Url, userId, _passwords[userId], deviceName, cancellationToken);

    public Task ExemptFromRateLimitsAsync(string userId, CancellationToken cancellationToken = default)
    {
        server.ExemptFromRateLimits(userId);
        return Task.CompletedTask;
    }

    public ValueTask DisposeAsync() => server.DisposeAsync();
}

/// <summary>
/// The Synapse that <c>tests/synapse/synapse.sh</c> starts (CI does, in <c>.ci/run</c>). Users are registered with
/// the shared-secret admin API; localparts get a random suffix, because Synapse keeps its users across tests.
/// </summary>
public sealed class SynapseTestHomeserver : ITestHomeserver
{
    public const string UrlVariable = "DOORMAN_SYNAPSE_URL";
    public const string SecretVariable = "DOORMAN_SYNAPSE_SECRET";

    private readonly SynapseAdmin _admin;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> _passwords = new(StringComparer.Ordinal);

    private SynapseTestHomeserver(Uri url, string secret)
    {
        Url = url;
        _admin = new SynapseAdmin(url, secret);
    }

    public string Kind => "synapse";

    public Uri Url { get; }

    public string ServerName => "localhost";

    /// <summary>Null when no Synapse is configured for this run.</summary>
    public static SynapseTestHomeserver? FromEnvironment() =>
        Environment.GetEnvironmentVariable(UrlVariable) is { Length: > 0 } url
            ? new SynapseTestHomeserver(new Uri(url.TrimEnd('/') + "/"), Environment.GetEnvironmentVariable(SecretVariable) ?? "doorman-test-shared-secret")
            : null;

    public async Task<(string UserId, string AccessToken)> RegisterAsync(string localpart, CancellationToken cancellationToken = default)
    {
        var (userId, token, password) = await _admin.RegisterAsync(localpart, cancellationToken: cancellationToken);
        _passwords[userId] = password;
        return (userId, token);
    }

    /// <inheritdoc cref="SynapseAdmin.ExemptFromRateLimitsAsync"/>
    public Task ExemptFromRateLimitsAsync(string userId, CancellationToken cancellationToken = default) =>
        _admin.ExemptFromRateLimitsAsync(userId, cancellationToken);

    public Task<string> LoginNewDeviceAsync(string userId, string deviceName, CancellationToken cancellationToken = default) =>
        PasswordLogin.LoginAsync(Url, userId, _passwords[userId], deviceName, cancellationToken);

    public ValueTask DisposeAsync()
    {
        _admin.Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>A test that needs the real Synapse: skipped, saying why, when <c>DOORMAN_SYNAPSE_URL</c> is not set.</summary>
public sealed class SynapseFactAttribute : FactAttribute
{
    public SynapseFactAttribute()
    {
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable(SynapseTestHomeserver.UrlVariable)))
            Skip = $"no Synapse: set {SynapseTestHomeserver.UrlVariable} (bash .ci/run starts one with tests/synapse/synapse.sh)";
    }
}
