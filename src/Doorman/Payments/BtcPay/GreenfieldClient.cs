using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Doorman.Payments.BtcPay;

/// <summary>
/// A small typed client for the Greenfield routes the bot uses, always in their store-prefixed form
/// (<c>/api/v1/stores/{storeId}/…</c>): BTCPay before 2.4.0 has no other (payments.md B5). Failed answers become a
/// <see cref="GreenfieldException"/>; network failures and timeouts propagate as <see cref="HttpRequestException"/>
/// and <see cref="OperationCanceledException"/>. The API key is added by <see cref="GreenfieldApiKeyHandler"/>.
/// </summary>
internal sealed class GreenfieldClient(HttpClient http, string storeId)
{
    private readonly string store = "api/v1/stores/" + Uri.EscapeDataString(storeId);

    public string StoreId { get; } = storeId;

    /// <summary>POST …/invoices. Never retried (a retry after a lost answer would make a second invoice).</summary>
    public Task<GreenfieldInvoice> CreateInvoiceAsync(GreenfieldCreateInvoiceRequest request, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Post, $"{store}/invoices", JsonContent.Create(request, GreenfieldJsonContext.Default.GreenfieldCreateInvoiceRequest),
            GreenfieldJsonContext.Default.GreenfieldInvoice, cancellationToken);

