namespace Doorman.Access;

/// <summary><c>Payments:*</c> shared by the backends.</summary>
public sealed class PaymentsOptions
{
    public const string Section = "Payments";

    /// <summary><c>Lnd</c> (the operator's LND over gRPC) or <c>BtcPay</c> (a BTCPay Server store over Greenfield).</summary>
    public string Backend { get; set; } = "Lnd";

    /// <summary>How long an invoice may be paid.</summary>
    public TimeSpan InvoiceExpiry { get; set; } = TimeSpan.FromMinutes(30);
}

/// <summary>
/// A Lightning payment backend: the operator's LND node or BTCPay store. Money is integer millisatoshis.
/// Implementations never retry invoice creation blindly (a retried create may make two invoices); the
/// settlement feed may repeat an update, and callers apply each settlement idempotently.
/// </summary>
public interface IPaymentBackend
{
    /// <summary>Short lowercase name stored with each order ("lnd", "btcpay").</summary>
    string Name { get; }

    Task<CreatedInvoice> CreateInvoiceAsync(InvoiceRequest request, CancellationToken cancellationToken);

    /// <summary>The invoice's current state; <see cref="InvoiceState.NotFound"/> when the backend does not know it.</summary>
    Task<InvoiceUpdate> LookupInvoiceAsync(string reference, CancellationToken cancellationToken);

    /// <summary>
    /// Opens the settlement feed, replaying settlements after <paramref name="cursor"/> (exclusive). Null means no
    /// cursor was ever stored: the backend may then replay earlier settlements too (LND replays every settled
    /// invoice), which callers apply idempotently like any repeat. Returns once the feed is live, so the caller can
    /// catch up by lookups afterwards without a gap.
    /// </summary>
    Task<ISettlementFeed> OpenSettlementFeedAsync(string? cursor, CancellationToken cancellationToken);

    /// <summary>Throws <see cref="PaymentBackendException"/> when the backend cannot serve us.</summary>
    Task CheckHealthAsync(CancellationToken cancellationToken);

    /// <summary>
    /// When set, the bot also looks up every pending order this often (a backend whose feed may stay silent,
    /// such as BTCPay without inbound webhooks). Null: only at each (re)connect and for overdue orders.
    /// </summary>
    TimeSpan? PollInterval => null;

    /// <summary>
    /// How long after an invoice's expiry the backend may still report it paid without its feed saying so reliably
    /// (BTCPay: a payment that arrives after expiry is recorded during the invoice's monitoring window, and only a
    /// webhook, which may be lost or not configured, tells of it). For this long the bot looks expired orders up
    /// again, with back-off. Null: the feed brings every late settlement (LND's stream replays settled invoices).
    /// </summary>
    TimeSpan? LateSettlementWindow => null;
}

/// <summary>A live feed of invoice updates. It ends (or throws) when the connection drops.</summary>
public interface ISettlementFeed : IAsyncDisposable
{
    IAsyncEnumerable<InvoiceUpdate> ReadAllAsync(CancellationToken cancellationToken);
}

/// <param name="OrderId">Our order id, recorded with the invoice where the backend has a place for it.</param>
/// <param name="AmountMsat">Positive.</param>
/// <param name="Memo">Short description shown in the payer's wallet.</param>
/// <param name="Expiry">How long the invoice may be paid.</param>
public sealed record InvoiceRequest(string OrderId, long AmountMsat, string Memo, TimeSpan Expiry);

/// <param name="Reference">The backend's id for the invoice (LND: payment hash in lowercase hex).</param>
/// <param name="Bolt11">The payment request to show the member.</param>
/// <param name="PaymentHash">Lowercase hex, 64 characters.</param>
public sealed record CreatedInvoice(string Reference, string Bolt11, string PaymentHash, DateTimeOffset ExpiresAt);

public enum InvoiceState
{
    /// <summary>Unpaid; may already be past its expiry if the backend has not swept it yet.</summary>
    Open,
    /// <summary>Paid and final. Grants access when <see cref="InvoiceUpdate.PaidMsat"/> covers the amount.</summary>
    Settled,
    /// <summary>Canceled or expired: final, grants nothing.</summary>
    Canceled,
    /// <summary>The backend does not know the invoice (LND deletes canceled invoices when configured to).</summary>
    NotFound,
}

/// <param name="Reference">As in <see cref="CreatedInvoice.Reference"/>.</param>
/// <param name="AmountMsat">What the invoice asked for.</param>
/// <param name="PaidMsat">What was paid (may exceed the amount); 0 unless settled.</param>
/// <param name="Cursor">The feed position after this update, to store once its effects are durable; null for lookups.</param>
public sealed record InvoiceUpdate(string Reference, InvoiceState State, long AmountMsat, long PaidMsat, string? Cursor);

/// <summary>The backend failed. <see cref="IsTransient"/>: worth retrying later (node down, locked, timeout).</summary>
public sealed class PaymentBackendException(string message, bool isTransient, Exception? innerException = null)
    : Exception(message, innerException)
{
    public bool IsTransient { get; } = isTransient;
}
