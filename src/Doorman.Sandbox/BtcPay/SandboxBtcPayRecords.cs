namespace Doorman.Sandbox.BtcPay;

/// <summary>A snapshot of one invoice on the sandbox BTCPay, for assertions.</summary>
/// <param name="Status">Greenfield's <c>InvoiceStatus</c>: New, Processing, Expired, Invalid, Settled.</param>
/// <param name="AdditionalStatus">Greenfield's <c>InvoiceAdditionalStatus</c>: None, PaidLate, PaidPartial, Marked, Invalid, PaidOver.</param>
/// <param name="Bolt11">The Lightning invoice to pay now (after a partial payment, one for what is still due); empty until activated.</param>
/// <param name="PaymentHash">The payment hash of <paramref name="Bolt11"/>, lowercase hex; empty until activated.</param>
/// <param name="OrderId"><c>metadata.orderId</c>, if any.</param>
public sealed record SandboxBtcPayInvoice(
    string Id,
    string StoreId,
    long AmountMsat,
    long PaidMsat,
    string Status,
    string AdditionalStatus,
    string Bolt11,
    string PaymentHash,
    string? OrderId,
    DateTimeOffset CreatedAt,
    DateTimeOffset ExpiresAt);

/// <summary>One attempt to deliver a webhook event, as the sandbox sent it (or pretended to).</summary>
/// <param name="OriginalDeliveryId">The first attempt's id; equal to <paramref name="DeliveryId"/> on a first attempt, as BTCPay sends it.</param>
/// <param name="Body">The exact bytes sent (indented JSON, UTF-8).</param>
/// <param name="Signature">The <c>BTCPay-Sig</c> header sent.</param>
/// <param name="StatusCode">The receiver's HTTP status; null when the request failed (network error, timeout).</param>
/// <param name="Error">Why the attempt failed, if it did.</param>
public sealed record SandboxWebhookDelivery(
    string WebhookId,
    string DeliveryId,
    string OriginalDeliveryId,
    bool IsRedelivery,
    string Type,
    string InvoiceId,
    byte[] Body,
    string Signature,
    int? StatusCode,
    string? Error,
    DateTimeOffset At)
{
    public bool Succeeded => StatusCode is >= 200 and < 300;
}

/// <summary>One Greenfield request and the answer the sandbox gave, for conformance checks.</summary>
/// <param name="Path">The request path, e.g. /api/v1/stores/abc/invoices.</param>
/// <param name="RequestBody">Null when the request had none.</param>
/// <param name="ResponseBody">Null when the answer had none.</param>
public sealed record SandboxGreenfieldExchange(
    string Method,
    string Path,
    string Query,
    string? RequestBody,
    int StatusCode,
    string? ResponseContentType,
    string? ResponseBody);

/// <summary>How the sandbox BTCPay is down.</summary>
public enum SandboxBtcPayOutage
{
    /// <summary>Every request is answered 503 by something in front of BTCPay (an HTML page, as a reverse proxy sends).</summary>
    ServiceUnavailable,
    /// <summary>Nothing listens: connections are refused.</summary>
    ConnectionRefused,
}

/// <summary>A snapshot of one webhook, secret included (BTCPay never shows it again after creation; the sandbox does, for tests).</summary>
public sealed record SandboxBtcPayWebhook(
    string Id,
    string StoreId,
    string Url,
    bool Enabled,
    bool AutomaticRedelivery,
    bool Everything,
    IReadOnlyList<string> SpecificEvents,
    string Secret);
