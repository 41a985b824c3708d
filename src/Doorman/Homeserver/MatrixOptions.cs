namespace Doorman.Homeserver;

/// <summary><c>Matrix:*</c>: the bot's account and who may bring it into rooms.</summary>
public sealed class MatrixOptions
{
    public const string Section = "Matrix";

    /// <summary>
    /// Base URL of the client API, e.g. https://matrix.example.org. Empty: discovered from the server name of
    /// <see cref="UserId"/> through <c>/.well-known/matrix/client</c>.
    /// </summary>
    public string HomeserverUrl { get; set; } = "";

    /// <summary>The bot's full user id, e.g. @doorman:example.org.</summary>
    public string UserId { get; set; } = "";

    /// <summary>The bot account's access token; or leave it empty and set <see cref="Password"/>.</summary>
    public string AccessToken { get; set; } = "";

    /// <summary>A file holding <see cref="AccessToken"/> (e.g. a Docker secret); README "Secrets".</summary>
    public string AccessTokenFile { get; set; } = "";

    /// <summary>
    /// Instead of a token: the bot logs in with this password once, keeps the token and device id in its database,
    /// and reuses that one device across restarts (logging in again only when the stored token stops working).
    /// </summary>
    public string Password { get; set; } = "";

    /// <summary>A file holding <see cref="Password"/>.</summary>
    public string PasswordFile { get; set; } = "";

    /// <summary>
    /// Who may invite the bot into (non-DM) rooms: user ids, or <c>*:server</c> for everyone on a server. Empty:
    /// users of the bot's own server. DM invites are accepted from anyone; operators may always invite.
    /// </summary>
    public List<string> AllowedInviters { get; set; } = [];

    public string CommandPrefix { get; set; } = "!gate";

    /// <summary>
    /// The key that seals the end-to-end encryption state in the database: 32 random bytes in base64 (e.g.
    /// <c>openssl rand -base64 32</c>). Empty: a key file, <c>doorman.crypto-key</c>, is made beside the database on
    /// first start and read after (README: "End-to-end encryption").
    /// </summary>
    public string CryptoKey { get; set; } = "";

    /// <summary>A file holding <see cref="CryptoKey"/> (base64 text, not the raw bytes).</summary>
    public string CryptoKeyFile { get; set; } = "";

    /// <summary>The server part of <see cref="UserId"/>.</summary>
    public string ServerName => UserId.IndexOf(':', StringComparison.Ordinal) is var i and > 0 ? UserId[(i + 1)..] : "";

    /// <summary>Never print the token, the password or the crypto key.</summary>
    public override string ToString() => $"{UserId} on {HomeserverUrl}";
}

/// <summary><c>Operators</c>: user ids that may administer any room.</summary>
public sealed class OperatorOptions
{
    public List<string> Operators { get; set; } = [];
}
