using System.Text;
using System.Text.Json.Nodes;
using Doorman.Access;
using Doorman.Sandbox.BtcPay;
using static Doorman.Tests.Payments.BtcPay.BtcPayTestBot;
using static Doorman.Tests.Payments.BtcPay.BtcPayWebhookTests;
using static Doorman.Tests.Payments.BtcPay.SandboxBtcPayServerTests;

namespace Doorman.Tests.Payments.BtcPay;

/// <summary>
/// Everything the bot sends to BTCPay and everything the sandbox answers or delivers is checked against BTCPay's own
/// OpenAPI document (v2.4.1): request bodies against the operation's request schema, answers against the schema of
/// their status, webhook deliveries against the <c>x-webhooks</c> schema of their type.
/// </summary>
public sealed class GreenfieldConformanceTests
{
    [Fact]
    public async Task Every_request_the_bot_sends_and_every_answer_and_delivery_of_the_sandbox_match_the_document()
    {
        await using var server = await SandboxBtcPayServer.StartAsync(new SandboxBtcPayOptions { RedeliverySchedule = [TimeSpan.FromMilliseconds(100)] });
        await using var bot = await StartAsync(server, registerWebhook: true);
        await using var feed = await FeedReader.OpenAsync(bot.Backend, null);
        var admin = server.CreateApiKey("unrestricted");

        // The bot's own traffic: health, webhook registration, invoices paid in full, partly, over, marked, unknown.
        await bot.Backend.CheckHealthAsync(CancellationToken.None);
        var paid = await bot.Backend.CreateInvoiceAsync(Request(5_000_000), CancellationToken.None);
        var partly = await bot.Backend.CreateInvoiceAsync(Request(5_000_000), CancellationToken.None);
        var over = await bot.Backend.CreateInvoiceAsync(Request(5_000_000), CancellationToken.None);
        var invalid = await bot.Backend.CreateInvoiceAsync(Request(5_000_000), CancellationToken.None);
        await server.PayAsync(paid.Bolt11);
        await server.PayAsync(partly.Bolt11, 1_000_000);
        await server.PayAsync(over.Bolt11, 9_000_000);
        server.MarkInvoice(invalid.Reference, "Invalid");
        foreach (var reference in new[] { paid.Reference, partly.Reference, over.Reference, invalid.Reference, "NoSuchInvoice" })
            await bot.Backend.LookupInvoiceAsync(reference, CancellationToken.None);
        Assert.Equal(InvoiceState.Settled, (await feed.NextAsync()).State);
        // Delivered before the webhook is disabled below (a disabled webhook's queued events are dropped, as in BTCPay).
        await EventuallyAsync(() => server.Deliveries.Any(d => d.Type == "InvoiceInvalid"), "the deliveries");
        await SendAsync(server, admin, HttpMethod.Put, $"api/v1/stores/{server.StoreId}/webhooks/{server.Webhooks[0].Id}",
            $$"""{"url":"{{server.Webhooks[0].Url}}","enabled":false}""");
        await bot.Backend.EnsureWebhookAsync(CancellationToken.None);

        // Refusals, in both route forms: 401, 403, 404, 422.
        var viewer = server.CreateApiKey("btcpay.store.canviewinvoices");
        await RawAsync(server, "wrong-key", HttpMethod.Get, $"api/v1/stores/{server.StoreId}/invoices/{paid.Reference}");
        await RawAsync(server, viewer, HttpMethod.Post, $"api/v1/stores/{server.StoreId}/invoices", """{"amount":"1000","currency":"SATS"}""");
        await RawAsync(server, viewer, HttpMethod.Get, $"api/v1/invoices/{paid.Reference}/payment-methods");
        await RawAsync(server, admin, HttpMethod.Get, $"api/v1/invoices/NoSuchInvoice");
        await RawAsync(server, admin, HttpMethod.Post, $"api/v1/stores/{server.StoreId}/invoices", """{"amount":"-5","checkout":{"expirationMinutes":0}}""");
        await RawAsync(server, admin, HttpMethod.Get, $"api/v1/stores/{server.StoreId}/invoices?take=10");
        await RawAsync(server, admin, HttpMethod.Post, $"api/v1/stores/{server.StoreId}/webhooks", """{"url":"not a url"}""");

        var exchanges = server.Exchanges;
        var problems = new List<string>();
        foreach (var exchange in exchanges)
        {
            var (template, operation) = GreenfieldOpenApi.Instance.Operation(exchange.Method, exchange.Path);
            var where = $"{exchange.Method} {exchange.Path} → {exchange.StatusCode} ({template})";
            if (exchange.RequestBody is { } request)
            {
                if (GreenfieldOpenApi.Instance.RequestSchema(operation) is not { } requestSchema)
                    problems.Add($"{where}: a request body where the operation takes none");
                else if (GreenfieldOpenApi.Problems(requestSchema, request) is { } wrong)
                    problems.Add($"{where}: request: {wrong}\n{request}");
            }
            var body = exchange.ResponseBody ?? "";
            var responseSchema = GreenfieldOpenApi.Instance.ResponseSchema(operation, exchange.StatusCode, body);
            if (responseSchema is null && body.Length > 0)
                problems.Add($"{where}: an answer body where the document has none");
            else if (responseSchema is not null && GreenfieldOpenApi.Problems(responseSchema, body) is { } wrong)
                problems.Add($"{where}: answer: {wrong}\n{body}");
        }
        foreach (var delivery in server.Deliveries)
        {
            if (GreenfieldOpenApi.Problems(GreenfieldOpenApi.Instance.WebhookEvent(delivery.Type), Encoding.UTF8.GetString(delivery.Body)) is { } wrong)
                problems.Add($"delivery {delivery.Type}: {wrong}");
        }

        Assert.True(problems.Count == 0, string.Join("\n\n", problems));
        // The scenario reached what it means to check.
        var statuses = exchanges.Select(e => e.StatusCode).ToHashSet();
        Assert.Superset(new HashSet<int> { 200, 401, 403, 404, 422 }, statuses);
        Assert.Superset(new HashSet<string> { "POST", "GET", "PUT" }, exchanges.Select(e => e.Method).ToHashSet());
        Assert.Superset(new HashSet<string> { "InvoiceReceivedPayment", "InvoicePaymentSettled", "InvoiceSettled", "InvoiceInvalid" },
            server.Deliveries.Select(d => d.Type).ToHashSet());
    }

