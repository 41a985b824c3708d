using System.Globalization;
using System.Security.Cryptography;
using Doorman.Access;
using Doorman.Payments.Bolt11;
using Microsoft.Extensions.Options;

namespace Doorman.Payments.BtcPay;

/// <summary>
/// <see cref="IPaymentBackend"/> over BTCPay Server's Greenfield API: invoices in SATS paid by Lightning (BTC-LN),
/// the BOLT11 read from the invoice's payment methods and checked before it is shown; settlements from webhook
/// deliveries (each only a trigger to re-read the invoice) and, when configured, polling. Semantics: BTCPay's
/// Greenfield API reference (docs.btcpayserver.org/API/Greenfield/v1), invoices and webhooks.
/// </summary>
public sealed partial class BtcPayPaymentBackend : IPaymentBackend, IDisposable
{
    /// <summary>The invoice events the bot's webhook asks for (payments.md §2.5).</summary>
    internal static readonly IReadOnlyList<string> InvoiceEvents =
        ["InvoiceReceivedPayment", "InvoicePaymentSettled", "InvoiceProcessing", "InvoiceExpired", "InvoiceSettled", "InvoiceInvalid"];

    /// <summary>BTCPay 2.x's id of Lightning in bitcoin; 1.x said BTC-LightningNetwork (payments.md B4).</summary>
    internal const string LightningPaymentMethod = "BTC-LN";

    /// <summary>
    /// How far the BOLT11's expiry may stray from the BTCPay invoice's. BTCPay asks its node for an invoice that
    /// expires with the BTCPay invoice, timed from the moment it asks, so the two differ by the time it takes.
    /// </summary>
    internal static readonly TimeSpan ExpiryTolerance = TimeSpan.FromMinutes(1);

    private readonly GreenfieldClient client;
    private readonly BtcPayOptions options;
    private readonly IPaymentState state;
    private readonly BtcPayWebhookInbox inbox;
    private readonly BtcPayWebhookSecret secrets;
    private readonly TimeProvider time;
    private readonly ILogger<BtcPayPaymentBackend> logger;
    private readonly Uri server;
    private readonly SemaphoreSlim registering = new(1, 1);

    internal BtcPayPaymentBackend(
        GreenfieldClient client, IOptions<BtcPayOptions> options, IPaymentState state, BtcPayWebhookInbox inbox, BtcPayWebhookSecret secrets,
        TimeProvider time, ILogger<BtcPayPaymentBackend> logger)
    {
        this.client = client;
        this.options = options.Value;
        this.state = state;
        this.inbox = inbox;
        this.secrets = secrets;
        this.time = time;
        this.logger = logger;
        server = new Uri(this.options.Url!.Trim());
    }

    public string Name => "btcpay";

    public TimeSpan? PollInterval => options.PollInterval;

    /// <summary>
    /// A Lightning payment can reach BTCPay after the invoice expired (the node took the HTLC in the moment before it
    /// canceled its own invoice). BTCPay still records it while it monitors the invoice — <c>monitoringMinutes</c>,
    /// which the bot sets to this — leaving the invoice <c>Expired</c> with additional status <c>PaidLate</c>
    /// (Greenfield <c>InvoiceAdditionalStatus</c>; BTCPay's <c>InvoiceWatcher.UpdateInvoice</c>), and tells only by
    /// webhooks (<c>InvoiceReceivedPayment</c> with <c>afterExpiration</c>). So the bot looks expired orders up again
    /// for this long.
    /// </summary>
    public TimeSpan? LateSettlementWindow => MonitoringWindow;

    /// <summary>How long after expiry BTCPay keeps watching an invoice for payments: BTCPay's default, made explicit.</summary>
    internal static readonly TimeSpan MonitoringWindow = TimeSpan.FromDays(1);

    private bool RegistersWebhook => !string.IsNullOrWhiteSpace(options.PublicUrl);

