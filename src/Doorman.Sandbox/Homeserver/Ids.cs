using System.Buffers.Text;
using System.Security.Cryptography;

namespace Doorman.Sandbox.Homeserver;

/// <summary>Identifier grammar (CS API appendices §"Identifier Grammar") and the random parts of new ids.</summary>
internal static class Ids
{
    private const string Letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    private const string UpperLetters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";

    /// <summary>An event id as room versions 4+ shape them: <c>$</c> and 43 characters of unpadded URL-safe base64.</summary>
    public static string NewEventId() => "$" + Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));

    /// <summary>A room id before version 12: 18 random letters and the server name, as Synapse makes them.</summary>
    public static string NewRoomId(string serverName) => $"!{RandomString(Letters, 18)}:{serverName}";

    public static string NewAccessToken() => "syt_" + Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(24));

    public static string NewDeviceId() => RandomString(UpperLetters, 10);

    public static string NewMediaId() => RandomString(Letters, 24);

    /// <summary>A user-interactive auth session id: 24 letters, as Synapse makes them.</summary>
    public static string NewUiaSession() => RandomString(Letters, 24);

    public static string NewNonce() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));

    /// <summary>The unpadded URL-safe base64 of a SHA-256, as v12 room ids and reference hashes use it.</summary>
    public static string HashToId(ReadOnlySpan<byte> data) => Base64Url.EncodeToString(SHA256.HashData(data));

    /// <summary><c>@localpart:server</c> with a non-empty localpart and server part.</summary>
    public static bool IsValidUserId(string? value)
    {
        if (value is null || value.Length is < 4 or > 255 || value[0] != '@')
        {
            return false;
        }

        var colon = value.IndexOf(':', StringComparison.Ordinal);
        return colon > 1 && colon < value.Length - 1;
    }

    /// <summary>
    /// Synapse's <c>RoomAlias.is_valid</c>: <c>#</c>, a colon, and a valid server name after the first colon
    /// (synapse/types and synapse/util/stringutils.py <c>parse_and_validate_server_name</c>): a DNS name of letters,
    /// digits and dashes in dot-separated labels, or an IPv6 literal in brackets, then an optional numeric port.
    /// </summary>
    public static bool IsValidRoomAlias(string alias)
    {
        var colon = alias.IndexOf(':', StringComparison.Ordinal);
        return alias.StartsWith('#') && colon > 0 && IsValidServerName(alias[(colon + 1)..]);
    }

    private static bool IsValidServerName(string serverName)
    {
        var host = serverName;
        if (!serverName.EndsWith(']'))
        {
            var lastColon = serverName.LastIndexOf(':');
            if (lastColon >= 0)
            {
                var port = serverName[(lastColon + 1)..];
                if (port.Length == 0 || !port.All(char.IsAsciiDigit))
                {
                    return false;
                }

                host = serverName[..lastColon];
            }
        }

        if (host.StartsWith('['))
        {
            return host.EndsWith(']') && System.Net.IPAddress.TryParse(host[1..^1], out var address)
                && address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6;
        }

        return host.Length > 0 && host.Split('.').All(label => label.Length > 0 && label.All(c => char.IsAsciiLetterOrDigit(c) || c == '-'));
    }

    public static string ServerOf(string id)
    {
        var colon = id.IndexOf(':', StringComparison.Ordinal);
        return colon < 0 ? "" : id[(colon + 1)..];
    }

    public static string LocalpartOf(string userId)
    {
        var colon = userId.IndexOf(':', StringComparison.Ordinal);
        return colon < 0 ? userId.TrimStart('@') : userId[1..colon];
    }

    private static string RandomString(string alphabet, int length) =>
        string.Create(length, alphabet, static (span, chars) =>
        {
            for (var i = 0; i < span.Length; i++)
            {
                span[i] = chars[RandomNumberGenerator.GetInt32(chars.Length)];
            }
        });
}
