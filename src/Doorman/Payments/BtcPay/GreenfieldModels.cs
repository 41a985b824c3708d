using System.Text.Json;
using System.Text.Json.Serialization;

namespace Doorman.Payments.BtcPay;

// The subset of BTCPay's Greenfield API (v2.4.1 swagger; a copy is tests/Doorman.Tests/Payments/BtcPay/greenfield-v2.4.1.json) that the
// bot uses. Amounts are decimal strings on the wire; readers also accept numbers, writers send strings.

/// <summary><c>CreateInvoiceRequest</c>.</summary>
internal sealed record GreenfieldCreateInvoiceRequest(
    [property: JsonPropertyName("amount")] string Amount,
    [property: JsonPropertyName("currency")] string Currency,
    [property: JsonPropertyName("metadata")] GreenfieldInvoiceMetadata Metadata,
    [property: JsonPropertyName("checkout")] GreenfieldCheckoutOptions Checkout);

/// <summary><c>InvoiceMetadata</c>: <c>orderId</c> is indexed by BTCPay, so an invoice can be found by our order id.</summary>
internal sealed record GreenfieldInvoiceMetadata(
    [property: JsonPropertyName("orderId")] string OrderId,
    [property: JsonPropertyName("itemDesc")] string ItemDesc);

/// <summary><c>CheckoutOptions</c> (request side).</summary>
internal sealed record GreenfieldCheckoutOptions(
    [property: JsonPropertyName("paymentMethods")] IReadOnlyList<string> PaymentMethods,
    [property: JsonPropertyName("expirationMinutes")] long ExpirationMinutes,
    [property: JsonPropertyName("lazyPaymentMethods")] bool LazyPaymentMethods,
    [property: JsonPropertyName("monitoringMinutes")] long MonitoringMinutes);

/// <summary><c>InvoiceData</c>: the fields we read.</summary>
internal sealed record GreenfieldInvoice
{
    [JsonPropertyName("id")] public string Id { get; init; } = "";
    [JsonPropertyName("storeId")] public string? StoreId { get; init; }
    [JsonPropertyName("amount"), JsonNumberHandling(JsonNumberHandling.AllowReadingFromString)] public decimal? Amount { get; init; }
    [JsonPropertyName("currency")] public string? Currency { get; init; }
    [JsonPropertyName("type")] public string? Type { get; init; }
    [JsonPropertyName("status")] public string? Status { get; init; }
    [JsonPropertyName("additionalStatus")] public string? AdditionalStatus { get; init; }
    [JsonPropertyName("createdTime")] public long? CreatedTime { get; init; }
    [JsonPropertyName("expirationTime")] public long? ExpirationTime { get; init; }
}

/// <summary>
/// <c>InvoicePaymentMethodDataModel</c>, 2.x (<c>paymentMethodId</c>, <c>currency</c>) or 1.x (<c>paymentMethod</c>,
/// <c>cryptoCode</c>) shape. Amounts are in the payment method's currency (BTC), whatever the invoice's (B7).
/// </summary>
internal sealed record GreenfieldPaymentMethod
{
    [JsonPropertyName("paymentMethodId")] public string? PaymentMethodId { get; init; }
    [JsonPropertyName("paymentMethod")] public string? LegacyPaymentMethod { get; init; }
    [JsonPropertyName("currency")] public string? Currency { get; init; }
    [JsonPropertyName("cryptoCode")] public string? LegacyCryptoCode { get; init; }
    [JsonPropertyName("destination")] public string? Destination { get; init; }
    [JsonPropertyName("amount"), JsonNumberHandling(JsonNumberHandling.AllowReadingFromString)] public decimal? Amount { get; init; }
    [JsonPropertyName("totalPaid"), JsonNumberHandling(JsonNumberHandling.AllowReadingFromString)] public decimal? TotalPaid { get; init; }
    [JsonPropertyName("paymentMethodPaid"), JsonNumberHandling(JsonNumberHandling.AllowReadingFromString)] public decimal? PaymentMethodPaid { get; init; }
    [JsonPropertyName("activated")] public bool? Activated { get; init; }

    /// <summary>The id in either shape, as sent (e.g. "BTC-LN", "BTC-LightningNetwork").</summary>
    public string? Id => PaymentMethodId ?? LegacyPaymentMethod;