    /// <summary>
    /// POSTs a SATS invoice restricted to Lightning, never retried (a retry after a lost answer would make a second
    /// invoice), then reads its BOLT11 and refuses it unless its amount and expiry are what was asked and its
    /// signature holds. The reference is BTCPay's invoice id; the payment hash comes from the BOLT11.
    /// </summary>
    public async Task<CreatedInvoice> CreateInvoiceAsync(InvoiceRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(request.AmountMsat);
        if (request.AmountMsat % 1000 != 0)
            throw new ArgumentException($"BTCPay invoices are in whole satoshis; {request.AmountMsat} msat is not.", nameof(request));
        if (request.Expiry <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(request), "An invoice's expiry is positive.");

        // Greenfield takes whole minutes here in practice (swagger: TimeSpanMinutes, int32); round up like LND's seconds.
        var minutes = (long)Math.Ceiling(request.Expiry.TotalMinutes);
        var body = new GreenfieldCreateInvoiceRequest(
            BtcPayAmounts.MsatToSatsString(request.AmountMsat),
            "SATS",
            new GreenfieldInvoiceMetadata(request.OrderId, request.Memo),
            new GreenfieldCheckoutOptions([LightningPaymentMethod], minutes, LazyPaymentMethods: false, (long)MonitoringWindow.TotalMinutes));
        var invoice = await CallAsync("creating an invoice", c => client.CreateInvoiceAsync(body, c), cancellationToken);

        // From here on BTCPay holds an invoice. Should anything below fail, it stays there unpaid until it expires: an
        // orphan, findable by metadata.orderId, harmless. The bot inserts its order only after this method returns,
        // so no order ever points at an invoice we did not hand out.
        var orphan = $" (BTCPay invoice {invoice.Id} was created and will expire unpaid)";
        GreenfieldPaymentMethod lightning;
        try
        {
            lightning = await LightningDestinationAsync(invoice.Id, cancellationToken);
        }
        catch (PaymentBackendException e)
        {
            throw new PaymentBackendException(e.Message + orphan, e.IsTransient, e.InnerException ?? e);
        }

        Bolt11Invoice decoded;
        try
        {
            decoded = Bolt11Codec.Decode(lightning.Destination!);
        }
        catch (FormatException e)
        {
            throw new PaymentBackendException($"BTCPay returned a Lightning invoice we cannot read: {e.Message}{orphan}", isTransient: false, e);
        }

        var problems = Mismatches(request, minutes, invoice, decoded);
        if (problems.Count > 0)
        {
            throw new PaymentBackendException(
                $"BTCPay returned an invoice that does not match the request ({string.Join("; ", problems)}); not using it{orphan}",
                isTransient: false);
        }

        var expiresAt = DateTimeOffset.FromUnixTimeSeconds(invoice.ExpirationTime!.Value);
        return new CreatedInvoice(invoice.Id, lightning.Destination!, decoded.PaymentHash, decoded.ExpiresAt < expiresAt ? decoded.ExpiresAt : expiresAt);
    }

    /// <summary>
    /// Reads the invoice (and, when money came in, its payment methods for the amount paid, in BTC: B7). New and
    /// Processing are open; Settled is settled with what was paid (a manually marked invoice counts as paid in full,
    /// as BTCPay itself reckons it); Expired after a payment (PaidPartial, PaidLate) is settled with what was paid,
    /// so the bot grants a full late payment and records a partial one as underpaid, telling the member; any other
    /// Expired, and Invalid, are canceled; an invoice BTCPay does not know is NotFound.
    /// </summary>
    public async Task<InvoiceUpdate> LookupInvoiceAsync(string reference, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(reference);
        var invoice = await CallAsync("looking up an invoice", c => client.TryGetInvoiceAsync(reference, c), cancellationToken);
        if (invoice is null)
            return new InvoiceUpdate(reference, InvoiceState.NotFound, 0, 0, Cursor: null);

        var amountMsat = invoice.Amount is { } amount ? BtcPayAmounts.InvoiceAmountToMsat(amount, invoice.Currency) ?? 0 : 0;
        switch (invoice.Status)
        {
            case "Settled":
            {
                var paid = await PaidMsatAsync(invoice.Id, cancellationToken);
                if (invoice.AdditionalStatus == "Marked" && paid < amountMsat)
                    paid = amountMsat;
                return new InvoiceUpdate(invoice.Id, InvoiceState.Settled, amountMsat, paid, Cursor: null);
            }
            case "Expired" when invoice.AdditionalStatus is "PaidPartial" or "PaidLate":
            {
                var paid = await PaidMsatAsync(invoice.Id, cancellationToken);
                return paid > 0
                    ? new InvoiceUpdate(invoice.Id, InvoiceState.Settled, amountMsat, paid, Cursor: null)
                    : new InvoiceUpdate(invoice.Id, InvoiceState.Canceled, amountMsat, 0, Cursor: null);
            }
            case "Expired" or "Invalid":
                return new InvoiceUpdate(invoice.Id, InvoiceState.Canceled, amountMsat, 0, Cursor: null);
            default:
                // New (unpaid or partly paid) and Processing (paid, waiting for confirmations: on-chain only).
                return new InvoiceUpdate(invoice.Id, InvoiceState.Open, amountMsat, 0, Cursor: null);
        }
    }

