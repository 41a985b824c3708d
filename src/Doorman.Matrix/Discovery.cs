using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Doorman.Matrix;

/// <summary>
/// Finds a homeserver's client API from a server name (CS API §"Well-known URIs", client discovery):
/// <c>GET https://{server}/.well-known/matrix/client</c>; a 404 means "no delegation", so the server name itself
/// is the base URL; any other failure, or a base URL whose <c>/versions</c> does not answer, is an error.
/// </summary>
public static class Discovery
{
    public static async Task<Uri> DiscoverAsync(HttpClient http, string serverName, CancellationToken cancellationToken)
    {
        var fallback = new Uri($"https://{serverName}/");
        Uri baseUrl;
        HttpResponseMessage wellKnownResponse;
        try
        {
            wellKnownResponse = await http.GetAsync(new Uri(fallback, ".well-known/matrix/client"), cancellationToken);
        }
        catch (HttpRequestException e)
        {
            throw new MatrixDiscoveryException($"cannot reach https://{serverName}/.well-known/matrix/client: {e.Message}", e);
        }
        using (var response = wellKnownResponse)
        {
            if (response.StatusCode == HttpStatusCode.NotFound)
            {
                baseUrl = fallback;
            }
            else if (!response.IsSuccessStatusCode)
            {
                throw new MatrixDiscoveryException($"https://{serverName}/.well-known/matrix/client answered {(int)response.StatusCode}; set Matrix:HomeserverUrl instead");
            }
            else
            {
                WellKnown? wellKnown;
                try
                {
                    wellKnown = await response.Content.ReadFromJsonAsync(DiscoveryJsonContext.Default.WellKnown, cancellationToken);
                }
                catch (JsonException e)
                {
                    throw new MatrixDiscoveryException($"https://{serverName}/.well-known/matrix/client is not valid JSON ({e.Message})");
                }
                if (wellKnown?.Homeserver?.BaseUrl is not { Length: > 0 } text
                    || !Uri.TryCreate(text, UriKind.Absolute, out var found) || found.Scheme is not ("https" or "http"))
                    throw new MatrixDiscoveryException($"https://{serverName}/.well-known/matrix/client has no usable m.homeserver.base_url");
                baseUrl = new Uri(found.ToString().TrimEnd('/') + "/");
            }
        }

        try
        {
            using var versions = await http.GetAsync(new Uri(baseUrl, "_matrix/client/versions"), cancellationToken);
            if (!versions.IsSuccessStatusCode)
                throw new MatrixDiscoveryException($"{baseUrl} (discovered for {serverName}) answered {(int)versions.StatusCode} to /versions");
        }
        catch (HttpRequestException e)
        {
            throw new MatrixDiscoveryException($"{baseUrl} (discovered for {serverName}) cannot be reached: {e.Message}", e);
        }
        return baseUrl;
    }

    internal sealed record WellKnown([property: JsonPropertyName("m.homeserver")] WellKnownHomeserver? Homeserver);

    internal sealed record WellKnownHomeserver([property: JsonPropertyName("base_url")] string? BaseUrl);
}

[JsonSerializable(typeof(Discovery.WellKnown))]
internal sealed partial class DiscoveryJsonContext : JsonSerializerContext;

public sealed class MatrixDiscoveryException(string message, Exception? inner = null) : Exception(message, inner);
