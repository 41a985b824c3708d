using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace Doorman.Sandbox.Players;

/// <summary>
/// The parts of Synapse's admin API that the end-to-end tests and benchmarks on a real Synapse need: accounts made
/// with the registration shared secret, and a user lifted out of the message rate limit.
/// </summary>
public sealed class SynapseAdmin(Uri url, string sharedSecret) : IDisposable
{
    private readonly HttpClient _http = new() { BaseAddress = url, Timeout = TimeSpan.FromSeconds(30) };
    private string? _adminToken;

    /// <summary>
    /// A new account, <c>&lt;localpart&gt;-&lt;random&gt;</c>, registered with the shared secret (Synapse admin API,
    /// <c>POST /_synapse/admin/v1/register</c>).
    /// </summary>
    public async Task<(string UserId, string AccessToken, string Password)> RegisterAsync(string localpart, bool admin = false,
        CancellationToken cancellationToken = default)
    {
        var username = $"{localpart}-{Guid.NewGuid():N}"[..Math.Min(localpart.Length + 9, 60)].ToLowerInvariant();
        var password = Guid.NewGuid().ToString("N");
        var nonce = (await _http.GetFromJsonAsync<JsonObject>("_synapse/admin/v1/register", cancellationToken))!["nonce"]!.GetValue<string>();
        // HMAC-SHA1 over nonce, user, password and "admin" or "notadmin", NUL-separated. SHA-1 is Synapse's choice, not ours (CA5350).
#pragma warning disable CA5350
        var mac = Convert.ToHexStringLower(HMACSHA1.HashData(Encoding.UTF8.GetBytes(sharedSecret),
            Encoding.UTF8.GetBytes($"{nonce}\0{username}\0{password}\0{(admin ? "admin" : "notadmin")}")));
#pragma warning restore CA5350
        using var response = await _http.PostAsJsonAsync("_synapse/admin/v1/register",
            new JsonObject { ["nonce"] = nonce, ["username"] = username, ["password"] = password, ["admin"] = admin, ["mac"] = mac },
            cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        if (!response.IsSuccessStatusCode)
            throw new InvalidOperationException($"Synapse refused to register {username}: {(int)response.StatusCode} {body}");
        var json = JsonNode.Parse(body)!;
        return (json["user_id"]!.GetValue<string>(), json["access_token"]!.GetValue<string>(), password);
    }

    /// <summary>
    /// Lifts Synapse's message rate limit (which also counts invites and kicks) for <paramref name="userId"/>, as the
    /// README tells operators to do for the bot: <c>POST /_synapse/admin/v1/users/&lt;user_id&gt;/override_ratelimit</c>
    /// with zeros, which means "no limit". Done by a server admin registered for it.
    /// </summary>
    public async Task ExemptFromRateLimitsAsync(string userId, CancellationToken cancellationToken = default)
    {
        _adminToken ??= (await RegisterAsync("admin", admin: true, cancellationToken)).AccessToken;
        using var request = new HttpRequestMessage(HttpMethod.Post, $"_synapse/admin/v1/users/{Uri.EscapeDataString(userId)}/override_ratelimit")
        {
            Content = JsonContent.Create(new JsonObject { ["messages_per_second"] = 0, ["burst_count"] = 0 }),
        };
        request.Headers.Authorization = new("Bearer", _adminToken);
        using var response = await _http.SendAsync(request, cancellationToken);
        if (!response.IsSuccessStatusCode)
            throw new InvalidOperationException($"Synapse refused to lift {userId}'s rate limit: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(cancellationToken)}");
    }

    public void Dispose() => _http.Dispose();
}
