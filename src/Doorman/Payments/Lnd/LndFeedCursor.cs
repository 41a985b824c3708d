using System.Globalization;

namespace Doorman.Payments.Lnd;

/// <summary>
/// Where the LND settlement feed resumes. Stored by the bot as an opaque string:
/// <code>v1:&lt;settle_index&gt;:&lt;add_index of that settled invoice&gt;:&lt;add watermark&gt;</code>
/// for example <c>v1:12:40:37</c>. Each number is a decimal uint64; null (no cursor) means <c>v1:0:0:0</c>.
/// <list type="bullet">
/// <item><b>settle_index</b> S: every settlement with settle_index ≤ S has been delivered (and, since the bot
/// stores a cursor only after applying its update, applied). SubscribeInvoices resumes after it; lnd replays
/// settlements with settle_index strictly greater (invoiceregistry.go deliverBacklogEvents), and 0 replays nothing.</item>
/// <item><b>add_index of that invoice</b>: lets the feed check, on re-opening, that the node still has the invoice
/// settled at S (ListInvoices from that add_index). If not, the node's indexes were renumbered (a database migration
/// or a rebuilt node) and the feed starts over rather than trust S.</item>
/// <item><b>add watermark</b> W: every invoice with add_index ≤ W is final (settled or canceled) and its settlement
/// delivered. The catch-up scan re-reads ListInvoices from W, so an invoice still open at the last scan is looked at
/// again. W also detects a node whose newest add_index is below it (indexes went backwards).</item>
/// </list>
/// </summary>
internal readonly record struct LndFeedCursor(ulong SettleIndex, ulong SettleAddIndex, ulong AddWatermark)
{
    private const string Version = "v1";

    public static LndFeedCursor Start => default;

    /// <summary>Parses a stored cursor; null gives <see cref="Start"/>. Throws <see cref="ArgumentException"/> for anything else.</summary>
    public static LndFeedCursor Parse(string? text)
    {
        if (text is null)
            return Start;
        var parts = text.Split(':');
        if (parts.Length == 4 && parts[0] == Version
            && ulong.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var settle)
            && ulong.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var settleAdd)
            && ulong.TryParse(parts[3], NumberStyles.None, CultureInfo.InvariantCulture, out var watermark))
        {
            return new LndFeedCursor(settle, settleAdd, watermark);
        }
        throw new ArgumentException($"'{text}' is not an LND feed cursor (v1:<settle_index>:<add_index>:<add watermark>)", nameof(text));
    }

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Version}:{SettleIndex}:{SettleAddIndex}:{AddWatermark}");
}
