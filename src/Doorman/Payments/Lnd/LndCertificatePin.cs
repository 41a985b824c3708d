using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Doorman.Payments.Lnd;

/// <summary>
/// Accepts exactly one server certificate, identified by the SHA-256 of its DER bytes, whatever its names, issuer
/// or dates: lnd's tls.cert is self-signed and its SANs often lack the host we dial (lnd docs/grpc/c#.md pins the
/// same way). When pinned by file, a mismatch re-reads the file once, because lnd regenerates tls.cert on expiry
/// or when its IPs change (config.go TLSAutoRefresh) and the operator may have copied the new one.
/// </summary>
internal sealed class LndCertificatePin
{
    private readonly string? certificatePath;
    private byte[] pinned;

    private LndCertificatePin(byte[] sha256, string? certificatePath)
    {
        pinned = sha256;
        this.certificatePath = certificatePath;
    }

    /// <summary>SHA-256 of the pinned certificate, lowercase hex.</summary>
    public string PinnedThumbprint => Convert.ToHexStringLower(Volatile.Read(ref pinned));

    /// <summary>SHA-256 of the last certificate refused, lowercase hex; null if none was.</summary>
    public string? LastRefusedThumbprint { get; private set; }

    public static LndCertificatePin? TryCreateFromDer(byte[] der)
    {
        try
        {
            using var certificate = X509CertificateLoader.LoadCertificate(der);
            return new LndCertificatePin(SHA256.HashData(certificate.RawData), certificatePath: null);
        }
        catch (CryptographicException)
        {
            return null;
        }
    }

    /// <summary>Loads a PEM (or DER) certificate file; throws <see cref="IOException"/>, <see cref="UnauthorizedAccessException"/> or <see cref="CryptographicException"/>.</summary>
    public static LndCertificatePin FromFile(string path) => new(HashOfFile(path), path);

    /// <summary>From a hex SHA-256 thumbprint, colons and spaces allowed; null if it is not 32 bytes of hex.</summary>
    public static LndCertificatePin? TryCreateFromThumbprint(string thumbprint)
    {
        var hex = thumbprint.Replace(":", "", StringComparison.Ordinal).Replace(" ", "", StringComparison.Ordinal);
        if (hex.Length != 64 || !hex.All(char.IsAsciiHexDigit))
            return null;
        return new LndCertificatePin(Convert.FromHexString(hex), certificatePath: null);
    }

    /// <summary>For <see cref="System.Net.Security.RemoteCertificateValidationCallback"/>: ignores chain and name errors and compares the pin.</summary>
    public bool Validate(X509Certificate? certificate)
    {
        if (certificate is null)
            return false;
        var presented = SHA256.HashData(certificate.GetRawCertData());
        if (CryptographicOperations.FixedTimeEquals(presented, Volatile.Read(ref pinned)))
            return true;
        if (certificatePath is not null && TryReload(presented))
            return true;
        LastRefusedThumbprint = Convert.ToHexStringLower(presented);
        return false;
    }

    private bool TryReload(byte[] presented)
    {
        byte[] current;
        try
        {
            current = HashOfFile(certificatePath!);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException)
        {
            // The refusal that follows is reported with both thumbprints; an unreadable file keeps the old pin.
            return false;
        }
        Volatile.Write(ref pinned, current);
        return CryptographicOperations.FixedTimeEquals(presented, current);
    }

    private static byte[] HashOfFile(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var text = System.Text.Encoding.ASCII.GetString(bytes);
        using var certificate = text.Contains("-----BEGIN", StringComparison.Ordinal)
            ? X509Certificate2.CreateFromPem(text)
            : X509CertificateLoader.LoadCertificate(bytes);
        return SHA256.HashData(certificate.RawData);
    }
}
