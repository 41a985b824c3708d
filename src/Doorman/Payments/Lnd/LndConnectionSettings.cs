using System.Security.Cryptography;

namespace Doorman.Payments.Lnd;

/// <summary>What <see cref="LndOptions"/> resolve to: where LND is, the macaroon to present and the certificate to pin.</summary>
/// <param name="Pin">Null: ordinary TLS validation (a publicly trusted certificate).</param>
internal sealed record LndConnectionSettings(Uri Address, byte[] Macaroon, LndCertificatePin? Pin)
{
    /// <summary>
    /// Resolves <paramref name="options"/>, reading the files they name. Every problem is added to
    /// <paramref name="errors"/>, each naming its key under <paramref name="sectionPath"/>; secrets are never quoted.
    /// Returns null when there is any.
    /// </summary>
    public static LndConnectionSettings? Resolve(LndOptions options, string sectionPath, List<string> errors)
    {
        var before = errors.Count;
        string Key(string name) => $"{sectionPath}:{name}";
        Uri? address = null;
        byte[]? macaroon = null;
        LndCertificatePin? pin = null;

        var hasConnectUri = !string.IsNullOrWhiteSpace(options.ConnectUri);
        if (hasConnectUri)
        {
            var alsoSet = new[]
            {
                (nameof(LndOptions.MacaroonPath), options.MacaroonPath), (nameof(LndOptions.MacaroonHex), options.MacaroonHex),
                (nameof(LndOptions.TlsCertPath), options.TlsCertPath), (nameof(LndOptions.TlsCertThumbprint), options.TlsCertThumbprint),
            }.Where(o => !string.IsNullOrWhiteSpace(o.Item2)).Select(o => Key(o.Item1)).ToList();
            if (alsoSet.Count > 0)
                errors.Add($"{Key(nameof(LndOptions.ConnectUri))} carries the macaroon and certificate; remove {string.Join(" and ", alsoSet)} or the URI");
            if (LndConnectUri.TryParse(options.ConnectUri!, out var parsed, out var problem))
            {
                address = parsed!.Address;
                macaroon = parsed.Macaroon;
                pin = parsed.CertificateDer is { } der ? LndCertificatePin.TryCreateFromDer(der) : null;
            }
            else
            {
                errors.Add($"{Key(nameof(LndOptions.ConnectUri))} is not a valid lndconnect URI (lndconnect://host:port?cert=…&macaroon=…): {problem}");
            }
        }

        if (!string.IsNullOrWhiteSpace(options.Address))
        {
            if (Uri.TryCreate(options.Address.Trim(), UriKind.Absolute, out var uri) && uri.Scheme == Uri.UriSchemeHttps && uri.Host.Length > 0)
                address = uri;
            else
                errors.Add($"{Key(nameof(LndOptions.Address))} must be an https URL such as https://127.0.0.1:10009{QuotedAddress(options.Address)}");
        }
        else if (!hasConnectUri)
        {
            errors.Add($"{Key(nameof(LndOptions.Address))} must be an https URL such as https://127.0.0.1:10009 (LND's gRPC port), or set {Key(nameof(LndOptions.ConnectUri))}");
        }

        if (!hasConnectUri)
        {
            macaroon = ResolveMacaroon(options, Key, errors);
            pin = ResolvePin(options, Key, errors);
        }

        if (options.RequestTimeout <= TimeSpan.Zero)
            errors.Add($"{Key(nameof(LndOptions.RequestTimeout))} must be positive, e.g. 00:00:30");

        return errors.Count == before ? new LndConnectionSettings(address!, macaroon!, pin) : null;
    }

    /// <summary>
    /// The address as given, unless it may carry a secret: an lndconnect URI pasted into Address has the macaroon in
    /// its query, and a URL with user info may have a password.
    /// </summary>
    private static string QuotedAddress(string address) =>
        address.IndexOfAny(['?', '@', '#']) >= 0 ? " (the value given is not shown: it may contain a secret)" : $", not '{address}'";

    private static byte[]? ResolveMacaroon(LndOptions options, Func<string, string> key, List<string> errors)
    {
        var hasPath = !string.IsNullOrWhiteSpace(options.MacaroonPath);
        var hasHex = !string.IsNullOrWhiteSpace(options.MacaroonHex);
        if (hasPath && hasHex)
        {
            errors.Add($"set only one of {key(nameof(LndOptions.MacaroonPath))} and {key(nameof(LndOptions.MacaroonHex))}");
            return null;
        }
        if (hasHex)
        {
            var hex = options.MacaroonHex!.Trim();
            if (hex.Length % 2 == 0 && hex.All(char.IsAsciiHexDigit))
                return Convert.FromHexString(hex);
            errors.Add($"{key(nameof(LndOptions.MacaroonHex))} must be the macaroon's bytes in hex");
            return null;
        }
        if (!hasPath)
        {
            errors.Add($"{key(nameof(LndOptions.MacaroonPath))} is required: the macaroon file LND wrote (invoice.macaroon is enough), or set {key(nameof(LndOptions.MacaroonHex))}");
            return null;
        }
        try
        {
            var bytes = File.ReadAllBytes(options.MacaroonPath!);
            if (bytes.Length > 0)
                return bytes;
            errors.Add($"{key(nameof(LndOptions.MacaroonPath))}: '{options.MacaroonPath}' is empty");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            errors.Add($"{key(nameof(LndOptions.MacaroonPath))}: cannot read '{options.MacaroonPath}': {e.Message}");
        }
        return null;
    }

    private static LndCertificatePin? ResolvePin(LndOptions options, Func<string, string> key, List<string> errors)
    {
        var hasPath = !string.IsNullOrWhiteSpace(options.TlsCertPath);
        var hasThumbprint = !string.IsNullOrWhiteSpace(options.TlsCertThumbprint);
        if (hasPath && hasThumbprint)
        {
            errors.Add($"set only one of {key(nameof(LndOptions.TlsCertPath))} and {key(nameof(LndOptions.TlsCertThumbprint))}");
            return null;
        }
        if (hasThumbprint)
        {
            var pin = LndCertificatePin.TryCreateFromThumbprint(options.TlsCertThumbprint!);
            if (pin is null)
                errors.Add($"{key(nameof(LndOptions.TlsCertThumbprint))} must be the SHA-256 of the certificate: 64 hex digits, colons allowed");
            return pin;
        }
        if (!hasPath)
            return null;
        try
        {
            return LndCertificatePin.FromFile(options.TlsCertPath!);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            errors.Add($"{key(nameof(LndOptions.TlsCertPath))}: cannot read '{options.TlsCertPath}': {e.Message}");
        }
        catch (CryptographicException)
        {
            errors.Add($"{key(nameof(LndOptions.TlsCertPath))}: '{options.TlsCertPath}' is not a PEM certificate (LND's tls.cert)");
        }
        return null;
    }
}
