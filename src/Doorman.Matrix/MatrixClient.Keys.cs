using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Doorman.Matrix.Http;

namespace Doorman.Matrix;

// End-to-end encryption: the key management API (CS API "End-to-End Encryption" → "Key management API",
// "Cross-signing", "Send-to-Device messaging"). Bodies are JSON objects built and read by Doorman.Matrix.Crypto;
// this file only carries them.
public sealed partial class MatrixClient
{
    /// <summary>
    /// <c>POST /keys/upload</c>: device keys, one-time keys and fallback keys (any may be absent). Returns the
    /// server's count of unclaimed one-time keys per algorithm. Repeating an upload is harmless (the server
    /// refuses a changed key under a known id, and an identical one is accepted), so it is retried.
    /// </summary>
    public async Task<Dictionary<string, int>> UploadKeysAsync(JsonObject body, CancellationToken cancellationToken)
    {
        var response = await SendAsync(HttpMethod.Post, V3 + "keys/upload", Json(body, MatrixJsonContext.Default.JsonObject),
            MatrixJsonContext.Default.JsonElement, idempotent: true, cancellationToken);
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        if (response.ValueKind == JsonValueKind.Object && response.TryGetProperty("one_time_key_counts", out var c) && c.ValueKind == JsonValueKind.Object)
        {
            foreach (var count in c.EnumerateObject())
            {
                if (count.Value.TryGetInt32(out var n))
                    counts[count.Name] = n;
            }
        }
        return counts;
    }

    /// <summary><c>POST /keys/query</c> for every device of these users; the response as the server sent it.</summary>
    public Task<JsonElement> QueryKeysAsync(IEnumerable<string> userIds, CancellationToken cancellationToken)
    {
        var devices = new JsonObject();
        foreach (var userId in userIds)
            devices[userId] = new JsonArray();
        return SendAsync(HttpMethod.Post, V3 + "keys/query", Json(new JsonObject { ["device_keys"] = devices }, MatrixJsonContext.Default.JsonObject),
            MatrixJsonContext.Default.JsonElement, idempotent: true, cancellationToken);
    }

    /// <summary>
    /// <c>POST /keys/claim</c>: one key of <paramref name="algorithm"/> for each (user, device). Not retried: a
    /// claim consumes keys, and a repeat would consume another.
    /// </summary>
    public Task<JsonElement> ClaimKeysAsync(IEnumerable<(string UserId, string DeviceId)> devices, string algorithm, CancellationToken cancellationToken)
    {
        var keys = new JsonObject();
        foreach (var (userId, deviceId) in devices)
        {
            if (keys[userId] is not JsonObject user)
                keys[userId] = user = [];
            user[deviceId] = algorithm;
        }
        return SendAsync(HttpMethod.Post, V3 + "keys/claim", Json(new JsonObject { ["one_time_keys"] = keys }, MatrixJsonContext.Default.JsonObject),
            MatrixJsonContext.Default.JsonElement, idempotent: false, cancellationToken);
    }

    /// <summary>
    /// <c>PUT /sendToDevice/{eventType}/{txnId}</c>; <paramref name="messages"/> is user → device → content. The
    /// transaction id makes a repeat harmless, so it is retried.
    /// </summary>
    public Task SendToDeviceAsync(string eventType, string transactionId, JsonObject messages, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Put, $"{V3}sendToDevice/{E(eventType)}/{E(transactionId)}",
            Json(new JsonObject { ["messages"] = messages }, MatrixJsonContext.Default.JsonObject), idempotent: true, cancellationToken);

    /// <summary><c>POST /keys/signatures/upload</c>: user → key id → signed object. Returns the server's per-key failures, if any.</summary>
    public Task<JsonElement> UploadSignaturesAsync(JsonObject signatures, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Post, V3 + "keys/signatures/upload", Json(signatures, MatrixJsonContext.Default.JsonObject),
            MatrixJsonContext.Default.JsonElement, idempotent: true, cancellationToken);

    /// <summary>
    /// <c>POST /keys/device_signing/upload</c> (CS API "Cross-signing"). Since v1.11 a server asks for no
    /// user-interactive auth when the account has no master key yet; when it does ask (a server that predates that,
    /// or a master key already there), the stages a bot can do are done: <c>m.login.dummy</c>, and
    /// <c>m.login.password</c> when <paramref name="password"/> is given. Any other flow throws, naming the stages
    /// the server wants (CS API "User-Interactive Authentication API").
    /// </summary>
    public async Task UploadSigningKeysAsync(string userId, JsonObject body, string? password, CancellationToken cancellationToken)
    {
        var first = await TryUploadSigningKeysAsync((JsonObject)body.DeepClone(), cancellationToken);
        if (first is null)
            return;
        var session = JsonText.Of(first["session"]);
        var flows = (first["flows"] as JsonArray ?? [])
            .Select(f => (f?["stages"] as JsonArray ?? []).Select(s => JsonText.Of(s) ?? "").ToList())
            .ToList();
        JsonObject auth;
        if (flows.Any(f => f is ["m.login.dummy"]))
        {
            auth = new JsonObject { ["type"] = "m.login.dummy", ["session"] = session };
        }
        else if (password is not null && flows.Any(f => f is ["m.login.password"]))
        {
            auth = new JsonObject
            {
                ["type"] = "m.login.password",
                ["identifier"] = new JsonObject { ["type"] = "m.id.user", ["user"] = userId },
                ["password"] = password,
                ["session"] = session,
            };
        }
        else
        {
            var wanted = string.Join(" or ", flows.Select(f => string.Join(" then ", f)));
            throw new MatrixException(HttpStatusCode.Unauthorized, ErrorCodes.Forbidden,
                $"the homeserver asks for interactive authentication to publish cross-signing keys ({(wanted.Length > 0 ? wanted : "no flow given")}); a password login (Matrix:Password) lets the bot do m.login.password");
        }
        var retry = (JsonObject)body.DeepClone();
        retry["auth"] = auth;
        if (await TryUploadSigningKeysAsync(retry, cancellationToken) is not null)
            throw new MatrixException(HttpStatusCode.Unauthorized, ErrorCodes.Forbidden, "the homeserver refused the bot's authentication for publishing cross-signing keys");
    }

    /// <summary>Null when accepted; the 401 body of a user-interactive auth challenge otherwise. Other failures throw.</summary>
    private async Task<JsonObject?> TryUploadSigningKeysAsync(JsonObject body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, Url(V3 + "keys/device_signing/upload"))
        {
            Content = Json(body, MatrixJsonContext.Default.JsonObject),
        };
        request.Options.Set(MatrixResilience.Idempotent, true);
        using var response = await _api.SendAsync(request, cancellationToken);
        if (response.IsSuccessStatusCode)
            return null;
        if (response.StatusCode == HttpStatusCode.Unauthorized)
        {
            await response.Content.LoadIntoBufferAsync(cancellationToken);
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            JsonObject? challenge = null;
            try
            {
                challenge = JsonNode.Parse(text) as JsonObject;
            }
            catch (JsonException)
            {
            }
            if (challenge?["flows"] is JsonArray)
                return challenge;
        }
        throw await MatrixErrors.ReadAsync(response, _time, cancellationToken);
    }
}