    /// <summary>
    /// Registers (or checks) the bot's webhook when <see cref="BtcPayOptions.PublicUrl"/> is set, then opens a feed
    /// of the invoices webhook deliveries name, each re-read from the API. BTCPay has no cursor to resume from:
    /// what happened while the feed was closed is found by the bot's lookups of pending orders.
    /// </summary>
    public async Task<ISettlementFeed> OpenSettlementFeedAsync(string? cursor, CancellationToken cancellationToken)
    {
        await EnsureWebhookAsync(cancellationToken);
        return new BtcPaySettlementFeed(this, inbox);
    }

    /// <summary>
    /// Checks that the API key is accepted and holds the permissions the bot needs for the store (each missing one
    /// named), and that the store answers.
    /// </summary>
    public async Task CheckHealthAsync(CancellationToken cancellationToken)
    {
        var key = await CallAsync("checking the API key", client.GetCurrentApiKeyAsync, cancellationToken);
        var missing = BtcPayPermissions.Missing(key.Permissions ?? [], client.StoreId, BtcPayPermissions.Required(RegistersWebhook));
        if (missing.Count > 0)
        {
            var label = string.IsNullOrEmpty(key.Label) ? "" : $" '{key.Label}'";
            throw new PaymentBackendException(
                $"the BTCPay API key{label} lacks {string.Join(", ", missing)} for store {client.StoreId}; "
                + "create a key with these permissions (for this store or all stores) in BTCPay → Account → API keys",
                isTransient: false);
        }
        await CallAsync("reading the store's invoices", c => client.GetInvoicesAsync(1, c), cancellationToken);
    }

    /// <summary>
    /// With <see cref="BtcPayOptions.PublicUrl"/>: makes sure BTCPay has exactly one webhook for
    /// <c>&lt;PublicUrl&gt;/webhooks/btcpay</c>, enabled, redelivering, for the invoice events, signed with the secret
    /// we keep. Reuses the one found by stored id or by URL (across restarts), updates it when its settings or our
    /// secret changed, creates it when it is gone, and removes duplicates for the same URL. Invariant: a stored
    /// webhook id means BTCPay has the stored secret, so a crash at any point only costs one more update.
    /// </summary>
    public async Task EnsureWebhookAsync(CancellationToken cancellationToken)
    {
        if (!RegistersWebhook)
            return;
        await registering.WaitAsync(cancellationToken);
        try
        {
            var storeId = client.StoreId;
            var url = options.PublicUrl!.Trim().TrimEnd('/') + BtcPayWebhookEndpoint.Path;
            var stored = await state.GetAsync(BtcPayWebhookSecret.SecretKey(storeId), cancellationToken);
            var secret = options.WebhookSecret ?? stored ?? Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
            if (secret != stored)
            {
                // Forget the id first: until BTCPay has this secret, no stored id may vouch for it.
                await state.SetAsync(BtcPayWebhookSecret.IdKey(storeId), null, cancellationToken);
                await state.SetAsync(BtcPayWebhookSecret.SecretKey(storeId), secret, cancellationToken);
            }
            var storedId = await state.GetAsync(BtcPayWebhookSecret.IdKey(storeId), cancellationToken);

            var hooks = await CallAsync("listing the store's webhooks", client.GetWebhooksAsync, cancellationToken);
            var ours = hooks.FirstOrDefault(h => h.Id == storedId) ?? hooks.FirstOrDefault(h => SameUrl(h.Url, url));
            var desired = new GreenfieldWebhookRequest(true, true, url, new GreenfieldAuthorizedEvents(false, InvoiceEvents), secret);
            string id;
            if (ours is null)
            {
                id = (await CallAsync("registering the webhook", c => client.CreateWebhookAsync(desired, c), cancellationToken)).Id;
                LogWebhookRegistered(id, url);
            }
            else if (ours.Id != storedId || !AsDesired(ours, url))
            {
                await CallAsync("updating the webhook", c => client.UpdateWebhookAsync(ours.Id, desired, c), cancellationToken);
                id = ours.Id;
                LogWebhookUpdated(id, url);
            }
            else
            {
                id = ours.Id;
            }
            if (id != storedId)
                await state.SetAsync(BtcPayWebhookSecret.IdKey(storeId), id, cancellationToken);
            secrets.Registered(secret);

            foreach (var duplicate in hooks.Where(h => h.Id != id && SameUrl(h.Url, url)))
            {
                await CallAsync("removing a duplicate webhook", c => client.DeleteWebhookAsync(duplicate.Id, c), cancellationToken);
                LogWebhookDuplicateRemoved(duplicate.Id, url);
            }
        }
        finally
        {
            registering.Release();
        }
    }

