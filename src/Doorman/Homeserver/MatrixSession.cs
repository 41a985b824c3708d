using Doorman.Matrix;
using Doorman.Matrix.Http;
using Doorman.Storage;
using Microsoft.Extensions.Options;

namespace Doorman.Homeserver;

/// <summary>
/// Establishes the bot's Matrix session at start: finds the homeserver (configured, or discovered through
/// <c>/.well-known</c>), gets an access token (configured; or stored from an earlier password login; or a new
/// password login that reuses the stored device id), checks it with <c>whoami</c>, and reads what the server
/// supports. Every failure is a <see cref="StartupException"/> naming what to fix, never a secret. End-to-end
/// encryption for the device (<see cref="BotCrypto"/>) starts later, when this instance becomes the active one
/// (<see cref="CryptoStart"/>).
/// </summary>
public sealed partial class MatrixSession(
    MatrixClient matrix,
    HomeserverAddress address,
    AccessTokenSource tokens,
    IHttpClientFactory httpClients,
    Database database,
    Cursors cursors,
    IOptions<MatrixOptions> options,
    ILogger<MatrixSession> logger)
{
    internal const string StoredToken = "matrix.access_token";
    private const string StoredDevice = "matrix.device_id";

    private MatrixOptions Options => options.Value;

    /// <summary>The device the access token belongs to, once established (null: the server did not say).</summary>
    public string? DeviceId { get; private set; }

    public async Task EstablishAsync(CancellationToken cancellationToken)
    {
        if (!address.IsKnown)
        {
            try
            {
                address.BaseUrl = await Discovery.DiscoverAsync(httpClients.CreateClient(HomeserverSetup.DiscoveryClient), Options.ServerName, cancellationToken);
            }
            catch (Exception e) when (e is MatrixDiscoveryException or HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
                throw new StartupException($"cannot find the homeserver for {Options.ServerName}: {e.Message}. Set Matrix:HomeserverUrl.", e);
            }
            LogDiscovered(address.BaseUrl, Options.ServerName);
        }

        var me = Options.Password.Length > 0 ? await PasswordSessionAsync(cancellationToken) : await WhoAmIAsync("Matrix:AccessToken", cancellationToken);
        if (me.UserId != Options.UserId)
            throw new StartupException($"the access token belongs to {me.UserId}, not to Matrix:UserId {Options.UserId}.");

        var support = await matrix.ProbeServerAsync(cancellationToken);
        LogReady(me.UserId, address.BaseUrl, me.DeviceId ?? "?", (support.Versions.Count > 0 ? support.Versions[^1] : "?"), support.DefaultRoomVersion);
        if (!support.AuthenticatedMedia)
            LogOldServer();

        DeviceId = me.DeviceId;
    }

    private async Task<Matrix.Rooms.WhoAmI> PasswordSessionAsync(CancellationToken cancellationToken)
    {
        var (token, device) = await database.ReadAsync(async tx => (await cursors.GetAsync(tx, StoredToken), await cursors.GetAsync(tx, StoredDevice)), cancellationToken);
        if (token is not null)
        {
            tokens.Set(token);
            try
            {
                return await matrix.WhoAmIAsync(cancellationToken);
            }
            catch (MatrixException e) when (e.IsUnknownToken)
            {
                LogStoredTokenRefused();
            }
        }

        LoginResponse login;
        try
        {
            login = await matrix.LoginWithPasswordAsync(Options.UserId, Options.Password, device, "Doorman", cancellationToken);
        }
        catch (MatrixException e) when (e.IsForbidden || e.Status == System.Net.HttpStatusCode.BadRequest)
        {
            throw new StartupException($"the homeserver refused to log {Options.UserId} in with Matrix:Password ({e.ErrorCode}: {e.Error}).");
        }
        catch (Exception e) when (e is HttpRequestException or MatrixException or Polly.Timeout.TimeoutRejectedException)
        {
            throw new StartupException($"cannot reach the homeserver at {address.BaseUrl}: {e.Message}", e);
        }
        await database.WriteAsync(async tx =>
        {
            await cursors.SetAsync(tx, StoredToken, login.AccessToken);
            await cursors.SetAsync(tx, StoredDevice, login.DeviceId);
        }, cancellationToken);
        tokens.Set(login.AccessToken);
        LogLoggedIn(login.UserId, login.DeviceId, device is null ? "a new device" : "the same device as before");
        return await WhoAmIAsync("the token from Matrix:Password", cancellationToken);
    }

    private async Task<Matrix.Rooms.WhoAmI> WhoAmIAsync(string source, CancellationToken cancellationToken)
    {
        try
        {
            return await matrix.WhoAmIAsync(cancellationToken);
        }
        catch (MatrixException e) when (e.IsUnknownToken || e.ErrorCode == ErrorCodes.MissingToken)
        {
            throw new StartupException($"the homeserver at {address.BaseUrl} does not accept {source} ({e.ErrorCode}). "
                + "Log the bot account in and configure its access token, or use Matrix:Password.");
        }
        catch (Exception e) when (e is HttpRequestException or MatrixException or TimeoutException or Polly.Timeout.TimeoutRejectedException)
        {
            throw new StartupException($"cannot reach the homeserver at {address.BaseUrl}: {e.Message}", e);
        }
    }

    [LoggerMessage(LogLevel.Information, "Discovered the homeserver {BaseUrl} for {ServerName}")]
    private partial void LogDiscovered(Uri baseUrl, string serverName);

    [LoggerMessage(LogLevel.Information, "Signed in as {UserId} on {BaseUrl} (device {DeviceId}); the server speaks up to {Version}, default room version {RoomVersion}")]
    private partial void LogReady(string userId, Uri baseUrl, string deviceId, string version, string roomVersion);

    [LoggerMessage(LogLevel.Warning, "The homeserver predates Matrix v1.11: media is downloaded through the legacy unauthenticated API")]
    private partial void LogOldServer();

    [LoggerMessage(LogLevel.Information, "The stored access token was refused; logging in again with Matrix:Password")]
    private partial void LogStoredTokenRefused();

    [LoggerMessage(LogLevel.Information, "Logged in as {UserId} with Matrix:Password on {Device} ({Which})")]
    private partial void LogLoggedIn(string userId, string device, string which);
}
