using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Doorman.Sandbox.BtcPay;

/// <summary>
/// The Greenfield routes the sandbox serves, in both forms BTCPay 2.4 accepts: store-prefixed
/// (<c>/api/v1/stores/{storeId}/invoices/{invoiceId}</c>, the only one before 2.4.0) and storeless
/// (<c>/api/v1/invoices/{invoiceId}</c>, the store found from the invoice). Authentication, permissions and error
/// shapes follow BTCPay: 401 <c>unauthenticated</c>, 403 <c>missing-permission</c> naming the permission, 404
/// <c>invoice-not-found</c>/<c>webhook-not-found</c>/<c>store-not-found</c>, 422 with a list of field errors.
/// </summary>
internal sealed class SandboxBtcPayApi(SandboxBtcPayEngine engine, SandboxBtcPayOptions options, Func<Uri> baseUrl)
{
    public const string CanCreateInvoice = "btcpay.store.cancreateinvoice";
    public const string CanViewInvoices = "btcpay.store.canviewinvoices";
    public const string CanModifyInvoices = "btcpay.store.canmodifyinvoices";
    public const string CanModifyWebhooks = "btcpay.store.webhooks.canmodifywebhooks";

    // BTCPayServer.Client/Permissions.cs Permission.Init, the part that matters here.
    private static readonly Dictionary<string, string[]> Children = new(StringComparer.Ordinal)
    {
        ["btcpay.store.canmodifystoresettings"] = [CanModifyInvoices, "btcpay.store.canviewstoresettings", CanModifyWebhooks],
        [CanModifyInvoices] = [CanViewInvoices, CanCreateInvoice],
        ["btcpay.store.canviewstoresettings"] = [CanViewInvoices],
    };

    private static readonly string[] KnownEvents =
    [
        "InvoiceCreated", "InvoiceReceivedPayment", "InvoiceProcessing", "InvoiceExpired", "InvoiceSettled", "InvoiceInvalid",
        "InvoicePaymentSettled", "PaymentRequestCreated", "PaymentRequestUpdated", "PaymentRequestArchived", "PaymentRequestStatusChanged",
        "PayoutCreated", "PayoutApproved", "PayoutUpdated",
    ];

    public void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/api/v1/api-keys/current", CurrentKey);

        app.MapGet("/api/v1/stores/{storeId}/invoices", ListInvoices);
        app.MapPost("/api/v1/stores/{storeId}/invoices", CreateInvoice);
        foreach (var prefix in new[] { "/api/v1/stores/{storeId}/invoices/{invoiceId}", "/api/v1/invoices/{invoiceId}" })
        {
            app.MapGet(prefix, GetInvoice);
            app.MapGet(prefix + "/payment-methods", GetPaymentMethods);
            app.MapPost(prefix + "/payment-methods/{paymentMethodId}/activate", Activate);
            app.MapPost(prefix + "/status", MarkStatus);
        }