    /// <summary>GET …/invoices/{id}; null when BTCPay does not know it (404).</summary>
    public async Task<GreenfieldInvoice?> TryGetInvoiceAsync(string invoiceId, CancellationToken cancellationToken)
    {
        try
        {
            return await SendAsync(HttpMethod.Get, $"{store}/invoices/{Uri.EscapeDataString(invoiceId)}", null,
                GreenfieldJsonContext.Default.GreenfieldInvoice, cancellationToken);
        }
        catch (GreenfieldException e) when (e.Status == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    /// <summary>GET …/invoices?take=N: the newest invoices (a cheap check that the store answers to this key).</summary>
    public async Task<IReadOnlyList<GreenfieldInvoice>> GetInvoicesAsync(int take, CancellationToken cancellationToken) =>
        await SendAsync(HttpMethod.Get, $"{store}/invoices?take={take.ToString(System.Globalization.CultureInfo.InvariantCulture)}", null,
            GreenfieldJsonContext.Default.ListGreenfieldInvoice, cancellationToken);

    public async Task<IReadOnlyList<GreenfieldPaymentMethod>> GetPaymentMethodsAsync(string invoiceId, CancellationToken cancellationToken) =>
        await SendAsync(HttpMethod.Get, $"{store}/invoices/{Uri.EscapeDataString(invoiceId)}/payment-methods", null,
            GreenfieldJsonContext.Default.ListGreenfieldPaymentMethod, cancellationToken);

    /// <summary>POST …/payment-methods/{id}/activate: makes a lazy payment method issue its destination (B3). Idempotent.</summary>
    public Task ActivatePaymentMethodAsync(string invoiceId, string paymentMethodId, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Post, $"{store}/invoices/{Uri.EscapeDataString(invoiceId)}/payment-methods/{Uri.EscapeDataString(paymentMethodId)}/activate",
            null, cancellationToken);

    /// <summary>GET /api/v1/api-keys/current: the key's label and permissions.</summary>
    public Task<GreenfieldApiKey> GetCurrentApiKeyAsync(CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Get, "api/v1/api-keys/current", null, GreenfieldJsonContext.Default.GreenfieldApiKey, cancellationToken);

    public async Task<IReadOnlyList<GreenfieldWebhook>> GetWebhooksAsync(CancellationToken cancellationToken) =>
        await SendAsync(HttpMethod.Get, $"{store}/webhooks", null, GreenfieldJsonContext.Default.ListGreenfieldWebhook, cancellationToken);

    public Task<GreenfieldWebhookCreated> CreateWebhookAsync(GreenfieldWebhookRequest request, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Post, $"{store}/webhooks", JsonContent.Create(request, GreenfieldJsonContext.Default.GreenfieldWebhookRequest),
            GreenfieldJsonContext.Default.GreenfieldWebhookCreated, cancellationToken);

    public Task<GreenfieldWebhook> UpdateWebhookAsync(string webhookId, GreenfieldWebhookRequest request, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Put, $"{store}/webhooks/{Uri.EscapeDataString(webhookId)}",
            JsonContent.Create(request, GreenfieldJsonContext.Default.GreenfieldWebhookRequest), GreenfieldJsonContext.Default.GreenfieldWebhook, cancellationToken);

    public Task DeleteWebhookAsync(string webhookId, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Delete, $"{store}/webhooks/{Uri.EscapeDataString(webhookId)}", null, cancellationToken);

    private async Task SendAsync(HttpMethod method, string path, HttpContent? content, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        if (!response.IsSuccessStatusCode)
            throw await ReadErrorAsync(response, cancellationToken);
    }

    private async Task<T> SendAsync<T>(HttpMethod method, string path, HttpContent? content, JsonTypeInfo<T> type, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        if (!response.IsSuccessStatusCode)
            throw await ReadErrorAsync(response, cancellationToken);
        try
        {
            return await response.Content.ReadFromJsonAsync(type, cancellationToken)
                ?? throw new GreenfieldException(response.StatusCode, "unreadable-response", $"{method} {path} answered null");
        }
        catch (JsonException e)
        {
            throw new GreenfieldException(response.StatusCode, "unreadable-response", $"{method} {path} answered JSON we cannot read: {e.Message}");
        }
    }

    /// <summary>
    /// Greenfield errors are a <c>ProblemDetails</c> object (<c>{code, message}</c>) or, for validation, an array of
    /// <c>{path, message}</c> (documented as 400; BTCPay sends 422). A proxy's HTML page keeps just its status.
    /// </summary>
    internal static async Task<GreenfieldException> ReadErrorAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var status = response.StatusCode;
        string body;
        try
        {
            body = await response.Content.ReadAsStringAsync(cancellationToken);
        }
        catch (HttpRequestException)
        {
            body = "";
        }

        try
        {
            var trimmed = body.TrimStart();
            if (trimmed.StartsWith('['))
            {
                var errors = JsonSerializer.Deserialize(trimmed, GreenfieldJsonContext.Default.ListGreenfieldValidationError) ?? [];
                var text = string.Join("; ", errors.Select(e => string.IsNullOrEmpty(e.Path) ? e.Message : $"{e.Path}: {e.Message}"));
                return new GreenfieldException(status, GreenfieldException.ValidationErrorCode, text.Length > 0 ? text : "the request was invalid", errors);
            }
            if (trimmed.StartsWith('{') && JsonSerializer.Deserialize(trimmed, GreenfieldJsonContext.Default.GreenfieldProblem) is { } problem
                && (problem.Code is not null || problem.Message is not null))
                return new GreenfieldException(status, problem.Code ?? DefaultCode(status), problem.Message ?? problem.Code ?? status.ToString());
        }
        catch (JsonException)
        {
            // Not Greenfield's JSON: a reverse proxy's error page. The status says enough.
        }
        return new GreenfieldException(status, DefaultCode(status), $"HTTP {(int)status} {response.ReasonPhrase}".TrimEnd());
    }

    private static string DefaultCode(HttpStatusCode status) => status switch
    {
        HttpStatusCode.Unauthorized => "unauthenticated",
        HttpStatusCode.Forbidden => "forbidden",
        HttpStatusCode.NotFound => "not-found",
        _ => "http-" + ((int)status).ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}

/// <summary>Adds <c>Authorization: token &lt;API key&gt;</c> (Greenfield's API-key scheme) to every request.</summary>
internal sealed class GreenfieldApiKeyHandler(string apiKey) : DelegatingHandler
{
    private readonly AuthenticationHeaderValue header = new("token", apiKey);

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        request.Headers.Authorization = header;
        return base.SendAsync(request, cancellationToken);
    }
}