    private static bool AsDesired(GreenfieldWebhook hook, string url) =>
        hook.Enabled != false && hook.AutomaticRedelivery != false && SameUrl(hook.Url, url)
        && (hook.AuthorizedEvents is null or { Everything: true }
            || InvoiceEvents.All(e => hook.AuthorizedEvents.SpecificEvents?.Contains(e, StringComparer.Ordinal) == true));

    private static bool SameUrl(string? a, string b) =>
        a is not null && Uri.TryCreate(a.Trim().TrimEnd('/'), UriKind.Absolute, out var x) && Uri.TryCreate(b, UriKind.Absolute, out var y) && x == y;

    /// <summary>The Lightning payment method of the invoice with its BOLT11, activating it first if BTCPay left it lazy (B3).</summary>
    private async Task<GreenfieldPaymentMethod> LightningDestinationAsync(string invoiceId, CancellationToken cancellationToken)
    {
        var lightning = FindLightning(await CallAsync("reading the invoice's payment methods", c => client.GetPaymentMethodsAsync(invoiceId, c), cancellationToken))
            ?? throw new PaymentBackendException(
                $"BTCPay invoice {invoiceId} has no Lightning payment method ({LightningPaymentMethod}); enable Lightning for store {client.StoreId}",
                isTransient: false);
        if (lightning.Activated != false && !string.IsNullOrWhiteSpace(lightning.Destination))
            return lightning;

        await CallAsync("activating the Lightning payment method", c => client.ActivatePaymentMethodAsync(invoiceId, lightning.Id!, c), cancellationToken);
        lightning = FindLightning(await CallAsync("reading the invoice's payment methods", c => client.GetPaymentMethodsAsync(invoiceId, c), cancellationToken));
        if (lightning is null || string.IsNullOrWhiteSpace(lightning.Destination))
        {
            // BTCPay could not get an invoice from its Lightning node (node down or out of inbound liquidity).
            throw new PaymentBackendException(
                $"BTCPay gave invoice {invoiceId} no Lightning invoice, even after activating it; is the store's Lightning node up? Try again later",
                isTransient: true);
        }
        return lightning;
    }

    /// <summary>What was paid, across payment methods: <c>totalPaid</c> of a BTC method, in BTC (B7).</summary>
    private async Task<long> PaidMsatAsync(string invoiceId, CancellationToken cancellationToken)
    {
        var methods = await CallAsync("reading the invoice's payments", c => client.GetPaymentMethodsAsync(invoiceId, c), cancellationToken);
        var method = FindLightning(methods) ?? methods.FirstOrDefault(m => string.Equals(m.CurrencyCode, "BTC", StringComparison.OrdinalIgnoreCase));
        return method?.TotalPaid is { } paid ? BtcPayAmounts.BtcToMsat(paid) : 0;
    }