        app.MapGet("/api/v1/stores/{storeId}/webhooks", ListWebhooks);
        app.MapPost("/api/v1/stores/{storeId}/webhooks", CreateWebhook);
        foreach (var path in new[] { "/api/v1/stores/{storeId}/webhooks/{webhookId}", "/api/v1/webhooks/{webhookId}" })
        {
            app.MapGet(path, GetWebhook);
            app.MapPut(path, UpdateWebhook);
            app.MapDelete(path, DeleteWebhook);
        }
    }

    private IResult CurrentKey(HttpContext context)
    {
        // The controller has no policy: any valid key may read itself (the swagger's canmanageusers is a doc quirk).
        if (Authenticate(context, out var key) is { } refusal)
            return refusal;
        return Json(new JsonObject
        {
            ["apiKey"] = key,
            ["label"] = "doorman sandbox key",
            ["permissions"] = new JsonArray([.. engine.Permissions(key)!.Select(p => (JsonNode)p)]),
        });
    }

    private IResult ListInvoices(HttpContext context, string storeId)
    {
        if (Authorize(context, storeId, CanViewInvoices) is { } refusal)
            return refusal;
        var query = context.Request.Query;
        var orderIds = query["orderId"].Where(v => v is not null).ToHashSet(StringComparer.Ordinal);
        var statuses = query["status"].Where(v => v is not null).ToHashSet(StringComparer.Ordinal);
        var skip = int.TryParse(query["skip"], CultureInfo.InvariantCulture, out var s) ? s : 0;
        var take = int.TryParse(query["take"], CultureInfo.InvariantCulture, out var t) ? t : int.MaxValue;
        var list = engine.List(storeId)
            .Where(i => orderIds.Count == 0 || orderIds.Contains(i.Metadata["orderId"]?.GetValue<string>() ?? ""))
            .Where(i => statuses.Count == 0 || statuses.Contains(i.Status))
            .Skip(skip).Take(take);
        return Json(new JsonArray([.. list.Select(i => (JsonNode)InvoiceJson(i))]));
    }

    private async Task<IResult> CreateInvoice(HttpContext context, string storeId)
    {
        if (Authorize(context, storeId, CanCreateInvoice) is { } refusal)
            return refusal;
        var body = await ReadObjectAsync(context);
        if (body is null)
            return ValidationError(("", "The request body is not a JSON object"));

        var errors = new List<(string Path, string Message)>();
        decimal? amount = ReadDecimal(body["amount"], out var amountValid);
        if (!amountValid)
            errors.Add(("amount", "The amount is not a number"));
        else if (amount is null)
            errors.Add(("amount", "The sandbox makes invoices with an amount only (no top-up invoices)"));
        else if (amount < 0)
            errors.Add(("amount", "The amount should be 0 or more."));
        var currency = (body["currency"]?.GetValue<string>() ?? "SATS").ToUpperInvariant();

        var checkout = body["checkout"] as JsonObject;
        if (checkout?["paymentMethods"] is JsonArray methods)
        {
            for (var i = 0; i < methods.Count; i++)
            {
                var id = methods[i]?.GetValue<string>();
                if (id is null || !IsLightningId(id))
                    errors.Add(($"checkout.paymentMethods[{i}]", "Invalid PaymentMethodId"));
            }
        }
        var expiration = TimeSpan.FromMinutes(15);
        if (checkout?["expirationMinutes"] is JsonNode minutes)
        {
            expiration = TimeSpan.FromMinutes(minutes.GetValue<double>());
            if (expiration < TimeSpan.FromSeconds(30))
                errors.Add(("checkout.expirationMinutes", "Expiration time must be at least 30 seconds"));
        }
        var monitoring = checkout?["monitoringMinutes"] is JsonNode m ? TimeSpan.FromMinutes(m.GetValue<double>()) : TimeSpan.FromMinutes(1440);
        if (errors.Count > 0)
            return ValidationError([.. errors]);

        long amountMsat;
        switch (currency)
        {
            case "SATS":
                amountMsat = decimal.ToInt64(decimal.Round(amount!.Value, 3) * 1000);
                break;
            case "BTC":
                amountMsat = decimal.ToInt64(decimal.Round(amount!.Value, 11) * 100_000_000_000m);
                break;
            default:
                // BTCPay needs an exchange rate for anything else; the sandbox has none.
                return Error(400, "generic-error", $"Currency {currency} is not supported by the sandbox (use SATS or BTC)");
        }
        if (amountMsat <= 0)
            return Error(400, "generic-error", "The sandbox cannot make a free invoice");

        var lazy = options.ForceLazyPaymentMethods || (checkout?["lazyPaymentMethods"]?.GetValue<bool>() ?? false);
        var metadata = body["metadata"] as JsonObject ?? [];
        var entry = engine.Create(new SandboxBtcPayEngine.NewInvoice(
            storeId, amountMsat, currency, (JsonObject)metadata.DeepClone(), expiration, monitoring, lazy, amount!.Value));
        return Json(InvoiceJson(entry));
    }

    private IResult GetInvoice(HttpContext context, string invoiceId, string? storeId = null) =>
        WithInvoice(context, storeId, invoiceId, CanViewInvoices, entry => Json(InvoiceJson(entry)));

    private IResult GetPaymentMethods(HttpContext context, string invoiceId, string? storeId = null) =>
        WithInvoice(context, storeId, invoiceId, CanViewInvoices, entry => Json(PaymentMethodsJson(entry)));

    private IResult Activate(HttpContext context, string invoiceId, string paymentMethodId, string? storeId = null) =>
        WithInvoice(context, storeId, invoiceId, CanViewInvoices, entry =>
        {
            if (!IsLightningId(paymentMethodId))
                return ValidationError(("paymentMethod", "Invalid payment method"));
            engine.Activate(entry);
            return Results.Ok();
        });

    private async Task<IResult> MarkStatus(HttpContext context, string invoiceId, string? storeId = null)
    {
        var body = await ReadObjectAsync(context);
        return WithInvoice(context, storeId, invoiceId, CanModifyInvoices, entry =>
        {
            var status = body?["status"]?.GetValue<string>();
            if (status is not ("Invalid" or "Settled") || !engine.Mark(entry, status))
                return ValidationError(("status", "Status can only be marked to invalid or settled within certain conditions."));
            return Json(InvoiceJson(entry));
        });
    }

    private IResult ListWebhooks(HttpContext context, string storeId)
    {
        if (Authorize(context, storeId, CanModifyWebhooks) is { } refusal)
            return refusal;
        return Json(new JsonArray([.. engine.Webhooks(storeId).Select(h => (JsonNode)WebhookJson(h, withSecret: false))]));
    }

    private async Task<IResult> CreateWebhook(HttpContext context, string storeId)
    {
        if (Authorize(context, storeId, CanModifyWebhooks) is { } refusal)
            return refusal;
        var (settings, problem) = ReadWebhook(await ReadObjectAsync(context), previousSecret: null);
        if (problem is not null)
            return problem;
        var hook = engine.AddWebhook(storeId, settings!);
        // WebhookDataCreateResult: the only answer that shows the secret (B2).
        return Json(WebhookJson(hook, withSecret: true));
    }

    private IResult GetWebhook(HttpContext context, string webhookId, string? storeId = null) =>
        WithWebhook(context, storeId, webhookId, hook => Json(WebhookJson(hook, withSecret: false)));

    private async Task<IResult> UpdateWebhook(HttpContext context, string webhookId, string? storeId = null)
    {
        var body = await ReadObjectAsync(context);
        return WithWebhook(context, storeId, webhookId, hook =>
        {
            // WebhookDataUpdate: a secret left out, null or empty keeps the current one.
            var (settings, problem) = ReadWebhook(body, hook.Settings.Secret);
            if (problem is not null)
                return problem;
            engine.UpdateWebhook(hook, settings!);
            return Json(WebhookJson(hook, withSecret: false));
        });
    }

    private IResult DeleteWebhook(HttpContext context, string webhookId, string? storeId = null) =>
        WithWebhook(context, storeId, webhookId, hook =>
        {
            engine.DeleteWebhook(hook);
            return Results.Ok();
        });

    private IResult WithInvoice(HttpContext context, string? storeId, string invoiceId, string permission, Func<InvoiceEntry, IResult> action)
    {
        var entry = engine.Find(invoiceId);
        if (storeId is null)
        {
            // Storeless route: authenticate first, then resolve the store from the invoice.
            if (Authenticate(context, out _) is { } unauthenticated)
                return unauthenticated;
            if (entry is null)
                return Error(404, "invoice-not-found", "The invoice was not found");
            storeId = entry.StoreId;
        }
        if (Authorize(context, storeId, permission) is { } refusal)
            return refusal;
        if (entry is null || entry.StoreId != storeId)
            return Error(404, "invoice-not-found", "The invoice was not found");
        return action(entry);
    }

    private IResult WithWebhook(HttpContext context, string? storeId, string webhookId, Func<WebhookEntry, IResult> action)
    {
        var hook = engine.FindWebhook(webhookId);
        if (storeId is null)
        {
            if (Authenticate(context, out _) is { } unauthenticated)
                return unauthenticated;
            if (hook is null)
                return Error(404, "webhook-not-found", "The webhook was not found");
            storeId = hook.StoreId;
        }
        if (Authorize(context, storeId, CanModifyWebhooks) is { } refusal)
            return refusal;
        if (hook is null || hook.StoreId != storeId)
            return Error(404, "webhook-not-found", "The webhook was not found");
        return action(hook);
    }

    private static (WebhookSettings? Settings, IResult? Problem) ReadWebhook(JsonObject? body, string? previousSecret)
    {
        if (body is null)
            return (null, ValidationError(("", "The request body is not a JSON object")));
        var url = body["url"]?.GetValue<string>();
        if (url is null || !Uri.TryCreate(url, UriKind.Absolute, out var parsed) || parsed.Scheme is not ("http" or "https"))
            return (null, ValidationError(("url", "Invalid Url")));
        var events = body["authorizedEvents"] as JsonObject;
        var everything = events?["everything"]?.GetValue<bool>() ?? true;
        var specific = (events?["specificEvents"] as JsonArray)?.Select(e => e?.GetValue<string>() ?? "").ToList() ?? [];
        var unknown = specific.Where(e => !KnownEvents.Contains(e, StringComparer.Ordinal)).ToList();
        if (unknown.Count > 0)
            return (null, ValidationError(("authorizedEvents.specificEvents", $"Invalid event type: {string.Join(", ", unknown)}")));
        var secret = body["secret"]?.GetValue<string>();
        if (string.IsNullOrEmpty(secret))
            secret = previousSecret ?? Ids.New(29);
        return (new WebhookSettings(
            body["enabled"]?.GetValue<bool>() ?? true,
            body["automaticRedelivery"]?.GetValue<bool>() ?? true,
            url, everything, specific, secret), null);
    }

    private JsonObject InvoiceJson(InvoiceEntry i)
    {
        var marking = i.Status switch
        {
            "New" or "Expired" => new JsonArray("Settled", "Invalid"),
            "Settled" => new JsonArray("Invalid"),
            "Invalid" => new JsonArray("Settled"),
            _ => new JsonArray(),
        };
        var divisibility = i.Currency == "BTC" ? 8 : 0;
        var paid = i.Currency == "BTC" ? i.PaidMsat / 100_000_000_000m : i.PaidMsat / 1000m;
        return new JsonObject
        {
            ["id"] = i.Id,
            ["storeId"] = i.StoreId,
            ["amount"] = i.Amount.ToString(CultureInfo.InvariantCulture),
            ["paidAmount"] = decimal.Round(paid, divisibility).ToString(CultureInfo.InvariantCulture),
            ["currency"] = i.Currency,
            ["type"] = "Standard",
            ["checkoutLink"] = new Uri(baseUrl(), "/i/" + i.Id).ToString(),
            ["createdTime"] = i.CreatedAt.ToUnixTimeSeconds(),
            ["expirationTime"] = i.ExpiresAt.ToUnixTimeSeconds(),
            ["monitoringExpiration"] = i.MonitoringExpiresAt.ToUnixTimeSeconds(),
            ["status"] = i.Status,
            ["additionalStatus"] = i.AdditionalStatus,
            ["availableStatusesForManualMarking"] = marking,
            ["archived"] = false,
            ["metadata"] = i.Metadata.DeepClone(),
            ["checkout"] = new JsonObject
            {
                ["speedPolicy"] = "MediumSpeed",
                ["paymentMethods"] = new JsonArray(SandboxBtcPayEngine.LightningId),
                ["defaultPaymentMethod"] = SandboxBtcPayEngine.LightningId,
                ["lazyPaymentMethods"] = i.Lazy,
                ["expirationMinutes"] = (long)(i.ExpiresAt - i.CreatedAt).TotalMinutes,
                ["monitoringMinutes"] = (long)(i.MonitoringExpiresAt - i.ExpiresAt).TotalMinutes,
                ["paymentTolerance"] = 0,
                ["redirectURL"] = null,
                ["redirectAutomatically"] = false,
                ["defaultLanguage"] = null,
            },
            ["receipt"] = new JsonObject { ["enabled"] = true, ["showQR"] = null, ["showPayments"] = null },
        };
    }

    /// <summary>One Lightning payment method; amounts in BTC whatever the invoice's currency (B7).</summary>
    private JsonArray PaymentMethodsJson(InvoiceEntry i)
    {
        var method = new JsonObject();
        if (options.LegacyPaymentMethods)
        {
            method["paymentMethod"] = SandboxBtcPayEngine.LegacyLightningId;
            method["cryptoCode"] = "BTC";
        }
        else
        {
            method["paymentMethodId"] = SandboxBtcPayEngine.LightningId;
            method["currency"] = "BTC";
        }
        method["destination"] = i.Activated ? i.Bolt11 : "";
        method["paymentLink"] = i.Activated ? "lightning:" + i.Bolt11.ToLowerInvariant() : "";
        method["rate"] = i.Currency == "BTC" ? "1" : "100000000";
        method["paymentMethodPaid"] = SandboxBtcPayEngine.Btc(i.PaidMsat);
        method["totalPaid"] = SandboxBtcPayEngine.Btc(i.PaidMsat);
        method["due"] = SandboxBtcPayEngine.Btc(i.AmountMsat - i.PaidMsat);
        method["amount"] = SandboxBtcPayEngine.Btc(i.AmountMsat);
        method[options.LegacyPaymentMethods ? "networkFee" : "paymentMethodFee"] = SandboxBtcPayEngine.Btc(0);
        method["payments"] = new JsonArray([.. i.Payments.Select(p => (JsonNode)SandboxBtcPayEngine.PaymentJson(p))]);
        method["activated"] = i.Activated;
        method["additionalData"] = i.Activated ? new JsonObject { ["paymentHash"] = i.PaymentHash } : new JsonObject();
        return [method];
    }

    private static JsonObject WebhookJson(WebhookEntry hook, bool withSecret)
    {
        var s = hook.Settings;
        var json = new JsonObject
        {
            ["id"] = hook.Id,
            ["enabled"] = s.Enabled,
            ["automaticRedelivery"] = s.AutomaticRedelivery,
            ["url"] = s.Url,
            ["authorizedEvents"] = new JsonObject
            {
                ["everything"] = s.Everything,
                ["specificEvents"] = new JsonArray([.. s.SpecificEvents.Select(e => (JsonNode)e)]),
            },
        };
        if (withSecret)
            json["secret"] = s.Secret;
        return json;
    }

    /// <summary>Greenfield's API-key scheme: <c>Authorization: token &lt;key&gt;</c>.</summary>
    private IResult? Authenticate(HttpContext context, out string key)
    {
        key = "";
        var header = context.Request.Headers.Authorization.ToString();
        const string Scheme = "token ";
        if (header.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase))
            key = header[Scheme.Length..].Trim();
        return key.Length > 0 && engine.Permissions(key) is not null
            ? null
            : Error(401, "unauthenticated", "Authentication is required for accessing this endpoint");
    }

    private IResult? Authorize(HttpContext context, string storeId, string permission)
    {
        if (Authenticate(context, out var key) is { } unauthenticated)
            return unauthenticated;
        if (!engine.StoreExists(storeId))
            return Error(404, "store-not-found", "The store was not found");
        var held = engine.Permissions(key)!;
        if (Holds(held, storeId, permission))
            return null;
        var missing = new JsonObject
        {
            ["code"] = "missing-permission",
            ["message"] = $"Insufficient API Permissions. Please use an API key with permission \"{permission}\". You can create an API key in your account's settings / Api Keys.",
            ["missingPermission"] = permission,
        };
        return Json(missing, 403);
    }

    internal static bool Holds(IEnumerable<string> granted, string storeId, string wanted) =>
        granted.Any(entry =>
        {
            var colon = entry.IndexOf(':', StringComparison.Ordinal);
            var policy = colon < 0 ? entry : entry[..colon];
            var scope = colon < 0 ? null : entry[(colon + 1)..];
            return (scope is null || scope == storeId) && Contains(policy.ToLowerInvariant(), wanted);
        });

    private static bool Contains(string policy, string wanted) =>
        policy == "unrestricted" || policy == wanted || (Children.TryGetValue(policy, out var children) && children.Any(c => Contains(c, wanted)));

    /// <summary>PaymentMethodId.TryParse: "BTC-LN" and the old names it still maps to Lightning, separator '-' or '_'.</summary>
    private static bool IsLightningId(string id)
    {
        var parts = id.Split('-', '_');
        return parts.Length == 2 && parts[0].Equals("BTC", StringComparison.OrdinalIgnoreCase)
            && new[] { "LN", "LightningNetwork", "LightningLike", "OffChain" }.Contains(parts[1], StringComparer.OrdinalIgnoreCase);
    }

    private static decimal? ReadDecimal(JsonNode? node, out bool valid)
    {
        valid = true;
        if (node is null)
            return null;
        if (node.GetValueKind() == JsonValueKind.Number)
            return node.GetValue<decimal>();
        if (node.GetValueKind() == JsonValueKind.String
            && decimal.TryParse(node.GetValue<string>(), NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed))
            return parsed;
        valid = false;
        return null;
    }

    private static async Task<JsonObject?> ReadObjectAsync(HttpContext context)
    {
        try
        {
            return await JsonNode.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted) as JsonObject;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static IResult Json(JsonNode body, int status = 200) =>
        Results.Text(body.ToJsonString(), "application/json; charset=utf-8", System.Text.Encoding.UTF8, status);

    private static IResult Error(int status, string code, string message) =>
        Json(new JsonObject { ["code"] = code, ["message"] = message }, status);

    /// <summary>GreenfieldExtensions.CreateValidationError: 422 with <c>[{path, message}]</c> (the swagger says 400).</summary>
    private static IResult ValidationError(params (string Path, string Message)[] errors) =>
        Json(new JsonArray([.. errors.Select(e => (JsonNode)new JsonObject { ["path"] = e.Path, ["message"] = e.Message })]), 422);
}
