using Doorman.Matrix;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Doorman.Storage;
using Doorman.Tests.EndToEnd;
using Xunit.Abstractions;

namespace Doorman.Tests.Matrix;

/// <summary>Password login that keeps one device across restarts, and homeserver discovery.</summary>
public sealed class SessionTests(ITestOutputHelper output) : SandboxScenarioTests(output)
{
    private static void WithPassword(Dictionary<string, string?> settings)
    {
        settings["Matrix:AccessToken"] = null;
        settings["Matrix:Password"] = "doorman"; // the sandbox's password for a registered user is its localpart
    }

    private Task<string?> StoredAsync(string name) => new Database(S.DatabasePath).ReadAsync(tx => new Cursors().GetAsync(tx, name), default);

    [Fact]
    public async Task A_password_login_keeps_one_device_across_restarts_and_relogins()
    {
        await S.StartBotAsync(WithPassword);
        var device = await StoredAsync("matrix.device_id");
        var token = await StoredAsync("matrix.access_token");
        Assert.NotNull(device);
        Assert.NotNull(token);
        Assert.NotEqual(S.BotToken, token);

        // A restart reuses the stored token: no new login, no new device.
        await S.StopBotAsync();
        await S.StartBotAsync(WithPassword);
        Assert.Equal(token, await StoredAsync("matrix.access_token"));

        // The server drops that token: the next start logs in again, on the same device.
        await S.StopBotAsync();
        Hs.Server.InvalidateToken(token!);
        await S.StartBotAsync(WithPassword);
        Assert.NotEqual(token, await StoredAsync("matrix.access_token"));
        Assert.Equal(device, await StoredAsync("matrix.device_id"));

        // And the bot works with it.
        var (roomId, _) = await S.OwnerMakesRoomAsync();
        await S.OwnerGatesAsync(roomId, "5 sats per 1d");
    }

    [Fact]
    public async Task A_wrong_password_stops_the_bot_without_printing_it()
    {
        var e = await Assert.ThrowsAsync<Doorman.Homeserver.StartupException>(() => S.StartBotAsync(settings =>
        {
            settings["Matrix:AccessToken"] = null;
            settings["Matrix:Password"] = "hunter2-not-it";
        }));
        Assert.Contains("refused to log", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Discovery_follows_well_known_and_checks_versions()
    {
        // The sandbox serves /.well-known/matrix/client pointing at itself; "https://localhost" is routed to it.
        using var http = new HttpClient(new RouteTo(Hs.Url));
        Assert.Equal(Hs.Url, await Discovery.DiscoverAsync(http, "localhost", default));
    }

    [Fact]
    public async Task Without_well_known_the_server_name_is_the_homeserver()
    {
        // A server with no delegation: /.well-known is 404, the client API answers at the server name itself.
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        await using var plain = builder.Build();
        plain.MapGet("/_matrix/client/versions", () => Results.Text("""{"versions":["v1.12"]}""", "application/json"));
        await plain.StartAsync();
        var url = new Uri(plain.Urls.First() + "/");
        using var http = new HttpClient(new RouteTo(url));
        Assert.Equal(new Uri("https://example.test/"), await Discovery.DiscoverAsync(http, "example.test", default));
    }

    [Fact]
    public async Task Discovery_fails_clearly_when_nothing_answers()
    {
        using var http = new HttpClient(new RouteTo(new Uri("http://127.0.0.1:9/")));
        var e = await Assert.ThrowsAsync<MatrixDiscoveryException>(() => Discovery.DiscoverAsync(http, "example.test", default));
        Assert.Contains("cannot reach https://example.test/.well-known/matrix/client", e.Message, StringComparison.Ordinal);
    }

    /// <summary>Sends every request to <paramref name="target"/>, keeping path and query: a stand-in for DNS.</summary>
    private sealed class RouteTo(Uri target) : DelegatingHandler(new SocketsHttpHandler())
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            request.RequestUri = new Uri(target, request.RequestUri!.PathAndQuery);
            return base.SendAsync(request, cancellationToken);
        }
    }
}
