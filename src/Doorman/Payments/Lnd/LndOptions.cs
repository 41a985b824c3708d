using System.Globalization;

namespace Doorman.Payments.Lnd;

/// <summary>
/// Configuration section <c>Payments:Lnd</c>. Either <see cref="ConnectUri"/>, or <see cref="Address"/> with a
/// macaroon (<see cref="MacaroonPath"/> or <see cref="MacaroonHex"/>) and optionally a certificate pin
/// (<see cref="TlsCertPath"/> or <see cref="TlsCertThumbprint"/>; without one the certificate must be publicly trusted).
/// </summary>
public sealed class LndOptions
{
    /// <summary>LND's gRPC endpoint, e.g. https://127.0.0.1:10009. With <see cref="ConnectUri"/> it overrides the URI's host and port.</summary>
    public string? Address { get; set; }

    /// <summary>The macaroon file as LND writes it (binary), e.g. …/data/chain/bitcoin/mainnet/invoice.macaroon.</summary>
    public string? MacaroonPath { get; set; }

    /// <summary>The macaroon's bytes, hex-encoded. A secret.</summary>
    public string? MacaroonHex { get; set; }

    /// <summary>LND's tls.cert (PEM). Exactly this certificate is accepted; its host names are not checked.</summary>
    public string? TlsCertPath { get; set; }

    /// <summary>SHA-256 of the certificate's DER bytes, hex (colons allowed), as BTCPay's <c>certthumbprint</c>.</summary>
    public string? TlsCertThumbprint { get; set; }

    /// <summary><c>lndconnect://host:port?cert=…&amp;macaroon=…</c> (LN-Zap's format). Contains the macaroon: a secret.</summary>
    public string? ConnectUri { get; set; }

    /// <summary>How long one request may take (the settlement stream is not limited).</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Names which secrets are set, never their values.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"LndOptions {{ Address = {Address}, MacaroonPath = {MacaroonPath}, MacaroonHex = {Secret(MacaroonHex)}, "
        + $"TlsCertPath = {TlsCertPath}, TlsCertThumbprint = {TlsCertThumbprint}, ConnectUri = {Secret(ConnectUri)}, "
        + $"RequestTimeout = {RequestTimeout} }}");

    private static string Secret(string? value) => string.IsNullOrEmpty(value) ? "(not set)" : "(set, hidden)";
}
