using System.Globalization;

namespace Doorman.Payments.BtcPay;

/// <summary>
/// Configuration section <c>Payments:BtcPay</c>: the BTCPay Server, the store and the API key, and how the bot
/// hears about payments: a webhook it registers itself (<see cref="PublicUrl"/>), one the operator made
/// (<see cref="WebhookSecret"/>), polling (<see cref="PollInterval"/>), or several of these.
/// </summary>
public sealed class BtcPayOptions
{
    /// <summary>BTCPay Server's base URL, e.g. https://btcpay.example.org.</summary>
    public string? Url { get; set; }

    /// <summary>The store's id (Store settings → General).</summary>
    public string? StoreId { get; set; }

    /// <summary>
    /// A Greenfield API key with btcpay.store.cancreateinvoice and btcpay.store.canviewinvoices (plus
    /// btcpay.store.webhooks.canmodifywebhooks with <see cref="PublicUrl"/>). A secret.
    /// </summary>
    public string? ApiKey { get; set; }

    /// <summary>A file holding <see cref="ApiKey"/> (e.g. a Docker secret); README "Secrets".</summary>
    public string? ApiKeyFile { get; set; }

    /// <summary>
    /// The secret of a webhook the operator created in BTCPay pointing at <c>&lt;bot&gt;/webhooks/btcpay</c>. With
    /// <see cref="PublicUrl"/> it is the secret the bot registers; without, deliveries are verified with it. A secret.
    /// </summary>
    public string? WebhookSecret { get; set; }

    /// <summary>A file holding <see cref="WebhookSecret"/>.</summary>
    public string? WebhookSecretFile { get; set; }

    /// <summary>
    /// The bot's own address as BTCPay reaches it, e.g. https://doorman.example.org. When set, the bot registers
    /// (and keeps) the webhook <c>&lt;PublicUrl&gt;/webhooks/btcpay</c> itself.
    /// </summary>
    public string? PublicUrl { get; set; }

    /// <summary>When set, every pending order is looked up this often (for a bot BTCPay cannot reach).</summary>
    public TimeSpan? PollInterval { get; set; }

    /// <summary>Names which secrets are set, never their values.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"BtcPayOptions {{ Url = {Url}, StoreId = {StoreId}, ApiKey = {Secret(ApiKey)}, WebhookSecret = {Secret(WebhookSecret)}, "
        + $"PublicUrl = {PublicUrl}, PollInterval = {PollInterval?.ToString() ?? "(not set)"} }}");

    private static string Secret(string? value) => string.IsNullOrEmpty(value) ? "(not set)" : "(set, hidden)";
}
