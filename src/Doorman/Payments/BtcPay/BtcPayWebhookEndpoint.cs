using System.Text.Json;
using Doorman.Access;
using Doorman.Storage;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace Doorman.Payments.BtcPay;

public static class BtcPayWebhookEndpoint
{
    /// <summary>The path BTCPay posts deliveries to, under the bot's public URL. A contract with operators.</summary>
    public const string Path = "/webhooks/btcpay";

    /// <summary>
    /// Maps <c>POST /webhooks/btcpay</c>, BTCPay's webhook deliveries (needs <c>AddBtcPayPaymentBackend</c>). Each is
    /// verified against its raw bytes, deduplicated by delivery id and handed to the settlement feed as an invoice
    /// id to re-read; the answer comes at once, without waiting for that.
    /// </summary>
    public static IEndpointRouteBuilder MapBtcPayWebhook(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        // [FromServices]: without AddBtcPayPaymentBackend this fails loudly instead of being bound from the body.
        endpoints.MapPost(Path, (HttpContext context, [FromServices] BtcPayWebhookReceiver receiver) => receiver.HandleAsync(context));
        return endpoints;
    }
}

/// <summary>
/// Handles one webhook delivery. Answers: 401 for a missing or wrong signature (one log line, BTCPay does not
/// retry a 4xx); 400 for a signed body that is not a delivery; 200 for a replay, an event that is not about one of
/// this store's invoices, or an accepted delivery; 500 when the delivery cannot be recorded (BTCPay retries).
/// The body is never trusted beyond the invoice id: the feed re-reads the invoice from the API.
/// </summary>
internal sealed partial class BtcPayWebhookReceiver(
    BtcPayWebhookSecret secrets,
    BtcPayWebhookDeliveries deliveries,
    BtcPayWebhookInbox inbox,
    IServiceProvider services,
    IOptions<BtcPayOptions> options,
    TimeProvider time,
    ILogger<BtcPayWebhookReceiver> logger)
{
    /// <summary>BTCPay's invoice deliveries are a few kilobytes; metadata is the merchant's, so allow some room.</summary>
    internal const int MaxBodyBytes = 1024 * 1024;

    public async Task<IResult> HandleAsync(HttpContext context)
    {
        var cancellationToken = context.RequestAborted;
        var remote = context.Connection.RemoteIpAddress?.ToString() ?? "unknown";
        var body = await ReadBodyAsync(context.Request, cancellationToken);
        if (body is null)
            return Results.StatusCode(StatusCodes.Status413PayloadTooLarge);

        var signatures = context.Request.Headers[BtcPaySignature.HeaderName];
        if (signatures.Count == 0)
            return Reject(remote, $"no {BtcPaySignature.HeaderName} header");
        if (signatures.Count > 1)
            return Reject(remote, $"{signatures.Count} {BtcPaySignature.HeaderName} headers");
        var secret = await secrets.GetAsync(cancellationToken);
        if (secret is null)
            return Reject(remote, "no webhook secret is configured or registered yet");
        if (!BtcPaySignature.Verify(body, signatures[0], secret))
            return Reject(remote, "the signature does not match the body");

        GreenfieldWebhookEvent? delivery;
        try
        {
            delivery = JsonSerializer.Deserialize(body, GreenfieldJsonContext.Default.GreenfieldWebhookEvent);
        }
        catch (JsonException e)
        {
            LogUnreadable(remote, e.Message);
            return Results.BadRequest();
        }

        if (delivery?.Type is not { } type || !type.StartsWith("Invoice", StringComparison.Ordinal))
        {
            LogIgnored(delivery?.Type ?? "(none)", delivery?.DeliveryId);
            return Results.Ok();
        }
        if (!string.Equals(delivery.StoreId, options.Value.StoreId, StringComparison.Ordinal))
        {
            LogOtherStore(type, delivery.StoreId);
            return Results.Ok();
        }
        if (string.IsNullOrEmpty(delivery.InvoiceId))
        {
            LogUnreadable(remote, $"a {type} delivery without an invoiceId");
            return Results.BadRequest();
        }

        if (!string.IsNullOrEmpty(delivery.DeliveryId))
        {
            bool first;
            try
            {
                first = await deliveries.TryRecordAsync(delivery.DeliveryId, time.GetUtcNow(), cancellationToken);
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested)
            {
                LogNotRecorded(e, delivery.DeliveryId);
                return Results.StatusCode(StatusCodes.Status500InternalServerError);
            }
            if (!first)
            {
                LogReplayed(delivery.DeliveryId, delivery.InvoiceId);
                return Results.Ok();
            }
        }

        // The role and the standby's parts are looked up, not injected: a receiver is also built without the leadership.
        if (services.GetService<IInstanceRole>()?.Role is InstanceRole.Standby)
            return await ApplyOnStandbyAsync(type, delivery, cancellationToken);
        inbox.Post(delivery.InvoiceId);
        LogAccepted(type, delivery.InvoiceId, delivery.DeliveryId, delivery.IsRedelivery);
        return Results.Ok();
    }

    /// <summary>
    /// A standby runs no settlement feed to hand the invoice to (Hosting/Leadership.cs): it re-reads the invoice and
    /// applies it itself. Applying is once per order in the database whichever instance does it, and the active
    /// instance's outbox carries out the invite. If it fails, 500: BTCPay redelivers (under a new delivery id), and the
    /// active instance's look-ups of pending orders find the payment anyway.
    /// </summary>
    private async Task<IResult> ApplyOnStandbyAsync(string type, GreenfieldWebhookEvent delivery, CancellationToken cancellationToken)
    {
        var backend = services.GetRequiredService<IPaymentBackend>();
        try
        {
            var update = await backend.LookupInvoiceAsync(delivery.InvoiceId!, cancellationToken);
            var outcome = await services.GetRequiredService<Settlements>().ApplyAsync(backend.Name, update, cancellationToken);
            LogAppliedOnStandby(type, delivery.InvoiceId!, outcome);
            return Results.Ok();
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            LogStandbyFailed(e, delivery.InvoiceId!);
            return Results.StatusCode(StatusCodes.Status500InternalServerError);
        }
    }

    private IResult Reject(string remote, string reason)
    {
        LogRejected(remote, reason);
        return Results.Unauthorized();
    }

    private static async Task<byte[]?> ReadBodyAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (request.ContentLength > MaxBodyBytes)
            return null;
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > MaxBodyBytes)
                return null;
            buffer.Write(chunk, 0, read);
        }
        return buffer.ToArray();
    }

    [LoggerMessage(LogLevel.Information, "BTCPay {Type} for invoice {InvoiceId} applied by this standby instance: {Outcome}")]
    private partial void LogAppliedOnStandby(string type, string invoiceId, SettlementOutcome outcome);

    [LoggerMessage(LogLevel.Error, "This standby instance could not apply BTCPay invoice {InvoiceId}; answered 500 so BTCPay delivers it again")]
    private partial void LogStandbyFailed(Exception exception, string invoiceId);

    [LoggerMessage(LogLevel.Warning, "Refused a BTCPay webhook delivery from {Remote}: {Reason}")]
    private partial void LogRejected(string remote, string reason);

    [LoggerMessage(LogLevel.Warning, "A signed BTCPay webhook delivery from {Remote} cannot be read: {Reason}")]
    private partial void LogUnreadable(string remote, string reason);

    [LoggerMessage(LogLevel.Error, "Could not record BTCPay webhook delivery {DeliveryId}; answered 500 so BTCPay delivers it again")]
    private partial void LogNotRecorded(Exception exception, string deliveryId);

    [LoggerMessage(LogLevel.Debug, "Ignored BTCPay webhook event {Type} (delivery {DeliveryId}): not about an invoice")]
    private partial void LogIgnored(string type, string? deliveryId);

    [LoggerMessage(LogLevel.Debug, "Ignored BTCPay webhook event {Type} for store {StoreId}: not the configured store")]
    private partial void LogOtherStore(string type, string? storeId);

    [LoggerMessage(LogLevel.Debug, "Ignored replayed BTCPay webhook delivery {DeliveryId} for invoice {InvoiceId}")]
    private partial void LogReplayed(string deliveryId, string invoiceId);

    [LoggerMessage(LogLevel.Debug, "BTCPay webhook {Type} for invoice {InvoiceId} (delivery {DeliveryId}, redelivery {IsRedelivery}); re-reading the invoice")]
    private partial void LogAccepted(string type, string invoiceId, string? deliveryId, bool isRedelivery);
}
