using Microsoft.Extensions.Options;

namespace Doorman.Payments.BtcPay;

/// <summary>
/// The secret webhook deliveries are signed with: <see cref="BtcPayOptions.WebhookSecret"/> when configured,
/// otherwise the one the bot registered with BTCPay (kept in <see cref="IPaymentState"/>, per store). Null until
/// there is one.
/// </summary>
internal sealed class BtcPayWebhookSecret(IOptions<BtcPayOptions> options, IPaymentState state)
{
    private volatile string? registered;

    public static string IdKey(string storeId) => $"btcpay.{storeId}.webhook.id";

    public static string SecretKey(string storeId) => $"btcpay.{storeId}.webhook.secret";

    public async ValueTask<string?> GetAsync(CancellationToken cancellationToken)
    {
        var value = options.Value;
        if (!string.IsNullOrEmpty(value.WebhookSecret))
            return value.WebhookSecret;
        if (registered is { } known)
            return known;
        if (string.IsNullOrWhiteSpace(value.PublicUrl) || value.StoreId is null)
            return null;
        return registered = await state.GetAsync(SecretKey(value.StoreId), cancellationToken);
    }

    /// <summary>Called once the secret is stored and registered with BTCPay.</summary>
    public void Registered(string secret) => registered = secret;
}
