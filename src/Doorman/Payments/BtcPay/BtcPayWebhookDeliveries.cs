using Doorman.Storage;

namespace Doorman.Payments.BtcPay;

/// <summary>
/// Delivery ids of accepted webhook deliveries (table <c>webhook_deliveries</c>), so a replayed delivery is ignored.
/// A redelivery after a failure carries a new id (BTCPay WebhookSender) and is accepted: its first attempt was not.
/// </summary>
internal sealed class BtcPayWebhookDeliveries(Database database)
{
    /// <summary>Long past BTCPay's last automatic retry (about 71 minutes after the first attempt).</summary>
    internal static readonly TimeSpan Retention = TimeSpan.FromDays(30);

    /// <summary>Records <paramref name="deliveryId"/>; false when it was recorded before (a replay).</summary>
    public Task<bool> TryRecordAsync(string deliveryId, DateTimeOffset now, CancellationToken cancellationToken) =>
        database.WriteAsync(async tx =>
        {
            await tx.ExecuteAsync("DELETE FROM webhook_deliveries WHERE received_at < @cutoff", new { cutoff = UnixMs.From(now - Retention) });
            return await tx.ExecuteAsync(
                "INSERT INTO webhook_deliveries (delivery_id, received_at) VALUES (@deliveryId, @at) ON CONFLICT (delivery_id) DO NOTHING",
                new { deliveryId, at = UnixMs.From(now) }) == 1;
        }, cancellationToken);
}