    [Fact]
    public async Task Expired_and_lazy_invoices_and_activation_match_the_document()
    {
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero));
        await using var server = await SandboxBtcPayServer.StartAsync(new SandboxBtcPayOptions { TimeProvider = clock, ForceLazyPaymentMethods = true });
        await using var bot = await StartAsync(server, time: clock);
        var created = await bot.Backend.CreateInvoiceAsync(Request(expiryMinutes: 5), CancellationToken.None);
        await server.PayAsync(created.Bolt11, 1_000);
        var admin = server.CreateApiKey("unrestricted");
        await RawAsync(server, admin, HttpMethod.Post, $"api/v1/stores/{server.StoreId}/invoices", """{"amount":"1","currency":"BTC"}""");
        clock.Advance(TimeSpan.FromMinutes(5));
        await bot.Backend.LookupInvoiceAsync(created.Reference, CancellationToken.None);
        await RawAsync(server, admin, HttpMethod.Get, $"api/v1/stores/{server.StoreId}/invoices");

        foreach (var exchange in server.Exchanges)
        {
            var (_, operation) = GreenfieldOpenApi.Instance.Operation(exchange.Method, exchange.Path);
            if (GreenfieldOpenApi.Instance.ResponseSchema(operation, exchange.StatusCode, exchange.ResponseBody ?? "") is { } schema)
                Assert.Null(GreenfieldOpenApi.Problems(schema, exchange.ResponseBody!));
        }
        Assert.Contains(server.Exchanges, e => e.Path.EndsWith("/activate", StringComparison.Ordinal) && e.StatusCode == 200);
    }

    public static TheoryData<string, string> NonConforming => new()
    {
        { "InvoiceData", """{"id":"x","status":"Paid"}""" },
        { "InvoiceData", """{"id":"x","amount":1000}""" },
        { "InvoiceData", """{"id":"x","amount":"1,000"}""" },
        { "InvoiceData", """{"id":"x","createdTime":"yesterday"}""" },
        { "InvoiceData", """{"id":"x","unexpected":true}""" },
        { "InvoiceData", """{"id":"x","checkout":{"paymentMethods":"BTC-LN"}}""" },
        { "InvoiceData", """{"id":"x","checkout":{"unexpected":1}}""" },
        { "CreateInvoiceRequest", """{"amount":"1000","currency":"SATS","paymentMethods":["BTC-LN"]}""" },
        { "InvoicePaymentMethodDataModel", """{"paymentMethodId":"BTC-LN","paymentMethod":"BTC-LightningNetwork"}""" },
        { "InvoicePaymentMethodDataModel", """{"paymentMethodId":"BTC-LN","destination":null}""" },
        { "WebhookDataCreate", """{"url":"https://x","authorizedEvents":{"everything":"no"}}""" },
        { "ApiKeyData", """{"permissions":"unrestricted"}""" },
    };

    [Theory]
    [MemberData(nameof(NonConforming))]
    public void The_validator_refuses_bodies_that_break_the_document(string schema, string json) =>
        Assert.NotNull(GreenfieldOpenApi.Problems(GreenfieldOpenApi.Instance.Component(schema), json));

    public static TheoryData<string, string> Conforming => new()
    {
        // allOf parts each say additionalProperties:false; their union is what the document means.
        { "InvoiceData", """{"id":"x","metadata":{"orderId":"o","anything":[1]},"checkout":{"expirationMinutes":30,"defaultLanguage":null},"receipt":{"enabled":true},"amount":"0.5","createdTime":1}""" },
        { "WebhookDataCreateResult", """{"id":"w","url":"https://x","secret":"s","authorizedEvents":{"everything":false,"specificEvents":["InvoiceSettled"]}}""" },
        { "CreateInvoiceRequest", """{"amount":null,"checkout":null}""" },
        { "ValidationProblemDetails", """[{"path":"amount","message":"bad"}]""" },
    };

    [Theory]
    [MemberData(nameof(Conforming))]
    public void The_validator_accepts_what_the_document_allows(string schema, string json) =>
        Assert.Null(GreenfieldOpenApi.Problems(GreenfieldOpenApi.Instance.Component(schema), json));

    [Fact]
    public void Store_prefixed_routes_are_matched_to_the_documented_operations()
    {
        Assert.Equal("/api/v1/invoices/{invoiceId}/payment-methods", GreenfieldOpenApi.Instance.Operation("GET", "/api/v1/stores/S/invoices/I/payment-methods").Template);
        Assert.Equal("/api/v1/stores/{storeId}/invoices", GreenfieldOpenApi.Instance.Operation("POST", "/api/v1/stores/S/invoices").Template);
        Assert.Equal("/api/v1/webhooks/{webhookId}", GreenfieldOpenApi.Instance.Operation("PUT", "/api/v1/stores/S/webhooks/W").Template);
        Assert.Throws<KeyNotFoundException>(() => GreenfieldOpenApi.Instance.Operation("PATCH", "/api/v1/stores/S/invoices"));
    }

    [Fact]
    public void Webhook_deliveries_are_checked_against_their_type()
    {
        var settled = """{"deliveryId":"d","webhookId":"w","originalDeliveryId":"d","isRedelivery":false,"type":"InvoiceSettled","timestamp":1,"storeId":"s","invoiceId":"i","metadata":{},"manuallyMarked":false,"overPaid":true}""";

        Assert.Null(GreenfieldOpenApi.Problems(GreenfieldOpenApi.Instance.WebhookEvent("InvoiceSettled"), settled));
        Assert.NotNull(GreenfieldOpenApi.Problems(GreenfieldOpenApi.Instance.WebhookEvent("InvoiceExpired"), settled));
        Assert.NotNull(GreenfieldOpenApi.Problems(GreenfieldOpenApi.Instance.WebhookEvent("InvoiceSettled"),
            JsonNode.Parse(settled)!.AsObject().Also(o => o["isRedelivery"] = "no").ToJsonString()));
    }
}

internal static class JsonObjectExtensions
{
    public static JsonObject Also(this JsonObject o, Action<JsonObject> change)
    {
        change(o);
        return o;
    }
}