    /// <summary>BTC-LN, or one of the names BTCPay still parses as it (BTC-LightningNetwork, BTC_LightningLike, BTC-OffChain).</summary>
    internal static GreenfieldPaymentMethod? FindLightning(IEnumerable<GreenfieldPaymentMethod> methods) =>
        methods.FirstOrDefault(m => IsLightning(m.Id));

    internal static bool IsLightning(string? paymentMethodId)
    {
        if (paymentMethodId is null)
            return false;
        var separator = paymentMethodId.IndexOfAny(['-', '_']);
        if (separator <= 0)
            return false;
        var crypto = paymentMethodId[..separator];
        var type = paymentMethodId[(separator + 1)..];
        return crypto.Equals("BTC", StringComparison.OrdinalIgnoreCase)
            && (type.Equals("LN", StringComparison.OrdinalIgnoreCase) || type.Equals("LightningNetwork", StringComparison.OrdinalIgnoreCase)
                || type.Equals("LightningLike", StringComparison.OrdinalIgnoreCase) || type.Equals("OffChain", StringComparison.OrdinalIgnoreCase));
    }

    private List<string> Mismatches(InvoiceRequest request, long minutes, GreenfieldInvoice invoice, Bolt11Invoice decoded)
    {
        var problems = new List<string>();
        if (decoded.AmountMsat != request.AmountMsat)
            problems.Add(string.Create(CultureInfo.InvariantCulture,
                $"Lightning amount {decoded.AmountMsat?.ToString(CultureInfo.InvariantCulture) ?? "any"} msat instead of {request.AmountMsat}"));
        if (invoice.Amount is not { } amount || BtcPayAmounts.InvoiceAmountToMsat(amount, invoice.Currency) != request.AmountMsat)
            problems.Add($"invoice amount {invoice.Amount?.ToString(CultureInfo.InvariantCulture) ?? "none"} {invoice.Currency} instead of {request.AmountMsat / 1000} SATS");
        if (!decoded.IsSignatureValid)
            problems.Add("a Lightning signature that does not verify");
        if (invoice.ExpirationTime is not { } expiration || invoice.CreatedTime is not { } created)
        {
            problems.Add("no expiration time");
            return problems;
        }
        var expiresAt = DateTimeOffset.FromUnixTimeSeconds(expiration);
        var asked = TimeSpan.FromMinutes(minutes);
        var given = TimeSpan.FromSeconds(expiration - created);
        if ((given - asked).Duration() > ExpiryTolerance)
            problems.Add(string.Create(CultureInfo.InvariantCulture, $"expiry {given.TotalMinutes:0.#} min instead of {minutes} min"));
        if ((decoded.ExpiresAt - expiresAt).Duration() > ExpiryTolerance)
            problems.Add(string.Create(CultureInfo.InvariantCulture, $"a Lightning invoice expiring at {decoded.ExpiresAt:O}, not with the BTCPay invoice at {expiresAt:O}"));
        if (decoded.ExpiresAt <= time.GetUtcNow())
            problems.Add("a Lightning invoice that has already expired");
        return problems;
    }

    public void Dispose() => registering.Dispose();

    internal Task CallAsync(string operation, Func<CancellationToken, Task> call, CancellationToken cancellationToken) =>
        CallAsync(operation, async c =>
        {
            await call(c);
            return true;
        }, cancellationToken);

    internal async Task<T> CallAsync<T>(string operation, Func<CancellationToken, Task<T>> call, CancellationToken cancellationToken)
    {
        try
        {
            return await call(cancellationToken);
        }
        catch (Exception e) when (BtcPayErrors.IsMappable(e) || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            throw BtcPayErrors.Map(e, operation, server);
        }
    }

    [LoggerMessage(LogLevel.Information, "Registered BTCPay webhook {WebhookId} for {Url}")]
    private partial void LogWebhookRegistered(string webhookId, string url);

    [LoggerMessage(LogLevel.Information, "Updated BTCPay webhook {WebhookId} for {Url}")]
    private partial void LogWebhookUpdated(string webhookId, string url);

    [LoggerMessage(LogLevel.Information, "Removed duplicate BTCPay webhook {WebhookId} for {Url}")]
    private partial void LogWebhookDuplicateRemoved(string webhookId, string url);
}
