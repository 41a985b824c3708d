using System.Net;
using Microsoft.Extensions.Options;

namespace Doorman.Payments.BtcPay;

/// <summary>
/// Reports every problem in <see cref="BtcPayOptions"/> at once, each naming its configuration key. Never quotes the
/// API key or the webhook secret.
/// </summary>
/// <param name="sectionPath">The bound section's path, e.g. "Payments:BtcPay".</param>
internal sealed class BtcPayOptionsValidator(string sectionPath) : IValidateOptions<BtcPayOptions>
{
    /// <summary>BTCPay polls nothing for us; asking it more often than this only loads the server.</summary>
    internal static readonly TimeSpan MinPollInterval = TimeSpan.FromSeconds(5);

    public ValidateOptionsResult Validate(string? name, BtcPayOptions options)
    {
        var errors = Problems(options, sectionPath);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    public static List<string> Problems(BtcPayOptions options, string sectionPath)
    {
        var errors = new List<string>();
        string Key(string name) => $"{sectionPath}:{name}";

        if (!IsHttpUrl(options.Url))
            errors.Add($"{Key(nameof(BtcPayOptions.Url))} must be BTCPay Server's http(s) URL, e.g. https://btcpay.example.org{Quoted(options.Url)}");
        else if (!IsSafeForApiKey(new Uri(options.Url!.Trim())))
            errors.Add($"{Key(nameof(BtcPayOptions.Url))} must use https: the API key would cross the network in plain text, readable "
                + $"by anyone on the path; use https://{new Uri(options.Url!.Trim()).Host} (plain http is allowed only to this machine: "
                + "localhost, 127.0.0.1 or [::1])");
        if (string.IsNullOrWhiteSpace(options.StoreId))
            errors.Add($"{Key(nameof(BtcPayOptions.StoreId))} is required: the store's id (BTCPay: Store settings → General → Store ID)");
        else if (options.StoreId.Any(c => char.IsWhiteSpace(c) || c is '/' or '?' or '#' or ':'))
            errors.Add($"{Key(nameof(BtcPayOptions.StoreId))} is not a store id: it must be one word without '/', '?', '#' or ':'");
        if (string.IsNullOrWhiteSpace(options.ApiKey))
            errors.Add($"{Key(nameof(BtcPayOptions.ApiKey))} is required: a Greenfield API key (Account → API keys) with "
                + "btcpay.store.cancreateinvoice and btcpay.store.canviewinvoices");
        else if (options.ApiKey.Any(char.IsWhiteSpace))
            errors.Add($"{Key(nameof(BtcPayOptions.ApiKey))} contains whitespace; paste the key alone");
        if (options.WebhookSecret is { } secret && (secret.Length == 0 || string.IsNullOrWhiteSpace(secret)))
            errors.Add($"{Key(nameof(BtcPayOptions.WebhookSecret))} is empty; remove it or paste the webhook's secret");
        if (!string.IsNullOrWhiteSpace(options.PublicUrl) && !IsHttpUrl(options.PublicUrl))
            errors.Add($"{Key(nameof(BtcPayOptions.PublicUrl))} must be the bot's http(s) URL as BTCPay reaches it, e.g. https://doorman.example.org{Quoted(options.PublicUrl)}");
        if (options.PollInterval is { } poll && poll < MinPollInterval)
            errors.Add($"{Key(nameof(BtcPayOptions.PollInterval))} must be at least {MinPollInterval:hh\\:mm\\:ss}, e.g. 00:01:00");
        if (string.IsNullOrWhiteSpace(options.PublicUrl) && options.WebhookSecret is null && options.PollInterval is null)
            errors.Add($"nothing would tell the bot about BTCPay payments: set {Key(nameof(BtcPayOptions.PublicUrl))} (the bot registers a webhook), "
                + $"{Key(nameof(BtcPayOptions.WebhookSecret))} (a webhook you created) or {Key(nameof(BtcPayOptions.PollInterval))} (polling)");
        return errors;
    }

    private static bool IsHttpUrl(string? text) =>
        Uri.TryCreate(text?.Trim(), UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" && uri.Host.Length > 0
        && string.IsNullOrEmpty(uri.Query) && string.IsNullOrEmpty(uri.Fragment) && string.IsNullOrEmpty(uri.UserInfo);

    /// <summary>
    /// https, or http to a loopback address (127.0.0.0/8, ::1, localhost), where the API key never leaves the machine
    /// (e.g. BTCPay in a container beside the bot, or a TLS-terminating proxy on the same host).
    /// </summary>
    private static bool IsSafeForApiKey(Uri url) =>
        url.Scheme == Uri.UriSchemeHttps
        || url.Host.Equals("localhost", StringComparison.OrdinalIgnoreCase)
        || (IPAddress.TryParse(url.DnsSafeHost, out var address) && IPAddress.IsLoopback(address));

    // URLs are not secrets, but one with user info might carry a password: quote only what is safe.
    private static string Quoted(string? text) =>
        string.IsNullOrWhiteSpace(text) ? "" : text.Contains('@', StringComparison.Ordinal) ? " (the value given is not shown)" : $", not '{text}'";
}
