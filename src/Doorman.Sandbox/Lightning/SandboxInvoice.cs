namespace Doorman.Sandbox.Lightning;

/// <summary>lnd's invoice states (lightning.proto Invoice.InvoiceState).</summary>
public enum SandboxInvoiceState
{
    Open,
    Settled,
    Canceled,
    Accepted,
}

/// <summary>A snapshot of one invoice on the sandbox node, for assertions.</summary>
/// <param name="PaymentHash">Lowercase hex.</param>
/// <param name="ValueMsat">What the invoice asks for; 0 for any amount.</param>
/// <param name="AmountPaidMsat">0 unless settled; may exceed <paramref name="ValueMsat"/>.</param>
/// <param name="SettleIndex">0 unless settled.</param>
/// <param name="PaymentRequest">The BOLT11 string the node issued.</param>
public sealed record SandboxInvoice(
    string PaymentHash,
    long ValueMsat,
    long AmountPaidMsat,
    SandboxInvoiceState State,
    ulong AddIndex,
    ulong SettleIndex,
    string Memo,
    string PaymentRequest,
    DateTimeOffset CreatedAt,
    DateTimeOffset ExpiresAt);
