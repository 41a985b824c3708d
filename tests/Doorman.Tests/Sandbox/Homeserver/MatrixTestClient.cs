using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace Doorman.Tests.Sandbox.Homeserver;

/// <summary>
/// Raw Client-Server API calls over HTTP, for tests that must hold on any homeserver: the sandbox, or a real
/// Synapse. Users are registered through Synapse's shared-secret admin API, which the sandbox also speaks.
/// Rate-limited calls are retried after the server's <c>Retry-After</c>, as a well-behaved client does, unless
/// a test asks to see the 429.
/// </summary>
public sealed class MatrixTestClient(Uri baseUrl, string registrationSharedSecret) : IDisposable
{
    private const string V3 = "/_matrix/client/v3";
    private readonly HttpClient _http = new() { BaseAddress = baseUrl, Timeout = TimeSpan.FromSeconds(100) };

    public Uri BaseUrl { get; } = baseUrl;

    public void Dispose() => _http.Dispose();

    public async Task<MatrixResponse> SendAsync(HttpMethod method, string path, JsonNode? body = null, TestUser? user = null,
        bool retryRateLimit = true, HttpContent? content = null, CancellationToken cancellationToken = default)
    {
        for (var attempt = 0; ; attempt++)
        {
            using var request = new HttpRequestMessage(method, path);
            if (user is not null)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", user.AccessToken);
            }

            if (content is not null)
            {
                request.Content = content;
            }
            else if (body is not null)
            {
                request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
            }

            using var response = await _http.SendAsync(request, cancellationToken);
            var bytes = await response.Content.ReadAsByteArrayAsync(cancellationToken);
            var result = new MatrixResponse(response.StatusCode, Parse(bytes), bytes, response.Headers, response.Content.Headers);
            if (result.Status != HttpStatusCode.TooManyRequests || !retryRateLimit || attempt >= 30 || content is not null)
            {
                return result;
            }

            await Task.Delay(result.RetryAfter ?? TimeSpan.FromSeconds(1), cancellationToken);
        }
    }

    public Task<MatrixResponse> GetAsync(string path, TestUser? user = null) => SendAsync(HttpMethod.Get, path, user: user);

    public Task<MatrixResponse> PostAsync(string path, JsonNode? body, TestUser? user = null, bool retryRateLimit = true) =>
        SendAsync(HttpMethod.Post, path, body, user, retryRateLimit);

    public Task<MatrixResponse> PutAsync(string path, JsonNode? body, TestUser? user = null, bool retryRateLimit = true) =>
        SendAsync(HttpMethod.Put, path, body, user, retryRateLimit);

    /// <summary>Registers a fresh user whose localpart starts with <paramref name="prefix"/> (a random suffix keeps runs apart).</summary>
    public async Task<TestUser> RegisterAsync(string prefix)
    {
        var localpart = prefix + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
        var password = "pw-" + localpart;
        var nonce = (await GetAsync("/_synapse/admin/v1/register")).Ok()["nonce"]!.GetValue<string>();
        var mac = Convert.ToHexStringLower(HmacSha1(Encoding.UTF8.GetBytes(registrationSharedSecret),
            Encoding.UTF8.GetBytes($"{nonce}\0{localpart}\0{password}\0notadmin")));
        var body = (await PostAsync("/_synapse/admin/v1/register", new JsonObject
        {
            ["nonce"] = nonce, ["username"] = localpart, ["password"] = password, ["admin"] = false, ["mac"] = mac,
        })).Ok();
        return new TestUser(body["user_id"]!.GetValue<string>(), body["access_token"]!.GetValue<string>(), body["device_id"]!.GetValue<string>(), password);
    }

    [System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA5350", Justification = "Synapse's shared-secret registration is defined with HMAC-SHA1.")]
    private static byte[] HmacSha1(byte[] key, byte[] message) => HMACSHA1.HashData(key, message);

    public async Task<string> CreateRoomAsync(TestUser user, JsonObject? request = null) =>
        (await PostAsync(V3 + "/createRoom", request ?? new JsonObject(), user)).Ok()["room_id"]!.GetValue<string>();

    public Task<MatrixResponse> JoinAsync(TestUser user, string roomIdOrAlias, bool retryRateLimit = true) =>
        PostAsync(V3 + "/join/" + Esc(roomIdOrAlias), new JsonObject(), user, retryRateLimit);

    public Task<MatrixResponse> KnockAsync(TestUser user, string roomIdOrAlias, string? reason = null) =>
        PostAsync(V3 + "/knock/" + Esc(roomIdOrAlias), Reason(new JsonObject(), reason), user);

    public Task<MatrixResponse> LeaveAsync(TestUser user, string roomId, string? reason = null) =>
        PostAsync(Room(roomId, "leave"), Reason(new JsonObject(), reason), user);

    /// <summary>invite, kick, ban or unban <paramref name="target"/>.</summary>
    public Task<MatrixResponse> MembershipAsync(TestUser user, string roomId, string action, string target, string? reason = null, bool retryRateLimit = true) =>
        PostAsync(Room(roomId, action), Reason(new JsonObject { ["user_id"] = target }, reason), user, retryRateLimit);

    public async Task<string> SendTextAsync(TestUser user, string roomId, string body, string? txnId = null) =>
        (await SendMessageAsync(user, roomId, new JsonObject { ["msgtype"] = "m.text", ["body"] = body }, txnId)).Ok()["event_id"]!.GetValue<string>();

    public Task<MatrixResponse> SendMessageAsync(TestUser user, string roomId, JsonObject content, string? txnId = null, bool retryRateLimit = true) =>
        PutAsync(Room(roomId, $"send/m.room.message/{Esc(txnId ?? Guid.NewGuid().ToString("N"))}"), content, user, retryRateLimit);

    public Task<MatrixResponse> PutStateAsync(TestUser user, string roomId, string type, JsonObject content, string stateKey = "") =>
        PutAsync(Room(roomId, $"state/{Esc(type)}/{Esc(stateKey)}"), content, user);

    public Task<MatrixResponse> GetStateAsync(TestUser user, string roomId, string type, string stateKey = "") =>
        GetAsync(Room(roomId, $"state/{Esc(type)}/{Esc(stateKey)}"), user);

    public async Task<string?> MembershipOfAsync(TestUser reader, string roomId, string userId)
    {
        var response = await GetStateAsync(reader, roomId, "m.room.member", userId);
        return response.Status == HttpStatusCode.NotFound ? null : response.Ok()["membership"]!.GetValue<string>();
    }

    /// <summary>Reads, changes and writes back the room's power levels.</summary>
    public async Task<MatrixResponse> ChangePowerLevelsAsync(TestUser user, string roomId, Action<JsonObject> change, TestUser? reader = null)
    {
        var levels = (await GetStateAsync(reader ?? user, roomId, "m.room.power_levels")).Ok().AsObject();
        change(levels);
        return await PutStateAsync(user, roomId, "m.room.power_levels", levels);
    }

    public Task<MatrixResponse> SyncAsync(TestUser user, string? since = null, int timeoutMs = 0, string? filter = null, CancellationToken cancellationToken = default)
    {
        var query = new List<string> { "timeout=" + timeoutMs.ToString(CultureInfo.InvariantCulture) };
        if (since is not null)
        {
            query.Add("since=" + Uri.EscapeDataString(since));
        }

        if (filter is not null)
        {
            query.Add("filter=" + Uri.EscapeDataString(filter));
        }

        return SendAsync(HttpMethod.Get, V3 + "/sync?" + string.Join('&', query), user: user, cancellationToken: cancellationToken);
    }

    /// <summary>Logs in again with the password: a second device of the same user.</summary>
    public async Task<TestUser> LoginAsync(TestUser user, string? deviceDisplayName = null)
    {
        var body = new JsonObject
        {
            ["type"] = "m.login.password",
            ["identifier"] = new JsonObject { ["type"] = "m.id.user", ["user"] = user.UserId },
            ["password"] = user.Password,
        };
        if (deviceDisplayName is not null)
        {
            body["initial_device_display_name"] = deviceDisplayName;
        }

        var login = (await PostAsync(V3 + "/login", body)).Ok();
        return user with { AccessToken = login["access_token"]!.GetValue<string>(), DeviceId = login["device_id"]!.GetValue<string>() };
    }

    public Task<MatrixResponse> UploadKeysAsync(TestUser user, JsonObject body) => PostAsync(V3 + "/keys/upload", body, user);

    /// <summary><c>POST /keys/query</c> for all devices of each user.</summary>
    public Task<MatrixResponse> QueryKeysAsync(TestUser user, params string[] userIds) =>
        PostAsync(V3 + "/keys/query", new JsonObject { ["device_keys"] = new JsonObject(userIds.Select(u => KeyValuePair.Create(u, (JsonNode?)new JsonArray()))) }, user);

    /// <summary><c>POST /keys/claim</c> of one <paramref name="algorithm"/> key of one device.</summary>
    public Task<MatrixResponse> ClaimKeyAsync(TestUser user, string userId, string deviceId, string algorithm = "signed_curve25519") =>
        PostAsync(V3 + "/keys/claim", new JsonObject { ["one_time_keys"] = new JsonObject { [userId] = new JsonObject { [deviceId] = algorithm } } }, user);

    public Task<MatrixResponse> SendToDeviceAsync(TestUser user, string eventType, string txnId, JsonObject messages) =>
        PutAsync($"{V3}/sendToDevice/{Esc(eventType)}/{Esc(txnId)}", new JsonObject { ["messages"] = messages }, user);

    public static string Room(string roomId, string rest) => $"{V3}/rooms/{Esc(roomId)}/{rest}";

    public static string Esc(string segment) => Uri.EscapeDataString(segment);

    private static JsonObject Reason(JsonObject body, string? reason)
    {
        if (reason is not null)
        {
            body["reason"] = reason;
        }

        return body;
    }

    private static JsonNode? Parse(byte[] bytes)
    {
        try
        {
            return bytes.Length == 0 ? null : JsonNode.Parse(bytes);
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }
}

public sealed record TestUser(string UserId, string AccessToken, string DeviceId, string Password)
{
    public string Localpart => UserId[1..UserId.IndexOf(':', StringComparison.Ordinal)];
}

/// <summary>A response: status, the JSON body (null when not JSON), the raw bytes and the headers.</summary>
public sealed record MatrixResponse(HttpStatusCode Status, JsonNode? Body, byte[] Bytes, HttpResponseHeaders Headers, HttpContentHeaders ContentHeaders)
{
    public string? ErrCode => Body?["errcode"]?.GetValue<string>();

    public string? Error => Body?["error"]?.GetValue<string>();

    /// <summary><c>Retry-After</c> as a delay in seconds (the form Synapse sends).</summary>
    public TimeSpan? RetryAfter => Headers.RetryAfter?.Delta;

    /// <summary>The body of a 200, or a failed assertion naming what came back instead.</summary>
    public JsonNode Ok()
    {
        Assert.True(Status == HttpStatusCode.OK, $"expected 200, got {(int)Status} {Encoding.UTF8.GetString(Bytes)}");
        return Body!;
    }

    /// <summary>Asserts a refusal with this status and errcode (every error is <c>{errcode, error}</c>).</summary>
    public MatrixResponse Refused(HttpStatusCode status, string errCode)
    {
        Assert.True(Status == status && ErrCode == errCode,
            $"expected {(int)status} {errCode}, got {(int)Status} {Encoding.UTF8.GetString(Bytes)}");
        Assert.NotNull(Error);
        return this;
    }
}
