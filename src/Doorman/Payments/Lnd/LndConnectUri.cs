using System.Buffers.Text;

namespace Doorman.Payments.Lnd;

/// <summary>
/// An lndconnect URI (LN-Zap/lndconnect lnd_connect_uri.md): <c>lndconnect://host:port?cert=…&amp;macaroon=…</c>.
/// <c>cert</c> is the DER certificate and <c>macaroon</c> the macaroon bytes, both base64url without padding;
/// <c>cert</c> is optional (a node behind a publicly trusted certificate). IPv6 hosts are bracketed.
/// </summary>
/// <param name="Address">https://host:port (port 10009 when the URI has none).</param>
/// <param name="CertificateDer">Null when the URI has no <c>cert</c>.</param>
internal sealed record LndConnectUri(Uri Address, byte[] Macaroon, byte[]? CertificateDer)
{
    private const int DefaultGrpcPort = 10009;

    /// <summary>Parses <paramref name="text"/>; on failure says why in <paramref name="problem"/>, which never contains the secret parts.</summary>
    public static bool TryParse(string text, out LndConnectUri? result, out string? problem)
    {
        result = null;
        if (!Uri.TryCreate(text.Trim(), UriKind.Absolute, out var uri) || uri.Scheme != "lndconnect")
        {
            problem = "it must start with lndconnect://host:port";
            return false;
        }
        if (string.IsNullOrEmpty(uri.Host))
        {
            problem = "it has no host";
            return false;
        }

        var query = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            var key = Uri.UnescapeDataString(equals < 0 ? pair : pair[..equals]);
            query[key] = Uri.UnescapeDataString(equals < 0 ? "" : pair[(equals + 1)..]);
        }

        if (!query.TryGetValue("macaroon", out var macaroonText) || macaroonText.Length == 0)
        {
            problem = "it has no macaroon parameter";
            return false;
        }
        var macaroon = DecodeBase64Url(macaroonText);
        if (macaroon is null || macaroon.Length == 0)
        {
            problem = "its macaroon parameter is not base64url";
            return false;
        }

        byte[]? certificate = null;
        if (query.TryGetValue("cert", out var certText) && certText.Length > 0)
        {
            certificate = DecodeBase64Url(certText);
            if (certificate is null || LndCertificatePin.TryCreateFromDer(certificate) is null)
            {
                problem = "its cert parameter is not a base64url DER certificate";
                return false;
            }
        }

        var host = uri.HostNameType == UriHostNameType.IPv6 ? $"[{uri.IdnHost.Trim('[', ']')}]" : uri.IdnHost;
        var port = uri.IsDefaultPort || uri.Port < 0 ? DefaultGrpcPort : uri.Port;
        result = new LndConnectUri(new Uri($"https://{host}:{port}"), macaroon, certificate);
        problem = null;
        return true;
    }

    // The format says base64url without padding; tools also emit padding or the standard alphabet, so accept both.
    private static byte[]? DecodeBase64Url(string text)
    {
        var normalized = text.Trim().TrimEnd('=').Replace('+', '-').Replace('/', '_');
        return Base64Url.IsValid(normalized) ? Base64Url.DecodeFromChars(normalized) : null;
    }
}
