using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Doorman.Payments.Bolt11;

namespace Doorman.Sandbox.BtcPay;

/// <summary>
/// The sandbox BTCPay's state and rules: API keys, stores, invoices (SATS or BTC, paid by Lightning with real
/// signed BOLT11s), their statuses as BTCPay's InvoiceWatcher moves them, and webhooks. One lock orders every
/// change; webhook events are handed to the sender in the order they happen.
/// </summary>
internal sealed class SandboxBtcPayEngine : IDisposable
{
    public const string Network = "bcrt";
    public const string LightningId = "BTC-LN";
    public const string LegacyLightningId = "BTC-LightningNetwork";
    private const long MsatPerBtcSats = 100_000_000;

    /// <summary>lnd's invoice features: var_onion_optin and payment_secret required, basic_mpp optional.</summary>
    private static readonly int[] InvoiceFeatures = [8, 14, 17];

    private readonly Lock gate = new();
    private readonly Dictionary<string, string[]> apiKeys = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> stores = new(StringComparer.Ordinal);
    private readonly List<InvoiceEntry> invoices = [];
    private readonly Dictionary<string, InvoiceEntry> byId = new(StringComparer.Ordinal);
    private readonly Dictionary<string, InvoiceEntry> byPaymentHash = new(StringComparer.Ordinal);
    private readonly List<WebhookEntry> webhooks = [];
    private readonly SandboxBtcPayOptions options;
    private readonly byte[] nodeKey;
    private bool disposed;

    public SandboxBtcPayEngine(SandboxBtcPayOptions options, byte[] nodeKey)
    {
        this.options = options;
        this.nodeKey = nodeKey;
    }

    public TimeProvider Time => options.TimeProvider;

    /// <summary>Receives every webhook event (store id, type, event fields) in order; set by the server.</summary>
    public Action<string, string, JsonObject>? Publish { get; set; }

    public string AddStore(string name)
    {
        var id = Ids.New(44);
        lock (gate)
            stores.Add(id, name);
        return id;
    }

    public bool StoreExists(string storeId)
    {
        lock (gate)
            return stores.ContainsKey(storeId);
    }

