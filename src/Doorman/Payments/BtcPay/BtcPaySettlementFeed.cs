using System.Runtime.CompilerServices;
using Doorman.Access;

namespace Doorman.Payments.BtcPay;

/// <summary>
/// Reads invoice ids that webhook deliveries named and yields each invoice as the API says it is now (a delivery's
/// body is never trusted). Updates carry no cursor. A failed re-read ends the feed with the error; the bot then
/// reconnects and looks up every pending order, so the trigger lost with it costs nothing.
/// </summary>
internal sealed class BtcPaySettlementFeed(BtcPayPaymentBackend backend, BtcPayWebhookInbox inbox) : ISettlementFeed
{
    private int reading;

    public async IAsyncEnumerable<InvoiceUpdate> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref reading, 1) != 0)
            throw new InvalidOperationException("A settlement feed is read once; open a new one to read again.");
        await foreach (var invoiceId in inbox.Reader.ReadAllAsync(cancellationToken))
            yield return await backend.LookupInvoiceAsync(invoiceId, cancellationToken);
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
