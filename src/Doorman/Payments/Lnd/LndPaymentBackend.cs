using System.Globalization;
using System.Text;
using Doorman.Access;
using Doorman.Payments.Bolt11;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Lnrpc;
using Microsoft.Extensions.Options;

namespace Doorman.Payments.Lnd;

/// <summary>
/// <see cref="IPaymentBackend"/> over LND's gRPC API (lnrpc.Lightning), TLS pinned to the node's certificate and the
/// macaroon sent as call credentials. Semantics: LND's API reference (lightning.engineering/api-docs), AddInvoice,
/// LookupInvoice and SubscribeInvoices.
/// Every invoice must be payable to this node: see <see cref="CheckPayeeAsync"/>.
/// </summary>
public sealed partial class LndPaymentBackend : IPaymentBackend, IDisposable
{
    /// <summary>
    /// <see cref="IPaymentState"/> key of the node's identity public key (hex): as GetInfo last reported it, or, for a
    /// macaroon without info:read, pinned from the payee of the first invoice the node made for the bot.
    /// </summary>
    internal const string NodeKeyState = "lnd.node_pubkey";

    /// <summary>invoices per ListInvoices page while catching up (lnd's default is 100).</summary>
    internal const int ScanPageSize = 500;

    /// <summary>lnd rejects an expiry above one year (lnrpc/invoicesrpc/addinvoice.go).</summary>
    private const long MaxExpirySeconds = 365 * 24 * 3600;

    /// <summary>The most a BOLT11 'd' field holds: 1023 five-bit words.</summary>
    private const int MaxMemoBytes = 639;

    /// <summary>How many of the newest invoices to consider for the replay that makes the stream speak at once.</summary>
    private const int MarkerCandidates = 5;

    private readonly LndConnectionSettings settings;
    private readonly GrpcChannel channel;
    private readonly Lightning.LightningClient client;
    private readonly TimeProvider time;
    private readonly ILogger<LndPaymentBackend> logger;
    private readonly TimeSpan requestTimeout;
    private readonly IPaymentState state;

    /// <summary>Serializes learning the node's key, so two first invoices cannot pin two keys.</summary>
    private readonly SemaphoreSlim nodeKeyGate = new(1, 1);
    private volatile NodeKey? nodeKey;
    private volatile bool getInfoRefused;

    public LndPaymentBackend(
        IOptions<LndOptions> options, IPaymentState state, TimeProvider timeProvider, ILogger<LndPaymentBackend> logger)
    {
        this.state = state;
        var errors = new List<string>();
        settings = LndConnectionSettings.Resolve(options.Value, "Payments:Lnd", errors)
            ?? throw new InvalidOperationException("LND is not configured: " + string.Join("; ", errors));
        time = timeProvider;
        this.logger = logger;
        requestTimeout = options.Value.RequestTimeout;

        var handler = new SocketsHttpHandler
        {
            // lnd refuses client pings more often than every 5 s (GOAWAY "too_many_pings", ClientPingMinWait) and
            // pings without an open stream; its own keepalive pings idle streams after 1 min (payments.md §1.4).
            KeepAlivePingDelay = TimeSpan.FromSeconds(30),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(20),
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
            EnableMultipleHttp2Connections = true,
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
            ConnectTimeout = TimeSpan.FromSeconds(15),
        };
        if (settings.Pin is { } pin)
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, _) => pin.Validate(certificate);