    public string CreateApiKey(string[] permissions)
    {
        var key = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(20));
        lock (gate)
            apiKeys.Add(key, permissions);
        return key;
    }

    public string[]? Permissions(string apiKey)
    {
        lock (gate)
            return apiKeys.TryGetValue(apiKey, out var permissions) ? permissions : null;
    }

    public sealed record NewInvoice(string StoreId, long AmountMsat, string Currency, JsonObject Metadata, TimeSpan Expiration,
        TimeSpan Monitoring, bool Lazy, decimal Amount);

    public InvoiceEntry Create(NewInvoice request)
    {
        var now = Now();
        lock (gate)
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            var entry = new InvoiceEntry
            {
                Id = Ids.New(22),
                StoreId = request.StoreId,
                Amount = request.Amount,
                Currency = request.Currency,
                AmountMsat = request.AmountMsat,
                Metadata = request.Metadata,
                CreatedAt = now,
                ExpiresAt = now + request.Expiration,
                MonitoringExpiresAt = now + request.Expiration + request.Monitoring,
                Lazy = request.Lazy,
            };
            invoices.Add(entry);
            byId.Add(entry.Id, entry);
            if (!entry.Lazy)
                IssueLightning(entry, now);
            // BTCPay's InvoiceWatcher expires an unpaid invoice at its expiration time.
            entry.ExpiryTimer = Time.CreateTimer(
                static state => ((ExpiryTarget)state!).Fire(), new ExpiryTarget(this, entry),
                request.Expiration, Timeout.InfiniteTimeSpan);
            Emit(entry, "InvoiceCreated", new JsonObject());
            return entry;
        }
    }

    public InvoiceEntry? Find(string invoiceId)
    {
        lock (gate)
        {
            if (byId.TryGetValue(invoiceId, out var entry))
                ExpireIfDue(entry);
            return entry;
        }
    }

    public IReadOnlyList<InvoiceEntry> List(string storeId)
    {
        lock (gate)
        {
            foreach (var entry in invoices)
                ExpireIfDue(entry);
            return [.. invoices.Where(i => i.StoreId == storeId).Reverse()];
        }
    }

    /// <summary>Makes a lazy invoice's Lightning payment method issue its BOLT11 (InvoiceActivator).</summary>
    public void Activate(InvoiceEntry entry)
    {
        lock (gate)
        {
            if (!entry.Activated && entry.Status == "New")
                IssueLightning(entry, Now());
        }
    }

    /// <summary>
    /// A Lightning payment of <paramref name="amountMsat"/> to the invoice (by id or by any BOLT11 it issued). Less
    /// than due leaves it New with PaidPartial and a new BOLT11 for the rest; enough settles it (PaidOver if more).
    /// Throws <see cref="InvalidOperationException"/> as a payer's wallet would fail: unknown, expired or not payable.
    /// </summary>
    public void Pay(string invoiceIdOrBolt11, long? amountMsat)
    {
        var now = Now();
        lock (gate)
        {
            var entry = Resolve(invoiceIdOrBolt11);
            ExpireIfDue(entry);
            if (entry.Status != "New")
                throw new InvalidOperationException($"Invoice {entry.Id} is {entry.Status}, not payable.");
            if (!entry.Activated)
                throw new InvalidOperationException($"Invoice {entry.Id} has no Lightning invoice yet (lazy payment method not activated).");
            var due = entry.AmountMsat - entry.PaidMsat;
            var amount = amountMsat ?? due;
            if (amount <= 0)
                throw new ArgumentOutOfRangeException(nameof(amountMsat), "A payment is positive.");

            var payment = new PaymentEntry(Ids.New(22), amount, now, entry.Bolt11);
            entry.Payments.Add(payment);
            var evt = new JsonObject
            {
                ["afterExpiration"] = false,
                ["paymentMethodId"] = LightningId,
                ["payment"] = PaymentJson(payment),
            };
            Emit(entry, "InvoiceReceivedPayment", evt);
            Emit(entry, "InvoicePaymentSettled", (JsonObject)evt.DeepClone());

            if (entry.PaidMsat >= entry.AmountMsat)
            {
                entry.Status = "Settled";
                entry.AdditionalStatus = entry.PaidMsat > entry.AmountMsat ? "PaidOver" : "None";
                entry.ExpiryTimer?.Dispose();
                Emit(entry, "InvoiceSettled", new JsonObject { ["manuallyMarked"] = false, ["overPaid"] = entry.AdditionalStatus == "PaidOver" });
            }
            else
            {
                entry.AdditionalStatus = "PaidPartial";
                IssueLightning(entry, now);
            }
        }
    }

    /// <summary>
    /// A Lightning payment that reaches the store after the invoice expired: its node took the HTLC in the moment
    /// before it canceled its own invoice (lnd accepts an HTLC for any invoice not yet canceled, invoices/update.go, and
    /// its expiry watcher cancels on a timer), and BTCPay recorded it afterwards, as it does until the invoice's
    /// monitoring ends. As BTCPay's <c>InvoiceWatcher.UpdateInvoice</c> does: the invoice stays Expired, with
    /// additional status PaidLate when the payments cover it (PaidPartial when not); webhooks
    /// InvoiceReceivedPayment and InvoicePaymentSettled with <c>afterExpiration: true</c>, and no InvoiceSettled.
    /// </summary>
    public void PayLate(string invoiceIdOrBolt11, long? amountMsat)
    {
        var now = Now();
        lock (gate)
        {
            var entry = Resolve(invoiceIdOrBolt11);
            ExpireIfDue(entry);
            if (entry.Status != "Expired")
                throw new InvalidOperationException($"Invoice {entry.Id} is {entry.Status}, not expired: pay it the usual way.");
            if (now > entry.MonitoringExpiresAt)
                throw new InvalidOperationException($"Invoice {entry.Id} is no longer monitored (since {entry.MonitoringExpiresAt:O}): BTCPay would not see the payment.");
            if (!entry.Activated)
                throw new InvalidOperationException($"Invoice {entry.Id} never had a Lightning invoice.");
            var amount = amountMsat ?? entry.AmountMsat - entry.PaidMsat;
            if (amount <= 0)
                throw new ArgumentOutOfRangeException(nameof(amountMsat), "A payment is positive.");

            var payment = new PaymentEntry(Ids.New(22), amount, now, entry.Bolt11);
            entry.Payments.Add(payment);
            entry.AdditionalStatus = entry.PaidMsat >= entry.AmountMsat ? "PaidLate" : "PaidPartial";
            var evt = new JsonObject
            {
                ["afterExpiration"] = true,
                ["paymentMethodId"] = LightningId,
                ["payment"] = PaymentJson(payment),
            };
            Emit(entry, "InvoiceReceivedPayment", evt);
            Emit(entry, "InvoicePaymentSettled", (JsonObject)evt.DeepClone());
        }
    }

    /// <summary>POST …/status: marks an invoice Invalid or Settled (additional status Marked).</summary>
    public bool Mark(InvoiceEntry entry, string status)
    {
        lock (gate)
        {
            ExpireIfDue(entry);
            if (status == "Invalid" && entry.Status is "New" or "Expired" or "Settled")
            {
                entry.Status = "Invalid";
                entry.AdditionalStatus = "Marked";
                entry.ExpiryTimer?.Dispose();
                Emit(entry, "InvoiceInvalid", new JsonObject { ["manuallyMarked"] = true });
                return true;
            }
            if (status == "Settled" && entry.Status is "New" or "Expired" or "Invalid")
            {
                entry.Status = "Settled";
                entry.AdditionalStatus = "Marked";
                entry.ExpiryTimer?.Dispose();
                Emit(entry, "InvoiceSettled", new JsonObject { ["manuallyMarked"] = true, ["overPaid"] = false });
                return true;
            }
            return false;
        }
    }

    public IReadOnlyList<WebhookEntry> Webhooks(string storeId)
    {
        lock (gate)
            return [.. webhooks.Where(w => w.StoreId == storeId)];
    }

    public IReadOnlyList<SandboxBtcPayWebhook> WebhookSnapshot()
    {
        lock (gate)
        {
            return [.. webhooks.Select(w => new SandboxBtcPayWebhook(w.Id, w.StoreId, w.Settings.Url, w.Settings.Enabled,
                w.Settings.AutomaticRedelivery, w.Settings.Everything, w.Settings.SpecificEvents, w.Settings.Secret))];
        }
    }

    public WebhookEntry? FindWebhook(string webhookId)
    {
        lock (gate)
            return webhooks.FirstOrDefault(w => w.Id == webhookId);
    }

    public WebhookEntry AddWebhook(string storeId, WebhookSettings settings)
    {
        lock (gate)
        {
            var hook = new WebhookEntry { Id = Ids.New(22), StoreId = storeId, Settings = settings };
            webhooks.Add(hook);
            return hook;
        }
    }

    public void UpdateWebhook(WebhookEntry hook, WebhookSettings settings)
    {
        lock (gate)
            hook.Settings = settings;
    }

    public bool DeleteWebhook(WebhookEntry hook)
    {
        lock (gate)
            return webhooks.Remove(hook);
    }

    public IReadOnlyList<SandboxBtcPayInvoice> Snapshot()
    {
        lock (gate)
        {
            foreach (var entry in invoices)
                ExpireIfDue(entry);
            return [.. invoices.Select(e => new SandboxBtcPayInvoice(
                e.Id, e.StoreId, e.AmountMsat, e.PaidMsat, e.Status, e.AdditionalStatus, e.Bolt11, e.PaymentHash,
                e.Metadata["orderId"]?.GetValue<string>(), e.CreatedAt, e.ExpiresAt))];
        }
    }

    public string StoreName(string storeId)
    {
        lock (gate)
            return stores.TryGetValue(storeId, out var name) ? name : storeId;
    }

    public void Dispose()
    {
        lock (gate)
        {
            disposed = true;
            foreach (var entry in invoices)
                entry.ExpiryTimer?.Dispose();
        }
    }

    /// <summary>A payment as Greenfield's <c>Payment</c>: value in BTC.</summary>
    public static JsonObject PaymentJson(PaymentEntry payment) => new()
    {
        ["id"] = payment.Id,
        ["receivedDate"] = payment.ReceivedAt.ToUnixTimeSeconds(),
        ["value"] = Btc(payment.AmountMsat),
        ["fee"] = Btc(0),
        ["status"] = "Settled",
        ["destination"] = payment.Destination,
    };

    /// <summary>Millisatoshis as a BTC decimal string, at least 8 decimals as BTCPay writes them, e.g. "0.00021000".</summary>
    public static string Btc(long msat) =>
        (msat / (MsatPerBtcSats * 1000m)).ToString("0.00000000###", CultureInfo.InvariantCulture);

    private DateTimeOffset Now() => DateTimeOffset.FromUnixTimeSeconds(Time.GetUtcNow().ToUnixTimeSeconds());

    private InvoiceEntry Resolve(string invoiceIdOrBolt11)
    {
        if (byId.TryGetValue(invoiceIdOrBolt11, out var entry))
            return entry;
        string hash;
        try
        {
            hash = Bolt11Codec.Decode(invoiceIdOrBolt11).PaymentHash;
        }
        catch (FormatException)
        {
            throw new InvalidOperationException($"The sandbox BTCPay has no invoice '{invoiceIdOrBolt11}'.");
        }
        if (!byPaymentHash.TryGetValue(hash, out entry))
            throw new InvalidOperationException($"The sandbox BTCPay issued no Lightning invoice with payment hash {hash}.");
        if (entry.PaymentHash != hash)
            throw new InvalidOperationException($"That Lightning invoice of {entry.Id} was replaced after a partial payment; pay {entry.Bolt11}.");
        return entry;
    }

    // Callers hold the lock. BTCPay asks its node for an invoice of what is due that expires with the BTCPay invoice
    // (LightningLikePaymentHandler: expiry = invoice expiration - now), described with the store and order.
    private void IssueLightning(InvoiceEntry entry, DateTimeOffset now)
    {
        var preimage = RandomNumberGenerator.GetBytes(32);
        var hash = SHA256.HashData(preimage);
        var expiry = Math.Max(1, (long)(entry.ExpiresAt - now).TotalSeconds);
        var orderId = entry.Metadata["orderId"]?.GetValue<string>();
        var description = $"Paid to {StoreName(entry.StoreId)}" + (orderId is null ? "" : $" (Order ID: {orderId})");
        var draft = Bolt11InvoiceDraft.Create(Network, entry.AmountMsat - entry.PaidMsat, now, hash, RandomNumberGenerator.GetBytes(32),
            description, expiry, 40, InvoiceFeatures);
        if (options.TamperWithInvoices is { } tamper)
            draft = tamper(draft);
        entry.Bolt11 = Bolt11Codec.Encode(draft, nodeKey);
        entry.PaymentHash = Convert.ToHexStringLower(hash);
        entry.Activated = true;
        byPaymentHash[entry.PaymentHash] = entry;
    }

    private void ExpireIfDue(InvoiceEntry entry)
    {
        if (entry.Status == "New" && Time.GetUtcNow() >= entry.ExpiresAt)
            Expire(entry);
    }

    private void Expire(InvoiceEntry entry)
    {
        lock (gate)
        {
            if (entry.Status != "New")
                return;
            entry.Status = "Expired";
            entry.AdditionalStatus = entry.PaidMsat > 0 ? "PaidPartial" : "None";
            entry.ExpiryTimer?.Dispose();
            Emit(entry, "InvoiceExpired", new JsonObject { ["partiallyPaid"] = entry.PaidMsat > 0 });
        }
    }

    // Callers hold the lock, so events reach the sender in the order they happened.
    private void Emit(InvoiceEntry entry, string type, JsonObject fields)
    {
        if (disposed)
            return;
        var evt = new JsonObject
        {
            ["storeId"] = entry.StoreId,
            ["invoiceId"] = entry.Id,
            ["metadata"] = entry.Metadata.DeepClone(),
        };
        foreach (var (name, value) in fields.ToList())
        {
            fields.Remove(name);
            evt[name] = value;
        }
        Publish?.Invoke(entry.StoreId, type, evt);
    }

    private sealed class ExpiryTarget(SandboxBtcPayEngine engine, InvoiceEntry entry)
    {
        public void Fire() => engine.Expire(entry);
    }
}

