using System.Runtime.CompilerServices;
using Doorman.Access;
using Grpc.Core;
using Lnrpc;

namespace Doorman.Payments.Lnd;

/// <summary>
/// One SubscribeInvoices stream plus the catch-up that makes it complete. <see cref="ReadAllAsync"/> first pages
/// ListInvoices from the cursor's add watermark and yields invoices settled since (lnd replays nothing for
/// settle_index 0, lnd#2469, and a first start has nothing else), then yields the stream's SETTLED updates (OPEN
/// adds are ignored; lnd never streams CANCELED or ACCEPTED). Updates already yielded are not repeated within one
/// feed; across feeds one may be (the interface allows it). Each update carries the cursor to store after applying it.
/// </summary>
internal sealed class LndSettlementFeed(
    LndPaymentBackend backend,
    AsyncServerStreamingCall<Invoice> call,
    CancellationTokenSource lifetime,
    LndFeedCursor start,
    bool live) : ISettlementFeed
{
    private readonly HashSet<string> yielded = new(StringComparer.Ordinal);
    private readonly ulong replayedUpTo = start.SettleIndex;
    private LndFeedCursor position = start;
    private int reading;

    public async IAsyncEnumerable<InvoiceUpdate> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref reading, 1) != 0)
            throw new InvalidOperationException("A settlement feed is read once; open a new one to read again.");

        // Catch-up. The subscription is registered (or, when !live, about to be): anything settled before it is here.
        await foreach (var update in ScanAsync(cancellationToken))
            yield return update;

        var confirmed = live;
        while (true)
        {
            var invoice = await ReadNextAsync(cancellationToken);
            if (invoice is null)
                yield break;

            if (!confirmed)
            {
                // The first message proves the subscription is registered. Whatever settled between the catch-up
                // and that moment is neither in the catch-up nor in the stream: scan once more to cover it.
                confirmed = true;
                await foreach (var update in ScanAsync(cancellationToken))
                    yield return update;
            }

            // settle_index only grows along the stream (lnd assigns and notifies under one lock), so anything at or
            // below the position has been delivered already.
            if (invoice.State != Invoice.Types.InvoiceState.Settled || invoice.SettleIndex <= position.SettleIndex)
                continue;
            position = position with { SettleIndex = invoice.SettleIndex, SettleAddIndex = invoice.AddIndex };
            if (!yielded.Add(Convert.ToHexStringLower(invoice.RHash.Span)))
                continue;
            yield return LndPaymentBackend.ToUpdate(invoice, position.ToString());
        }
    }

    public ValueTask DisposeAsync()
    {
        lifetime.Cancel();
        call.Dispose();
        lifetime.Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// Pages ListInvoices after the add watermark. The watermark advances over invoices that are final (settled or
    /// canceled) up to the first one that is not; later ones are still read, so the next scan starts at that first
    /// open invoice. Settlements at or below the starting settle_index were delivered by an earlier stream and are
    /// skipped, as are invoices this feed already yielded.
    /// </summary>
    private async IAsyncEnumerable<InvoiceUpdate> ScanAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var offset = position.AddWatermark;
        var watermarkFrozen = false;
        while (true)
        {
            var page = await backend.ListInvoicesAsync(
                new ListInvoiceRequest { IndexOffset = offset, NumMaxInvoices = LndPaymentBackend.ScanPageSize },
                "catching up with ListInvoices", cancellationToken);
            if (page.Invoices.Count == 0)
                yield break;

            foreach (var invoice in page.Invoices)
            {
                var settled = invoice.State == Invoice.Types.InvoiceState.Settled;
                watermarkFrozen |= !settled && invoice.State != Invoice.Types.InvoiceState.Canceled;
                if (!watermarkFrozen)
                    position = position with { AddWatermark = invoice.AddIndex };
                if (settled && invoice.SettleIndex > replayedUpTo && yielded.Add(Convert.ToHexStringLower(invoice.RHash.Span)))
                    yield return LndPaymentBackend.ToUpdate(invoice, position.ToString());
            }
            offset = page.Invoices[^1].AddIndex;
        }
    }

    private async Task<Invoice?> ReadNextAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await call.ResponseStream.MoveNext(cancellationToken) ? call.ResponseStream.Current : null;
        }
        catch (RpcException e)
        {
            throw backend.Map(e, "reading the invoice stream");
        }
    }
}