    public string? CurrencyCode => Currency ?? LegacyCryptoCode;
}

/// <summary><c>ApiKeyData</c> without <c>apiKey</c>: the key itself is never read back into memory.</summary>
internal sealed record GreenfieldApiKey
{
    [JsonPropertyName("label")] public string? Label { get; init; }
    [JsonPropertyName("permissions")] public IReadOnlyList<string>? Permissions { get; init; }
}

/// <summary><c>WebhookData</c> (GET never returns the secret: B2).</summary>
internal sealed record GreenfieldWebhook
{
    [JsonPropertyName("id")] public string Id { get; init; } = "";
    [JsonPropertyName("enabled")] public bool? Enabled { get; init; }
    [JsonPropertyName("automaticRedelivery")] public bool? AutomaticRedelivery { get; init; }
    [JsonPropertyName("url")] public string? Url { get; init; }
    [JsonPropertyName("authorizedEvents")] public GreenfieldAuthorizedEvents? AuthorizedEvents { get; init; }
}

/// <summary><c>WebhookDataCreateResult</c>: the only place BTCPay ever shows a webhook's secret.</summary>
internal sealed record GreenfieldWebhookCreated
{
    [JsonPropertyName("id")] public string Id { get; init; } = "";
    [JsonPropertyName("secret")] public string? Secret { get; init; }
}

internal sealed record GreenfieldAuthorizedEvents(
    [property: JsonPropertyName("everything")] bool Everything,
    [property: JsonPropertyName("specificEvents")] IReadOnlyList<string>? SpecificEvents);

/// <summary><c>WebhookDataCreate</c> / <c>WebhookDataUpdate</c>. A null secret: BTCPay generates one (create) or keeps it (update).</summary>
internal sealed record GreenfieldWebhookRequest(
    [property: JsonPropertyName("enabled")] bool Enabled,
    [property: JsonPropertyName("automaticRedelivery")] bool AutomaticRedelivery,
    [property: JsonPropertyName("url")] string Url,
    [property: JsonPropertyName("authorizedEvents")] GreenfieldAuthorizedEvents AuthorizedEvents,
    [property: JsonPropertyName("secret")] string? Secret);

/// <summary><c>ProblemDetails</c>.</summary>
internal sealed record GreenfieldProblem(
    [property: JsonPropertyName("code")] string? Code,
    [property: JsonPropertyName("message")] string? Message);

/// <summary>One entry of <c>ValidationProblemDetails</c> (an array).</summary>
public sealed record GreenfieldValidationError(
    [property: JsonPropertyName("path")] string? Path,
    [property: JsonPropertyName("message")] string? Message);

/// <summary>A webhook delivery's common fields (<c>WebhookInvoiceEvent</c>); the rest is not trusted or needed.</summary>
internal sealed record GreenfieldWebhookEvent
{
    [JsonPropertyName("deliveryId")] public string? DeliveryId { get; init; }
    [JsonPropertyName("webhookId")] public string? WebhookId { get; init; }
    [JsonPropertyName("originalDeliveryId")] public string? OriginalDeliveryId { get; init; }
    [JsonPropertyName("isRedelivery")] public bool IsRedelivery { get; init; }
    [JsonPropertyName("type")] public string? Type { get; init; }
    [JsonPropertyName("storeId")] public string? StoreId { get; init; }
    [JsonPropertyName("invoiceId")] public string? InvoiceId { get; init; }
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(GreenfieldCreateInvoiceRequest))]
[JsonSerializable(typeof(GreenfieldInvoice))]
[JsonSerializable(typeof(List<GreenfieldInvoice>))]
[JsonSerializable(typeof(List<GreenfieldPaymentMethod>))]
[JsonSerializable(typeof(GreenfieldApiKey))]
[JsonSerializable(typeof(List<GreenfieldWebhook>))]
[JsonSerializable(typeof(GreenfieldWebhook))]
[JsonSerializable(typeof(GreenfieldWebhookCreated))]
[JsonSerializable(typeof(GreenfieldWebhookRequest))]
[JsonSerializable(typeof(GreenfieldProblem))]
[JsonSerializable(typeof(List<GreenfieldValidationError>))]
[JsonSerializable(typeof(GreenfieldWebhookEvent))]
[JsonSerializable(typeof(JsonElement))]
internal sealed partial class GreenfieldJsonContext : JsonSerializerContext;
