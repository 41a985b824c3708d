using System.Security.Cryptography;
using System.Text;

namespace Doorman.Payments.BtcPay;

/// <summary>
/// BTCPay's webhook signature: header <c>BTCPay-Sig: sha256=&lt;lowercase hex HMAC-SHA256(key = UTF-8 secret,
/// message = the body's bytes)&gt;</c> (WebhookSender.SendDelivery). Always over the bytes received: BTCPay sends
/// indented JSON, so a re-serialized body does not match (payments.md B1).
/// </summary>
public static class BtcPaySignature
{
    public const string HeaderName = "BTCPay-Sig";
    private const string Prefix = "sha256=";

    /// <summary>The header value BTCPay would send for <paramref name="body"/>.</summary>
    public static string Compute(ReadOnlySpan<byte> body, string secret) =>
        Prefix + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body));

    /// <summary>True when <paramref name="header"/> is <c>sha256=&lt;hex&gt;</c> of <paramref name="body"/> under <paramref name="secret"/>; compared in constant time.</summary>
    public static bool Verify(ReadOnlySpan<byte> body, string? header, string secret)
    {
        if (header is null || !header.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase))
            return false;
        var hex = header.AsSpan(Prefix.Length).Trim();
        if (hex.Length != 64 || !hex.ContainsOnlyAsciiHexDigits())
            return false;
        Span<byte> presented = stackalloc byte[32];
        Convert.FromHexString(hex, presented, out _, out _);
        Span<byte> expected = stackalloc byte[32];
        HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body, expected);
        return CryptographicOperations.FixedTimeEquals(presented, expected);
    }
}

file static class HexExtensions
{
    public static bool ContainsOnlyAsciiHexDigits(this ReadOnlySpan<char> text)
    {
        foreach (var c in text)
        {
            if (!char.IsAsciiHexDigit(c))
                return false;
        }
        return true;
    }
}