internal sealed class InvoiceEntry
{
    public required string Id { get; init; }
    public required string StoreId { get; init; }
    public required decimal Amount { get; init; }
    public required string Currency { get; init; }
    public required long AmountMsat { get; init; }
    public required JsonObject Metadata { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public required DateTimeOffset ExpiresAt { get; init; }
    public required DateTimeOffset MonitoringExpiresAt { get; init; }
    public required bool Lazy { get; init; }
    public string Status { get; set; } = "New";
    public string AdditionalStatus { get; set; } = "None";
    public bool Activated { get; set; }
    public string Bolt11 { get; set; } = "";
    public string PaymentHash { get; set; } = "";
    public List<PaymentEntry> Payments { get; } = [];
    public long PaidMsat => Payments.Sum(p => p.AmountMsat);
    public ITimer? ExpiryTimer { get; set; }
}

internal sealed record PaymentEntry(string Id, long AmountMsat, DateTimeOffset ReceivedAt, string Destination);

/// <summary>A webhook's settings, as <c>WebhookDataCreate</c> carries them; <see cref="Secret"/> is never shown after creation.</summary>
internal sealed record WebhookSettings(bool Enabled, bool AutomaticRedelivery, string Url, bool Everything, IReadOnlyList<string> SpecificEvents, string Secret)
{
    public bool ShouldDeliver(string type) => Enabled && (Everything || SpecificEvents.Contains(type, StringComparer.Ordinal));
}

internal sealed class WebhookEntry
{
    public required string Id { get; init; }
    public required string StoreId { get; init; }
    public required WebhookSettings Settings { get; set; }
}

/// <summary>BTCPay-style ids: base58 strings (invoices 22 characters, stores 44).</summary>
internal static class Ids
{
    private const string Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

    public static string New(int length) => string.Create(length, 0, static (span, _) =>
    {
        for (var i = 0; i < span.Length; i++)
            span[i] = Alphabet[RandomNumberGenerator.GetInt32(Alphabet.Length)];
    });
}
