using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Doorman.Access;
using Doorman.Payments.BtcPay;
using Doorman.Sandbox.BtcPay;
using Doorman.Tests.Support;
using static Doorman.Tests.Payments.BtcPay.BtcPayTestBot;

namespace Doorman.Tests.Payments.BtcPay;

/// <summary>
/// The webhook endpoint on a real Kestrel host: deliveries from the sandbox BTCPay, and forged, replayed or
/// re-serialized ones posted by hand.
/// </summary>
public sealed class BtcPayWebhookTests
{
    private const string Secret = "operator-made-webhook-secret";

    [Fact]
    public async Task A_signed_delivery_makes_the_feed_yield_the_invoice_as_the_API_reports_it()
    {
        await using var server = await SandboxBtcPayServer.StartAsync();
        await using var bot = await StartAsync(server, registerWebhook: true);
        await using var feed = await FeedReader.OpenAsync(bot.Backend, null);
        var created = await bot.Backend.CreateInvoiceAsync(Request(8_000_000), CancellationToken.None);

        await server.PayAsync(created.Bolt11);
        var update = await feed.NextAsync();

        Assert.Equal(new InvoiceUpdate(created.Reference, InvoiceState.Settled, 8_000_000, 8_000_000, null), update);
        await EventuallyAsync(() => server.Deliveries.Any(d => d.Type == "InvoiceSettled" && d.StatusCode == 200), "the InvoiceSettled delivery");
        Assert.All(server.Deliveries, d => Assert.Equal(200, d.StatusCode));
        Assert.DoesNotContain(server.Deliveries, d => d.Type == "InvoiceCreated");
    }

    [Fact]
    public async Task The_feed_rereads_the_invoice_instead_of_trusting_the_delivery()
    {
        await using var server = await SandboxBtcPayServer.StartAsync();
        await using var bot = await StartAsync(server, settings: new Dictionary<string, string?> { ["WebhookSecret"] = Secret });
        await using var feed = await FeedReader.OpenAsync(bot.Backend, null);
        var created = await bot.Backend.CreateInvoiceAsync(Request(8_000_000), CancellationToken.None);

        // Correctly signed (the secret leaked, say) but lying: the invoice is not paid.
        var lie = Delivery(server.StoreId, created.Reference, "InvoiceSettled", extra: new JsonObject { ["overPaid"] = false });
        Assert.Equal(HttpStatusCode.OK, await PostAsync(bot, lie, Sign(lie, Secret)));
        var update = await feed.NextAsync();

        Assert.Equal(InvoiceState.Open, update.State);
        Assert.Equal(0, update.PaidMsat);
    }

    [Fact]
    public async Task Forged_unsigned_and_reserialized_deliveries_are_refused_with_401_and_nothing_is_queued()
    {
        await using var server = await SandboxBtcPayServer.StartAsync();
        await using var bot = await StartAsync(server, settings: new Dictionary<string, string?> { ["WebhookSecret"] = Secret });
        var body = Delivery(server.StoreId, "InvoiceId1234567890123", "InvoiceSettled");
        var signature = Sign(body, Secret);
        var compact = Encoding.UTF8.GetBytes(JsonNode.Parse(body)!.ToJsonString());
        var reindented = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(body).Replace("\n  ", "\n    ", StringComparison.Ordinal));

        Assert.Equal(HttpStatusCode.Unauthorized, await PostAsync(bot, body, Sign(body, "a guessed secret")));
        Assert.Equal(HttpStatusCode.Unauthorized, await PostAsync(bot, body, signature: null));
        Assert.Equal(HttpStatusCode.Unauthorized, await PostAsync(bot, body, "sha256=" + new string('0', 64)));
        Assert.Equal(HttpStatusCode.Unauthorized, await PostAsync(bot, body, signature.ToUpperInvariant().Replace("SHA256=", "sha1=", StringComparison.Ordinal)));
        Assert.Equal(HttpStatusCode.Unauthorized, await PostAsync(bot, compact, signature));
        Assert.Equal(HttpStatusCode.Unauthorized, await PostAsync(bot, reindented, signature));
        Assert.Equal(0, bot.Inbox.Pending);