        var macaroonHex = Convert.ToHexStringLower(settings.Macaroon);
        var macaroon = CallCredentials.FromInterceptor((_, metadata) =>
        {
            metadata.Add("macaroon", macaroonHex);
            return Task.CompletedTask;
        });
        channel = GrpcChannel.ForAddress(settings.Address, new GrpcChannelOptions
        {
            HttpHandler = handler,
            DisposeHttpClient = true,
            Credentials = ChannelCredentials.Create(ChannelCredentials.SecureSsl, macaroon),
            // Grpc.Net.Client's default 4 MB is too small for a page of invoices with long payment requests.
            MaxReceiveMessageSize = 50 * 1024 * 1024,
            ThrowOperationCanceledOnCancellation = true,
        });
        client = new Lightning.LightningClient(channel);
    }

    public string Name => "lnd";

    /// <summary>
    /// AddInvoice, never retried (a retry after a lost answer makes a second invoice). The payment request LND
    /// returns is decoded and refused unless its amount, payment hash, expiry and description are what we asked
    /// for, its signature holds and its payee is this node (<see cref="CheckPayeeAsync"/>): a buggy or compromised
    /// node, or a connection that leads elsewhere, must not make us show the member a wrong invoice.
    /// <see cref="InvoiceRequest.OrderId"/> is not sent: lnd has no field for it besides the memo, which is the member's.
    /// </summary>
    public async Task<CreatedInvoice> CreateInvoiceAsync(InvoiceRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(request.AmountMsat);
        if (request.Expiry <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(request), "An invoice's expiry is positive.");
        var expirySeconds = (long)Math.Ceiling(request.Expiry.TotalSeconds);
        if (expirySeconds > MaxExpirySeconds)
            throw new ArgumentOutOfRangeException(nameof(request), "LND accepts an invoice expiry of at most one year.");
        if (Encoding.UTF8.GetByteCount(request.Memo) > MaxMemoBytes)
            throw new ArgumentException($"The memo is over {MaxMemoBytes} bytes, more than a BOLT11 description holds.", nameof(request));

        // Learn the node's key first (GetInfo, once), so that a failure there leaves no invoice behind.
        await NodeKeyAsync(firstPayee: null, cancellationToken);

        var response = (await CallAsync(
            "creating an invoice",
            o => client.AddInvoiceAsync(new Invoice { ValueMsat = request.AmountMsat, Memo = request.Memo, Expiry = expirySeconds }, o),
            static _ => false, cancellationToken, readOnly: false)).Response!;

        var hash = Convert.ToHexStringLower(response.RHash.Span);
        Bolt11Invoice decoded;
        try
        {
            decoded = Bolt11Codec.Decode(response.PaymentRequest);
        }
        catch (FormatException e)
        {
            throw new PaymentBackendException($"LND returned a payment request we cannot read: {e.Message}", isTransient: false, e);
        }

        var problems = new List<string>();
        if (response.RHash.Length != 32)
            problems.Add($"r_hash is {response.RHash.Length} bytes, not 32");
        if (decoded.AmountMsat != request.AmountMsat)
            problems.Add(string.Create(CultureInfo.InvariantCulture, $"amount {decoded.AmountMsat?.ToString(CultureInfo.InvariantCulture) ?? "any"} msat instead of {request.AmountMsat}"));
        if (decoded.PaymentHash != hash)
            problems.Add($"payment hash {decoded.PaymentHash} instead of r_hash {hash}");
        if (decoded.ExpirySeconds != expirySeconds)
            problems.Add(string.Create(CultureInfo.InvariantCulture, $"expiry {decoded.ExpirySeconds} s instead of {expirySeconds} s"));
        if (decoded.Description != request.Memo)
            problems.Add("a description other than the memo");
        if (!decoded.IsSignatureValid)
            problems.Add("a signature that does not verify");
        if (problems.Count > 0)
        {
            throw new PaymentBackendException(
                $"LND returned an invoice that does not match the request ({string.Join("; ", problems)}); not using it",
                isTransient: false);
        }
        await CheckPayeeAsync(decoded.PayeePubKey, cancellationToken);

        return new CreatedInvoice(hash, response.PaymentRequest, hash, decoded.ExpiresAt);
    }

    public async Task<InvoiceUpdate> LookupInvoiceAsync(string reference, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reference);
        if (reference.Length != 64 || !reference.All(char.IsAsciiHexDigit))
            throw new ArgumentException($"'{reference}' is not an LND invoice reference (a payment hash, 64 hex digits).", nameof(reference));

        var (invoice, refusal) = await CallAsync(
            "looking up an invoice",
            o => client.LookupInvoiceAsync(new PaymentHash { RHash = ByteString.CopyFrom(Convert.FromHexString(reference)) }, o),
            LndErrors.IsNotFound,
            cancellationToken);
        var key = reference.ToLowerInvariant();
        return refusal is not null
            ? new InvoiceUpdate(key, InvoiceState.NotFound, 0, 0, Cursor: null)
            : ToUpdate(invoice!, cursor: null);
    }

    /// <summary>
    /// Opens SubscribeInvoices resumed from <paramref name="cursor"/> (format: <see cref="LndFeedCursor"/>).
    /// lnd (a grpc-go server) sends response headers only with the first message, so a quiet subscription cannot be
    /// seen to be registered. To make it speak at once, the subscription also asks for the adds from just below the
    /// newest open or settled invoice, which lnd replays on registering it; this returns when that replay's headers
    /// arrive (the feed ignores adds, and a replayed settlement is one its catch-up has seen). A node with no such
    /// invoice beyond add_index 1 has nothing to replay: then this returns at once, and the feed scans again when the
    /// stream first speaks (see <see cref="LndSettlementFeed"/>), so a settlement made before the registration is
    /// still delivered.
    /// </summary>
    public async Task<ISettlementFeed> OpenSettlementFeedAsync(string? cursor, CancellationToken cancellationToken)
    {
        var position = LndFeedCursor.Parse(cursor);
        var newest = await ListInvoicesAsync(
            new ListInvoiceRequest { Reversed = true, NumMaxInvoices = MarkerCandidates }, "finding the newest invoices", cancellationToken);
        var lastAddIndex = newest.Invoices.Count > 0 ? newest.Invoices[^1].AddIndex : 0;
        position = await CheckIndexesAsync(position, lastAddIndex, cancellationToken);

        // lnd replays a backlog add only for an open or settled invoice (a canceled one is dropped), so ask for the
        // adds from just below the newest such invoice. add_index 0 would replay nothing.
        var marker = newest.Invoices.LastOrDefault(i => i.State is Invoice.Types.InvoiceState.Open or Invoice.Types.InvoiceState.Settled);
        var subscription = new InvoiceSubscription
        {
            SettleIndex = position.SettleIndex,
            AddIndex = marker is { AddIndex: > 1 } ? marker.AddIndex - 1 : 0,
        };
        var lifetime = new CancellationTokenSource();
        var call = client.SubscribeInvoices(subscription, new CallOptions(cancellationToken: lifetime.Token));
        var live = false;
        try
        {
            if (subscription.AddIndex > 0)
            {
                await call.ResponseHeadersAsync.WaitAsync(requestTimeout, time, cancellationToken);
                live = true;
            }
        }
        catch (TimeoutException)
        {
            // The replayed invoice was canceled in the meantime (lnd then drops it): carry on as with nothing to replay.
        }
        catch (Exception e)
        {
            call.Dispose();
            lifetime.Dispose();
            if (e is RpcException rpc)
                throw Map(rpc, "subscribing to invoices");
            throw;
        }
        return new LndSettlementFeed(this, call, lifetime, position, live);
    }

    /// <summary>
    /// GetInfo, whose identity_pubkey becomes the key every invoice must be payable to; with a macaroon that lacks
    /// info:read (lnd's stock invoice.macaroon), ListInvoices instead.
    /// </summary>
    public async Task CheckHealthAsync(CancellationToken cancellationToken)
    {
        var (info, refusal) = await CallAsync("checking the node (GetInfo)", o => client.GetInfoAsync(new GetInfoRequest(), o),
            LndErrors.IsPermissionDenied, cancellationToken);
        if (refusal is not null)
        {
            getInfoRefused = true;
            await ListInvoicesAsync(new ListInvoiceRequest { NumMaxInvoices = 1 }, "checking the node (ListInvoices)", cancellationToken);
            return;
        }
        await nodeKeyGate.WaitAsync(cancellationToken);
        try
        {
            await AdoptIdentityAsync(info!.IdentityPubkey, cancellationToken);
        }
        finally
        {
            nodeKeyGate.Release();
        }
    }

    /// <summary>
    /// For <c>doorman check</c>: reaches the node and reads one invoice (invoices:read), without what
    /// <see cref="CheckHealthAsync"/> also does, storing the node's key. Creating an invoice (invoices:write) is not
    /// tried: it would add one.
    /// </summary>
    internal Task ProbeAsync(CancellationToken cancellationToken) =>
        ListInvoicesAsync(new ListInvoiceRequest { NumMaxInvoices = 1 }, "checking the node (ListInvoices)", cancellationToken);

    public void Dispose()
    {
        channel.Dispose();
        nodeKeyGate.Dispose();
    }

    internal Task<ListInvoiceResponse> ListInvoicesAsync(ListInvoiceRequest request, string operation, CancellationToken cancellationToken) =>
        CallAsync(operation, o => client.ListInvoicesAsync(request, o), cancellationToken);

    internal PaymentBackendException Map(RpcException e, string operation) => LndErrors.Map(e, operation, settings.Address, settings.Pin);

    internal static InvoiceUpdate ToUpdate(Invoice invoice, string? cursor)
    {
        var state = invoice.State switch
        {
            Invoice.Types.InvoiceState.Settled => InvoiceState.Settled,
            Invoice.Types.InvoiceState.Canceled => InvoiceState.Canceled,
            // ACCEPTED is a hold invoice waiting for its preimage: not paid yet.
            _ => InvoiceState.Open,
        };
        return new InvoiceUpdate(
            Convert.ToHexStringLower(invoice.RHash.Span),
            state,
            invoice.ValueMsat,
            state == InvoiceState.Settled ? invoice.AmtPaidMsat : 0,
            cursor);
    }

    /// <summary>
    /// Falls back to a full rescan when the node's indexes no longer match the cursor: its newest add_index is below
    /// our watermark, or the invoice we last saw settled at S is not settled at S any more (renumbered indexes).
    /// Resuming from such a cursor would skip settlements whose new index is at or below S. Anything this cannot
    /// detect is still found by the bot's own lookups of pending orders.
    /// </summary>
    private async Task<LndFeedCursor> CheckIndexesAsync(LndFeedCursor position, ulong lastAddIndex, CancellationToken cancellationToken)
    {
        if (position.AddWatermark > lastAddIndex)
        {
            logger.LogWarning(
                "LND's newest invoice has add_index {LastAddIndex}, below the feed's watermark {Watermark}: its indexes went backwards; rescanning all invoices",
                lastAddIndex, position.AddWatermark);
            return LndFeedCursor.Start;
        }
        if (position.SettleIndex == 0)
            return position;

        var anchor = await ListInvoicesAsync(
            new ListInvoiceRequest { IndexOffset = position.SettleAddIndex - 1, NumMaxInvoices = 1 }, "checking the feed cursor", cancellationToken);
        if (anchor.Invoices.Count == 1 && anchor.Invoices[0].AddIndex == position.SettleAddIndex && anchor.Invoices[0].SettleIndex == position.SettleIndex)
            return position;
        logger.LogWarning(
            "LND no longer has the invoice settled at settle_index {SettleIndex} (add_index {AddIndex}): its indexes were renumbered; rescanning all invoices",
            position.SettleIndex, position.SettleAddIndex);
        return LndFeedCursor.Start;
    }

    /// <summary>
    /// Refuses an invoice that pays anyone but this node. BOLT #11: the payee is the 'n' field if present, otherwise
    /// the key recovered from the signature (<see cref="Bolt11Invoice.PayeePubKey"/>; the codec has checked that an
    /// 'n' field matches the signature). lnd signs an invoice without blinded paths (we never ask for them) with its
    /// node key, GetInfo's identity_pubkey (lnrpc/invoicesrpc/addinvoice.go AddInvoice: "the main node key is used to
    /// sign the invoice so that the sender can derive the true pub key of the recipient"). Without info:read (the
    /// stock invoice.macaroon; LND API docs: GetInfo requires info:read) the payee of the first invoice is pinned and
    /// kept in the bot's database, and later invoices must match it, across restarts too.
    /// </summary>
    private async Task CheckPayeeAsync(string payee, CancellationToken cancellationToken)
    {
        var expected = (await NodeKeyAsync(payee, cancellationToken))!;
        if (string.Equals(expected.PubKey, payee, StringComparison.Ordinal))
            return;
        // The exception's message leaves the keys out (it may reach people other than the operator); the operator's
        // log gets them, once, here.
        LogForeignPayee(payee, expected.PubKey, expected.FromGetInfo ? "its identity_pubkey from GetInfo" : "pinned from the first invoice");
        throw new PaymentBackendException(
            expected.FromGetInfo
                ? "LND returned an invoice whose payee is not this node (not the identity key GetInfo reports); not using it"
                : "LND returned an invoice whose payee is not this node (not the key pinned from the bot's first invoice); not using it. "
                    + "If the bot now uses another LND node, give it a macaroon with info:read so that it learns the new node's key",
            isTransient: false);
    }

    /// <summary>
    /// The key invoices must be payable to: GetInfo's identity_pubkey when the macaroon allows it, else the pinned key;
    /// with neither, <paramref name="firstPayee"/> (the payee of a just-made invoice) is pinned, or null is returned.
    /// </summary>
    private async Task<NodeKey?> NodeKeyAsync(string? firstPayee, CancellationToken cancellationToken)
    {
        if (nodeKey is { } known)
            return known;
        await nodeKeyGate.WaitAsync(cancellationToken);
        try
        {
            if (nodeKey is null && !getInfoRefused)
            {
                var (info, refusal) = await CallAsync("reading the node's identity (GetInfo)", o => client.GetInfoAsync(new GetInfoRequest(), o),
                    LndErrors.IsPermissionDenied, cancellationToken);
                if (refusal is null)
                    await AdoptIdentityAsync(info!.IdentityPubkey, cancellationToken);
                else
                    getInfoRefused = true;
            }
            if (nodeKey is null && await state.GetAsync(NodeKeyState, cancellationToken) is { } pinned)
                nodeKey = new NodeKey(pinned, FromGetInfo: false);
            if (nodeKey is null && firstPayee is not null)
            {
                await state.SetAsync(NodeKeyState, firstPayee, cancellationToken);
                LogPinned(firstPayee);
                nodeKey = new NodeKey(firstPayee, FromGetInfo: false);
            }
            return nodeKey;
        }
        finally
        {
            nodeKeyGate.Release();
        }
    }

    /// <summary>Takes GetInfo's identity_pubkey as the node's key, and stores it as the pin. The caller holds <see cref="nodeKeyGate"/>.</summary>
    private async Task AdoptIdentityAsync(string identityPubkey, CancellationToken cancellationToken)
    {
        // lnrpc GetInfoResponse.identity_pubkey: the node's compressed public key, hex (33 bytes).
        if (identityPubkey.Length != 66 || !identityPubkey.All(char.IsAsciiHexDigit) || identityPubkey[..2] is not ("02" or "03"))
            throw new PaymentBackendException("LND's GetInfo returned an identity_pubkey that is not a compressed public key", isTransient: false);
        var key = identityPubkey.ToLowerInvariant();
        if (nodeKey is { FromGetInfo: true } known && known.PubKey == key)
            return;
        var pinned = await state.GetAsync(NodeKeyState, cancellationToken);
        if (pinned != key)
        {
            if (pinned is not null)
                LogPinReplaced(key, pinned);
            await state.SetAsync(NodeKeyState, key, cancellationToken);
        }
        nodeKey = new NodeKey(key, FromGetInfo: true);
    }

    [LoggerMessage(LogLevel.Error, "LND returned an invoice payable to {PayeeKey}, but this node's key is {NodeKey} ({Source}); refused the invoice")]
    private partial void LogForeignPayee(string payeeKey, string nodeKey, string source);

    [LoggerMessage(LogLevel.Information, "The macaroon may not call GetInfo, so LND's node key {NodeKey} is pinned from the first invoice: "
        + "every later invoice must be payable to it")]
    private partial void LogPinned(string nodeKey);

    [LoggerMessage(LogLevel.Warning, "LND's identity key (GetInfo) is {NodeKey}, not the pinned {PinnedKey}: the bot now uses another node; pinned the new key")]
    private partial void LogPinReplaced(string nodeKey, string pinnedKey);

    /// <summary>The key invoices must be payable to, lowercase hex, and whether GetInfo said so (else it is the pin).</summary>
    private sealed record NodeKey(string PubKey, bool FromGetInfo);

    /// <summary>The call never reached lnd: the HTTP/2 connection failed under it (Grpc.Net.Client reports Unavailable or Internal).</summary>
    private static bool IsConnectionLost(RpcException e) =>
        e.StatusCode is StatusCode.Unavailable or StatusCode.Internal && e.Status.DebugException is HttpRequestException;

    private async Task<T> CallAsync<T>(string operation, Func<CallOptions, AsyncUnaryCall<T>> call, CancellationToken cancellationToken)
        where T : class =>
        (await CallAsync(operation, call, static _ => false, cancellationToken)).Response!;

    /// <summary>
    /// Runs one unary call within <see cref="LndOptions.RequestTimeout"/>; an RpcException that <paramref name="expected"/>
    /// accepts is returned, not thrown. A read that finds its pooled HTTP/2 connection dead (lnd restarted: the old
    /// connection's GOAWAY raced the request) is sent once more on a fresh connection; a write never is.
    /// </summary>
    private async Task<(T? Response, RpcException? Refusal)> CallAsync<T>(
        string operation, Func<CallOptions, AsyncUnaryCall<T>> call, Func<RpcException, bool> expected, CancellationToken cancellationToken,
        bool readOnly = true)
        where T : class
    {
        using var timeout = new CancellationTokenSource(requestTimeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            try
            {
                return (await call(new CallOptions(cancellationToken: linked.Token)), null);
            }
            catch (RpcException e) when (readOnly && IsConnectionLost(e))
            {
                return (await call(new CallOptions(cancellationToken: linked.Token)), null);
            }
        }
        catch (RpcException e) when (expected(e))
        {
            return (null, e);
        }
        catch (RpcException e)
        {
            throw Map(e, operation);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested && timeout.IsCancellationRequested)
        {
            throw new PaymentBackendException(
                string.Create(CultureInfo.InvariantCulture, $"LND at {settings.Address} did not answer within {requestTimeout.TotalSeconds:0.#} s when {operation}"),
                isTransient: true, e);
        }
    }
}
