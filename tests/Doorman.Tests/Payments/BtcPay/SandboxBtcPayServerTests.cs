using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Doorman.Sandbox.BtcPay;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using static Doorman.Tests.Payments.BtcPay.BtcPayTestBot;
using static Doorman.Tests.Payments.BtcPay.BtcPayWebhookTests;

namespace Doorman.Tests.Payments.BtcPay;

/// <summary>The sandbox BTCPay keeps BTCPay's rules: what the bot's tests rely on, checked without the bot.</summary>
public sealed class SandboxBtcPayServerTests
{
    [Fact]
    public async Task An_unknown_key_gets_401_and_a_missing_permission_403_naming_it_in_btcpays_shapes()
    {
        await using var server = await SandboxBtcPayServer.StartAsync();
        var viewer = server.CreateApiKey("btcpay.store.canviewinvoices");

        var (unknownStatus, unknown) = await RawAsync(server, "nope", HttpMethod.Get, "api/v1/api-keys/current");
        var (forbiddenStatus, forbidden) = await RawAsync(server, viewer, HttpMethod.Post, $"api/v1/stores/{server.StoreId}/invoices", """{"amount":"1000","currency":"SATS"}""");
        var (noStoreStatus, _) = await RawAsync(server, viewer, HttpMethod.Get, "api/v1/stores/NoSuchStore/invoices");
        var (notFoundStatus, notFound) = await RawAsync(server, viewer, HttpMethod.Get, $"api/v1/stores/{server.StoreId}/invoices/NoSuchInvoice");

        Assert.Equal(HttpStatusCode.Unauthorized, unknownStatus);
        Assert.Equal("unauthenticated", unknown!["code"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.Forbidden, forbiddenStatus);
        Assert.Equal("missing-permission", forbidden!["code"]!.GetValue<string>());
        Assert.Equal("btcpay.store.cancreateinvoice", forbidden["missingPermission"]!.GetValue<string>());
        Assert.Contains("\"btcpay.store.cancreateinvoice\"", forbidden["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, noStoreStatus);
        Assert.Equal(HttpStatusCode.NotFound, notFoundStatus);
        Assert.Equal("invoice-not-found", notFound!["code"]!.GetValue<string>());
        Assert.Empty(server.Invoices);
    }

    [Fact]
    public async Task Bad_requests_get_422_with_a_list_of_field_errors()
    {
        await using var server = await SandboxBtcPayServer.StartAsync();
        var key = server.CreateApiKey("unrestricted");

        var (status, errors) = await RawAsync(server, key, HttpMethod.Post, $"api/v1/stores/{server.StoreId}/invoices",
            """{"amount":"-1","currency":"SATS","checkout":{"paymentMethods":["BTC-CHAIN"],"expirationMinutes":0.1}}""");

        Assert.Equal(HttpStatusCode.UnprocessableEntity, status);
        var paths = errors!.AsArray().Select(e => e!["path"]!.GetValue<string>()).ToList();
        Assert.Equal(["amount", "checkout.paymentMethods[0]", "checkout.expirationMinutes"], paths);
    }

    [Fact]
    public async Task Invoices_use_both_route_forms_and_payment_method_amounts_are_in_btc()
    {
        await using var server = await SandboxBtcPayServer.StartAsync();
        var key = server.CreateApiKey("unrestricted");
        var (_, invoice) = await RawAsync(server, key, HttpMethod.Post, $"api/v1/stores/{server.StoreId}/invoices", """{"amount":"2100","currency":"SATS"}""");
        var id = invoice!["id"]!.GetValue<string>();
        await server.PayAsync(id, 1_234_567);

        var (_, prefixed) = await RawAsync(server, key, HttpMethod.Get, $"api/v1/stores/{server.StoreId}/invoices/{id}/payment-methods");
        var (_, storeless) = await RawAsync(server, key, HttpMethod.Get, $"api/v1/invoices/{id}/payment-methods");
        var method = prefixed![0]!;

        Assert.Equal(prefixed.ToJsonString(), storeless!.ToJsonString());
        Assert.Equal("2100", invoice["amount"]!.GetValue<string>());
        Assert.Equal("BTC-LN", method["paymentMethodId"]!.GetValue<string>());
        Assert.Equal("0.00002100", method["amount"]!.GetValue<string>());
        Assert.Equal("0.00001234567", method["totalPaid"]!.GetValue<string>());
        Assert.Equal("0.00000865433", method["due"]!.GetValue<string>());
        Assert.Equal("lightning:" + server.Invoices[0].Bolt11, method["paymentLink"]!.GetValue<string>());
    }

    [Fact]
    public async Task Invoices_expire_on_the_clock_with_paid_partial_when_money_came_in()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero));
        await using var server = await SandboxBtcPayServer.StartAsync(new SandboxBtcPayOptions { TimeProvider = clock });
        var key = server.CreateApiKey("unrestricted");
        var (_, unpaid) = await RawAsync(server, key, HttpMethod.Post, $"api/v1/stores/{server.StoreId}/invoices",
            """{"amount":"1000","currency":"SATS","checkout":{"expirationMinutes":5}}""");
        var (_, partly) = await RawAsync(server, key, HttpMethod.Post, $"api/v1/stores/{server.StoreId}/invoices",
            """{"amount":"1000","currency":"SATS","checkout":{"expirationMinutes":5}}""");
        await server.PayAsync(partly!["id"]!.GetValue<string>(), 10_000);

        clock.Advance(TimeSpan.FromMinutes(5));

        var byId = server.Invoices.ToDictionary(i => i.Id);
        Assert.Equal(("Expired", "None"), (byId[unpaid!["id"]!.GetValue<string>()].Status, byId[unpaid["id"]!.GetValue<string>()].AdditionalStatus));
        Assert.Equal(("Expired", "PaidPartial"), (byId[partly["id"]!.GetValue<string>()].Status, byId[partly["id"]!.GetValue<string>()].AdditionalStatus));
        Assert.Equal(300, unpaid["expirationTime"]!.GetValue<long>() - unpaid["createdTime"]!.GetValue<long>());
    }