        // The same bytes with their own signature go through: the refusals above were the signature's doing.
        Assert.Equal(HttpStatusCode.OK, await PostAsync(bot, body, signature));
        Assert.Equal(1, bot.Inbox.Pending);
    }

    [Fact]
    public async Task A_replayed_delivery_is_acknowledged_and_ignored_and_a_redelivery_is_accepted()
    {
        await using var server = await SandboxBtcPayServer.StartAsync();
        await using var bot = await StartAsync(server, settings: new Dictionary<string, string?> { ["WebhookSecret"] = Secret });
        var first = Delivery(server.StoreId, "InvoiceId1234567890123", "InvoiceSettled", deliveryId: "delivery-1");
        var redelivery = Delivery(server.StoreId, "InvoiceId1234567890123", "InvoiceSettled", deliveryId: "delivery-2", originalDeliveryId: "delivery-1");

        Assert.Equal(HttpStatusCode.OK, await PostAsync(bot, first, Sign(first, Secret)));
        Assert.Equal(HttpStatusCode.OK, await PostAsync(bot, first, Sign(first, Secret)));
        Assert.Equal(1, bot.Inbox.Pending);
        Assert.Equal(HttpStatusCode.OK, await PostAsync(bot, redelivery, Sign(redelivery, Secret)));
        Assert.Equal(2, bot.Inbox.Pending);
    }

    [Fact]
    public async Task Replays_are_recognised_after_a_restart()
    {
        await using var server = await SandboxBtcPayServer.StartAsync();
        using var folder = new TempDirectory();
        var settings = new Dictionary<string, string?> { ["WebhookSecret"] = Secret };
        var body = Delivery(server.StoreId, "InvoiceId1234567890123", "InvoiceSettled");
        await using (var before = await StartAsync(server, settings: settings, databaseFolder: folder))
            Assert.Equal(HttpStatusCode.OK, await PostAsync(before, body, Sign(body, Secret)));

        await using var after = await StartAsync(server, settings: settings, databaseFolder: folder);
        Assert.Equal(HttpStatusCode.OK, await PostAsync(after, body, Sign(body, Secret)));

        Assert.Equal(0, after.Inbox.Pending);
    }

    [Fact]
    public async Task Events_that_are_not_about_this_stores_invoices_are_acknowledged_and_ignored()
    {
        await using var server = await SandboxBtcPayServer.StartAsync();
        await using var bot = await StartAsync(server, settings: new Dictionary<string, string?> { ["WebhookSecret"] = Secret });
        var payout = Delivery(server.StoreId, "x", "PayoutCreated");
        var otherStore = Delivery("AnotherStoreId", "InvoiceId1234567890123", "InvoiceSettled");
        var garbage = Encoding.UTF8.GetBytes("{ not json");

        Assert.Equal(HttpStatusCode.OK, await PostAsync(bot, payout, Sign(payout, Secret)));
        Assert.Equal(HttpStatusCode.OK, await PostAsync(bot, otherStore, Sign(otherStore, Secret)));
        Assert.Equal(HttpStatusCode.BadRequest, await PostAsync(bot, garbage, Sign(garbage, Secret)));
        Assert.Equal(0, bot.Inbox.Pending);
    }

    [Fact]
    public async Task Without_a_secret_every_delivery_is_refused()
    {
        await using var server = await SandboxBtcPayServer.StartAsync();
        await using var bot = await StartAsync(server);
        var body = Delivery(server.StoreId, "InvoiceId1234567890123", "InvoiceSettled");

        Assert.Equal(HttpStatusCode.Unauthorized, await PostAsync(bot, body, Sign(body, "")));
        Assert.Equal(0, bot.Inbox.Pending);
    }

    [Fact]
    public async Task A_delivery_the_bot_fails_is_retried_with_a_new_delivery_id_and_then_accepted()
    {
        await using var server = await SandboxBtcPayServer.StartAsync(new SandboxBtcPayOptions { RedeliverySchedule = [TimeSpan.FromMilliseconds(200)] });
        await using var bot = await StartAsync(server, registerWebhook: true);
        await using var feed = await FeedReader.OpenAsync(bot.Backend, null);
        var created = await bot.Backend.CreateInvoiceAsync(Request(3_000_000), CancellationToken.None);
        server.MarkInvoice(created.Reference, "Invalid");
        await EventuallyAsync(() => server.Deliveries.Count == 1, "the InvoiceInvalid delivery");
        Assert.Equal(InvoiceState.Canceled, (await feed.NextAsync()).State);

        bot.FailWebhooks(1);
        var paid = await bot.Backend.CreateInvoiceAsync(Request(3_000_000), CancellationToken.None);
        server.MarkInvoice(paid.Reference, "Settled");
        var update = await feed.NextAsync();
        await EventuallyAsync(() => server.Deliveries.Count == 3, "the redelivery");

        var failed = server.Deliveries[1];
        var retried = server.Deliveries[2];
        Assert.Equal((500, false), (failed.StatusCode!.Value, failed.IsRedelivery));
        Assert.Equal((200, true), (retried.StatusCode!.Value, retried.IsRedelivery));
        Assert.NotEqual(failed.DeliveryId, retried.DeliveryId);
        Assert.Equal(failed.DeliveryId, retried.OriginalDeliveryId);
        Assert.Equal([200, 500, 200], bot.WebhookAnswers);
        Assert.Equal(new InvoiceUpdate(paid.Reference, InvoiceState.Settled, 3_000_000, 3_000_000, null), update);
    }

    [Fact]
    public async Task Registering_again_after_a_restart_keeps_one_webhook_at_btcpay()
    {
        await using var server = await SandboxBtcPayServer.StartAsync();
        using var folder = new TempDirectory();
        int port;
        string secret;
        await using (var first = await StartAsync(server, registerWebhook: true, databaseFolder: folder))
        {
            await first.Backend.EnsureWebhookAsync(CancellationToken.None);
            await first.Backend.EnsureWebhookAsync(CancellationToken.None);
            port = first.Url.Port;
            secret = Assert.Single(server.Webhooks).Secret;
        }

        await using var second = await StartAsync(server, registerWebhook: true, databaseFolder: folder, port: port);
        await second.Backend.EnsureWebhookAsync(CancellationToken.None);

        var hook = Assert.Single(server.Webhooks);
        Assert.Equal(secret, hook.Secret);
        Assert.Equal(new Uri(second.Url, BtcPayWebhookEndpoint.Path).ToString(), hook.Url);
        Assert.True(hook.Enabled && hook.AutomaticRedelivery);
        Assert.Equal(BtcPayPaymentBackend.InvoiceEvents, hook.SpecificEvents);
        Assert.Single(server.Exchanges, e => e.Method == "POST" && e.Path.EndsWith("/webhooks", StringComparison.Ordinal));
        Assert.DoesNotContain(server.Exchanges, e => e.Method is "PUT" or "DELETE");
    }

    [Fact]
    public async Task A_bot_that_lost_its_secret_gives_its_webhook_a_new_one_and_deliveries_verify()
    {
        await using var server = await SandboxBtcPayServer.StartAsync();
        int port;
        await using (var first = await StartAsync(server, registerWebhook: true))
        {
            await first.Backend.EnsureWebhookAsync(CancellationToken.None);
            port = first.Url.Port;
        }
        var oldSecret = Assert.Single(server.Webhooks).Secret;

        // A new database: no stored id or secret. The webhook is found by its URL and re-keyed, not duplicated.
        await using var second = await StartAsync(server, registerWebhook: true, port: port);
        await using var feed = await FeedReader.OpenAsync(second.Backend, null);
        var created = await second.Backend.CreateInvoiceAsync(Request(1_000_000), CancellationToken.None);
        await server.PayAsync(created.Bolt11);

        Assert.Equal(InvoiceState.Settled, (await feed.NextAsync()).State);
        var hook = Assert.Single(server.Webhooks);
        Assert.NotEqual(oldSecret, hook.Secret);
        Assert.Equal(hook.Secret, await second.State.GetAsync($"btcpay.{server.StoreId}.webhook.secret", CancellationToken.None));
    }

    [Fact]
    public async Task A_webhook_deleted_at_btcpay_is_registered_again_and_duplicates_are_removed()
    {
        await using var server = await SandboxBtcPayServer.StartAsync();
        await using var bot = await StartAsync(server, registerWebhook: true);
        await bot.Backend.EnsureWebhookAsync(CancellationToken.None);
        var admin = server.CreateApiKey("unrestricted");
        var original = Assert.Single(server.Webhooks).Id;

        await SendAsync(server, admin, HttpMethod.Delete, $"api/v1/stores/{server.StoreId}/webhooks/{original}");
        await bot.Backend.EnsureWebhookAsync(CancellationToken.None);
        var recreated = Assert.Single(server.Webhooks).Id;
        var url = new Uri(bot.Url, BtcPayWebhookEndpoint.Path).ToString();
        await SendAsync(server, admin, HttpMethod.Post, $"api/v1/stores/{server.StoreId}/webhooks", $$"""{"url":"{{url}}"}""");
        await bot.Backend.EnsureWebhookAsync(CancellationToken.None);

        Assert.NotEqual(original, recreated);
        Assert.Equal(recreated, Assert.Single(server.Webhooks).Id);
    }

    [Fact]
    public async Task A_disabled_webhook_is_enabled_again()
    {
        await using var server = await SandboxBtcPayServer.StartAsync();
        await using var bot = await StartAsync(server, registerWebhook: true);
        await bot.Backend.EnsureWebhookAsync(CancellationToken.None);
        var hook = Assert.Single(server.Webhooks);
        var admin = server.CreateApiKey("unrestricted");

        await SendAsync(server, admin, HttpMethod.Put, $"api/v1/stores/{server.StoreId}/webhooks/{hook.Id}", $$"""{"url":"{{hook.Url}}","enabled":false}""");
        Assert.False(Assert.Single(server.Webhooks).Enabled);
        await bot.Backend.EnsureWebhookAsync(CancellationToken.None);

        var after = Assert.Single(server.Webhooks);
        Assert.True(after.Enabled);
        Assert.Equal(hook.Secret, after.Secret);
        Assert.Equal(BtcPayPaymentBackend.InvoiceEvents, after.SpecificEvents);
    }

    /// <summary>A delivery body as BTCPay writes one: indented, camelCase.</summary>
    internal static byte[] Delivery(string storeId, string invoiceId, string type, string? deliveryId = null, string? originalDeliveryId = null,
        JsonObject? extra = null)
    {
        deliveryId ??= Guid.NewGuid().ToString("N");
        var body = new JsonObject
        {
            ["deliveryId"] = deliveryId,
            ["webhookId"] = "WebhookId1234567890123",
            ["originalDeliveryId"] = originalDeliveryId ?? deliveryId,
            ["isRedelivery"] = originalDeliveryId is not null,
            ["type"] = type,
            ["timestamp"] = 1_780_000_000,
            ["storeId"] = storeId,
            ["invoiceId"] = invoiceId,
            ["metadata"] = new JsonObject { ["orderId"] = "order-1" },
        };
        foreach (var (name, value) in extra ?? [])
            body[name] = value?.DeepClone();
        return Encoding.UTF8.GetBytes(body.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>BTCPay's signature, computed here independently of the bot's code.</summary>
    internal static string Sign(byte[] body, string secret) =>
        "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body));

    internal static async Task<HttpStatusCode> PostAsync(BtcPayTestBot bot, byte[] body, string? signature)
    {
        using var http = new HttpClient { BaseAddress = bot.Url };
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        if (signature is not null)
            content.Headers.Add("BTCPay-Sig", signature);
        using var response = await http.PostAsync(BtcPayWebhookEndpoint.Path, content);
        return response.StatusCode;
    }

    internal static async Task<string> SendAsync(SandboxBtcPayServer server, string apiKey, HttpMethod method, string path, string? json = null)
    {
        var (status, body) = await SandboxBtcPayServerTests.GreenfieldAsync(server, apiKey, method, path, json);
        Assert.True((int)status is >= 200 and < 300, $"{method} {path}: {(int)status} {body}");
        return body;
    }
}