    [Fact]
    public async Task A_webhook_secret_is_shown_only_when_it_is_created()
    {
        await using var server = await SandboxBtcPayServer.StartAsync();
        var key = server.CreateApiKey("btcpay.store.webhooks.canmodifywebhooks");

        var (_, created) = await RawAsync(server, key, HttpMethod.Post, $"api/v1/stores/{server.StoreId}/webhooks", """{"url":"https://bot.example.org/webhooks/btcpay"}""");
        var (_, read) = await RawAsync(server, key, HttpMethod.Get, $"api/v1/stores/{server.StoreId}/webhooks/{created!["id"]!.GetValue<string>()}");
        var (_, list) = await RawAsync(server, key, HttpMethod.Get, $"api/v1/stores/{server.StoreId}/webhooks");

        Assert.False(string.IsNullOrEmpty(created["secret"]?.GetValue<string>()));
        Assert.Null(read!["secret"]);
        Assert.Null(list![0]!["secret"]);
        Assert.Equal(created["secret"]!.GetValue<string>(), Assert.Single(server.Webhooks).Secret);
    }

    [Fact]
    public async Task Deliveries_are_indented_json_signed_over_the_exact_bytes_sent()
    {
        await using var receiver = await WebhookRecorder.StartAsync();
        await using var server = await SandboxBtcPayServer.StartAsync();
        var key = server.CreateApiKey("unrestricted");
        await RawAsync(server, key, HttpMethod.Post, $"api/v1/stores/{server.StoreId}/webhooks",
            $$$"""{"url":"{{{receiver.Url}}}","secret":"s3cret","authorizedEvents":{"everything":false,"specificEvents":["InvoiceSettled"]}}""");
        var (_, invoice) = await RawAsync(server, key, HttpMethod.Post, $"api/v1/stores/{server.StoreId}/invoices",
            """{"amount":"1000","currency":"SATS","metadata":{"orderId":"o-7"}}""");

        await server.PayAsync(invoice!["id"]!.GetValue<string>(), 1_500_000);
        await EventuallyAsync(() => receiver.Received.Count == 1, "the delivery");

        var (body, signature) = receiver.Received[0];
        var json = JsonNode.Parse(body)!;
        Assert.Equal(Sign(body, "s3cret"), signature);
        Assert.Equal(server.Deliveries[0].Body, body);
        Assert.Contains("\n  \"deliveryId\": ", Encoding.UTF8.GetString(body), StringComparison.Ordinal);
        Assert.NotEqual(0xEF, body[0]);
        Assert.Equal("InvoiceSettled", json["type"]!.GetValue<string>());
        Assert.True(json["overPaid"]!.GetValue<bool>());
        Assert.Equal("o-7", json["metadata"]!["orderId"]!.GetValue<string>());
        Assert.Equal(json["deliveryId"]!.GetValue<string>(), json["originalDeliveryId"]!.GetValue<string>());
        Assert.False(json["isRedelivery"]!.GetValue<bool>());
    }

    [Theory]
    [InlineData(503, 3)]
    [InlineData(500, 3)]
    [InlineData(429, 3)]
    [InlineData(408, 3)]
    [InlineData(0, 3)]
    [InlineData(404, 1)]
    [InlineData(401, 1)]
    [InlineData(400, 1)]
    public async Task Only_5xx_408_429_and_network_errors_are_retried_each_time_as_a_new_delivery(int failure, int attempts)
    {
        await using var receiver = await WebhookRecorder.StartAsync();
        await using var server = await SandboxBtcPayServer.StartAsync(new SandboxBtcPayOptions
        {
            RedeliverySchedule = [TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(50)],
        });
        var key = server.CreateApiKey("unrestricted");
        await RawAsync(server, key, HttpMethod.Post, $"api/v1/stores/{server.StoreId}/webhooks", $$"""{"url":"{{receiver.Url}}"}""");
        server.FailWebhookDeliveries(failure, 2);

        await RawAsync(server, key, HttpMethod.Post, $"api/v1/stores/{server.StoreId}/invoices", """{"amount":"1000","currency":"SATS"}""");
        await EventuallyAsync(() => server.Deliveries.Count >= attempts, $"{attempts} attempts");
        await Task.Delay(300);

        var deliveries = server.Deliveries;
        Assert.Equal(attempts, deliveries.Count);
        Assert.Equal(attempts, deliveries.Select(d => d.DeliveryId).Distinct().Count());
        Assert.All(deliveries, d => Assert.Equal(deliveries[0].DeliveryId, d.OriginalDeliveryId));
        Assert.Equal([false, .. Enumerable.Repeat(true, attempts - 1)], deliveries.Select(d => d.IsRedelivery));
        Assert.Equal(attempts == 3 ? 1 : 0, receiver.Received.Count);
        if (attempts == 3)
        {
            var redelivered = JsonNode.Parse(receiver.Received[0].Body)!;
            Assert.True(redelivered["isRedelivery"]!.GetValue<bool>());
            Assert.Equal(deliveries[0].DeliveryId, redelivered["originalDeliveryId"]!.GetValue<string>());
            Assert.Equal(deliveries[2].DeliveryId, redelivered["deliveryId"]!.GetValue<string>());
        }
    }

    [Fact]
    public async Task Retries_follow_btcpays_schedule_by_default_and_stop_after_eight()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero));
        await using var receiver = await WebhookRecorder.StartAsync();
        await using var server = await SandboxBtcPayServer.StartAsync(new SandboxBtcPayOptions { TimeProvider = clock });
        var key = server.CreateApiKey("unrestricted");
        await RawAsync(server, key, HttpMethod.Post, $"api/v1/stores/{server.StoreId}/webhooks", $$"""{"url":"{{receiver.Url}}"}""");
        server.FailWebhookDeliveries(502, 100);

        // Expiring after the retries end: its InvoiceExpired would wait behind them (one webhook's deliveries go in order).
        await RawAsync(server, key, HttpMethod.Post, $"api/v1/stores/{server.StoreId}/invoices", """{"amount":"1000","currency":"SATS","checkout":{"expirationMinutes":1440}}""");
        var waits = new[] { 10, 60, 600, 600, 600, 600, 600, 600 };
        for (var i = 0; i < waits.Length; i++)
        {
            await EventuallyAsync(() => server.Deliveries.Count == i + 1, $"attempt {i + 1}");
            await Task.Delay(200); // let the sender start waiting before the clock moves
            clock.Advance(TimeSpan.FromSeconds(waits[i] - 1));
            await Task.Delay(50);
            Assert.Equal(i + 1, server.Deliveries.Count);
            clock.Advance(TimeSpan.FromSeconds(1));
        }
        await EventuallyAsync(() => server.Deliveries.Count == 9, "the last attempt");
        clock.Advance(TimeSpan.FromHours(1));
        await Task.Delay(100);

        Assert.Equal(9, server.Deliveries.Count);
        Assert.Equal(waits, server.Deliveries.Zip(server.Deliveries.Skip(1), (a, b) => (int)(b.At - a.At).TotalSeconds));
    }

    internal static async Task<(HttpStatusCode Status, JsonNode? Body)> RawAsync(SandboxBtcPayServer server, string apiKey, HttpMethod method, string path, string? json = null)
    {
        var (status, body) = await GreenfieldAsync(server, apiKey, method, path, json);
        return (status, body.Length > 0 ? JsonNode.Parse(body) : null);
    }

    /// <summary>One Greenfield request with the API key, as a client sends it; the answer's status and body text.</summary>
    internal static async Task<(HttpStatusCode Status, string Body)> GreenfieldAsync(SandboxBtcPayServer server, string apiKey, HttpMethod method, string path, string? json = null)
    {
        using var http = new HttpClient { BaseAddress = server.Url };
        using var request = new HttpRequestMessage(method, path);
        request.Headers.TryAddWithoutValidation("Authorization", "token " + apiKey);
        if (json is not null)
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        using var response = await http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>A webhook receiver that answers 200 and keeps each body's bytes and its BTCPay-Sig header.</summary>
    internal sealed class WebhookRecorder : IAsyncDisposable
    {
        private readonly WebApplication app;
        private readonly List<(byte[] Body, string? Signature)> received = [];

        private WebhookRecorder(WebApplication app, string url)
        {
            this.app = app;
            Url = url;
        }

        public string Url { get; }

        public IReadOnlyList<(byte[] Body, string? Signature)> Received
        {
            get
            {
                lock (received)
                    return [.. received];
            }
        }

        public static async Task<WebhookRecorder> StartAsync()
        {
            using var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            var port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, port));
            builder.Logging.ClearProviders();
            var app = builder.Build();
            var recorder = new WebhookRecorder(app, $"http://127.0.0.1:{port}/hook");
            app.MapPost("/hook", async (HttpContext context) =>
            {
                using var buffer = new MemoryStream();
                await context.Request.Body.CopyToAsync(buffer);
                lock (recorder.received)
                    recorder.received.Add((buffer.ToArray(), context.Request.Headers["BTCPay-Sig"].ToString()));
                return Results.Ok();
            });
            await app.StartAsync();
            return recorder;
        }

        public async ValueTask DisposeAsync()
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }
}
