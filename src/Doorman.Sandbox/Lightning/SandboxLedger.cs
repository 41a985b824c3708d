using System.Security.Cryptography;
using System.Threading.Channels;
using Doorman.Payments.Bolt11;
using Google.Protobuf;
using Grpc.Core;
using Lnrpc;

namespace Doorman.Sandbox.Lightning;

/// <summary>
/// The node's invoice database and notification dispatcher, kept to lnd's rules (invoices/invoiceregistry.go,
/// channeldb/invoices.go, rpcserver.go). One lock orders every change and every notification, so a subscriber's
/// backlog and its live updates never overlap or leave a gap.
/// </summary>
internal sealed class SandboxLedger : IDisposable
{
    public const string Network = "bcrt";

    /// <summary>lnd's default final CLTV delta (chainreg.DefaultBitcoinTimeLockDelta).</summary>
    private const long DefaultCltvExpiry = 80;

    /// <summary>lnd's invoice features: var_onion_optin and payment_secret required, basic_mpp optional (feature/default_sets.go).</summary>
    private static readonly int[] InvoiceFeatures = [8, 14, 17];

    private readonly Lock gate = new();
    private readonly List<Entry> invoices = [];
    private readonly Dictionary<string, Entry> byHash = new(StringComparer.Ordinal);
    private readonly List<Subscriber> subscribers = [];
    private readonly TimeProvider time;
    private byte[] signingKey;
    private readonly Func<Bolt11InvoiceDraft, Bolt11InvoiceDraft>? tamper;
    private ulong lastAddIndex;
    private ulong lastSettleIndex;
    private int settleIndexSkip;
    private Status? closed;
    private bool disposed;

    public SandboxLedger(TimeProvider time, byte[] nodeKey, Func<Bolt11InvoiceDraft, Bolt11InvoiceDraft>? tamper)
    {
        this.time = time;
        signingKey = nodeKey;
        this.tamper = tamper;
    }

    public sealed record NewInvoice(string Memo, long ValueMsat, long ExpirySeconds, byte[]? DescriptionHash, byte[]? Preimage, long CltvExpiry);

    /// <summary>Creates, signs and stores an invoice; notifies subscribers of the add.</summary>
    public Invoice Add(NewInvoice request)
    {
        var preimage = request.Preimage ?? RandomNumberGenerator.GetBytes(32);
        var hash = SHA256.HashData(preimage);
        var paymentAddr = RandomNumberGenerator.GetBytes(32);
        var created = DateTimeOffset.FromUnixTimeSeconds(time.GetUtcNow().ToUnixTimeSeconds());

        var draft = Bolt11InvoiceDraft.Create(
            Network, request.ValueMsat > 0 ? request.ValueMsat : null, created, hash, paymentAddr, request.Memo,
            request.ExpirySeconds, request.CltvExpiry == 0 ? DefaultCltvExpiry : request.CltvExpiry, InvoiceFeatures);
        if (request.DescriptionHash is not null)
            draft = draft.WithField(Bolt11TaggedField.DescriptionType, Bolt11TaggedField.DescriptionHash(request.DescriptionHash));
        if (tamper is not null)
            draft = tamper(draft);
        var paymentRequest = Bolt11Codec.Encode(draft, Volatile.Read(ref signingKey));

        lock (gate)
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            var hashHex = Convert.ToHexStringLower(hash);
            if (byHash.ContainsKey(hashHex))
                throw new RpcException(new Status(StatusCode.AlreadyExists, "invoice with payment hash already exists"));
            var entry = new Entry
            {
                Hash = hash,
                HashHex = hashHex,
                Preimage = preimage,
                PaymentAddr = paymentAddr,
                Memo = request.Memo,
                ValueMsat = request.ValueMsat,
                DescriptionHash = request.DescriptionHash,
                ExpirySeconds = request.ExpirySeconds,
                CltvExpiry = request.CltvExpiry == 0 ? DefaultCltvExpiry : request.CltvExpiry,
                CreatedAt = created,
                PaymentRequest = paymentRequest,
                AddIndex = ++lastAddIndex,
            };
            invoices.Add(entry);
            byHash.Add(hashHex, entry);
            // lnd's expiry watcher cancels an open invoice when it expires (invoices/invoice_expiry_watcher.go).
            entry.ExpiryTimer = time.CreateTimer(
                static state => ((ExpiryTarget)state!).Fire(), new ExpiryTarget(this, entry),
                TimeSpan.FromSeconds(entry.ExpirySeconds), Timeout.InfiniteTimeSpan);
            Dispatch(entry);
            return ToProto(entry);
        }
    }

    /// <summary>The invoice with this payment hash, or null.</summary>
    public Invoice? Lookup(byte[] hash)
    {
        lock (gate)
            return byHash.TryGetValue(Convert.ToHexStringLower(hash), out var entry) ? ToProto(entry) : null;
    }

    /// <summary>
    /// lnd's QueryInvoices: pages by add_index; forward takes invoices after index_offset, reversed
    /// takes those before it (index_offset 0: from the newest) and returns them in ascending order. Empty result: both offsets 0.
    /// </summary>
    public ListInvoiceResponse Query(ListInvoiceRequest request)
    {
        var max = request.NumMaxInvoices == 0 ? 100UL : request.NumMaxInvoices;
        var response = new ListInvoiceResponse();
        lock (gate)
        {
            IEnumerable<Entry> candidates = request.Reversed
                ? invoices.Where(e => request.IndexOffset == 0 || e.AddIndex < request.IndexOffset).Reverse()
                : invoices.Where(e => e.AddIndex > request.IndexOffset);
            var page = candidates
                .Where(e => !request.PendingOnly || e.State is SandboxInvoiceState.Open or SandboxInvoiceState.Accepted)
                .Where(e => request.CreationDateStart == 0 || (ulong)e.CreatedAt.ToUnixTimeSeconds() >= request.CreationDateStart)
                .Where(e => request.CreationDateEnd == 0 || (ulong)e.CreatedAt.ToUnixTimeSeconds() <= request.CreationDateEnd)
                .Take((int)Math.Min(max, int.MaxValue))
                .OrderBy(e => e.AddIndex)
                .ToList();
            response.Invoices.AddRange(page.Select(ToProto));
            if (page.Count > 0)
            {
                response.FirstIndexOffset = page[0].AddIndex;
                response.LastIndexOffset = page[^1].AddIndex;
            }
        }
        return response;
    }

    /// <summary>
    /// Registers a SubscribeInvoices client. Its backlog goes first: adds with add_index above
    /// <paramref name="addIndex"/>, then settlements with settle_index above <paramref name="settleIndex"/>; 0 means
    /// no backlog for that index (channeldb InvoicesAddedSince / InvoicesSettledSince return nothing for 0).
    /// </summary>
    public Subscriber Subscribe(ulong addIndex, ulong settleIndex)
    {
        var subscriber = new Subscriber(addIndex, settleIndex);
        lock (gate)
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            if (closed is { } status)
            {
                // A call that slipped in while the node shuts down ends as the others did.
                subscriber.DropStatus = status;
                subscriber.Queue.Writer.TryComplete();
                return subscriber;
            }
            if (addIndex > 0)
            {
                // Backlog adds go out in their current state, and the client's dispatcher drops any that are neither
                // open nor settled (invoiceregistry.go SubscribeNotifications: "unknown invoice state"): a replayed
                // add of a paid invoice reaches the stream as a settlement, one of a canceled invoice not at all.
                foreach (var entry in invoices.Where(e => e.AddIndex > addIndex && e.State is SandboxInvoiceState.Open or SandboxInvoiceState.Settled))
                    subscriber.Queue.Writer.TryWrite(ToProto(entry));
            }
            if (settleIndex > 0)
            {
                foreach (var entry in invoices.Where(e => e.SettleIndex > settleIndex).OrderBy(e => e.SettleIndex))
                    subscriber.Queue.Writer.TryWrite(ToProto(entry));
            }
            subscribers.Add(subscriber);
        }
        return subscriber;
    }

    public void Unsubscribe(Subscriber subscriber)
    {
        lock (gate)
            subscribers.Remove(subscriber);
    }

    /// <summary>Ends every open stream; each handler then fails its call with <paramref name="status"/>.</summary>
    public void DropSubscribers(Status status)
    {
        lock (gate)
        {
            DropAll(status);
        }
    }

    /// <summary>Ends every stream, and every stream opened until <see cref="Reopen"/>, with <paramref name="status"/>.</summary>
    public void Close(Status status)
    {
        lock (gate)
        {
            closed = status;
            DropAll(status);
        }
    }

    public void Reopen()
    {
        lock (gate)
            closed = null;
    }

    // Callers hold the lock.
    private void DropAll(Status status)
    {
        foreach (var subscriber in subscribers)
        {
            subscriber.DropStatus = status;
            subscriber.Queue.Writer.TryComplete();
        }
        subscribers.Clear();
    }

    /// <summary>Invoices added from now on are signed by <paramref name="privateKey"/> (32 bytes, secp256k1).</summary>
    public void SignWith(byte[] privateKey) => Volatile.Write(ref signingKey, privateKey);

    public void SkipSettleIndex(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        lock (gate)
            settleIndexSkip += count;
    }

    /// <summary>Renumbers add indexes 1..n in add order and settle indexes 1..m in settle order (gaps close).</summary>
    public void RenumberIndexes()
    {
        lock (gate)
        {
            ulong add = 0, settle = 0;
            foreach (var entry in invoices)
                entry.AddIndex = ++add;
            foreach (var entry in invoices.Where(e => e.SettleIndex > 0).OrderBy(e => e.SettleIndex))
                entry.SettleIndex = ++settle;
            lastAddIndex = add;
            lastSettleIndex = settle;
            settleIndexSkip = 0;
        }
    }

    /// <summary>Settles an open invoice as an incoming payment of <paramref name="amountMsat"/> would.</summary>
    public void Pay(string paymentHashHex, long? amountMsat)
    {
        lock (gate)
        {
            if (!byHash.TryGetValue(paymentHashHex, out var entry))
                throw new InvalidOperationException($"The sandbox node has no invoice with payment hash {paymentHashHex}.");
            if (entry.State == SandboxInvoiceState.Open && time.GetUtcNow() >= entry.ExpiresAt)
                Expire(entry);
            if (entry.State != SandboxInvoiceState.Open)
                throw new InvalidOperationException($"Invoice {paymentHashHex} is {entry.State.ToString().ToLowerInvariant()}, not open.");

            var amount = amountMsat ?? (entry.ValueMsat > 0
                ? entry.ValueMsat
                : throw new InvalidOperationException($"Invoice {paymentHashHex} has no amount; say how much to pay."));
            if (amount <= 0)
                throw new ArgumentOutOfRangeException(nameof(amountMsat), "A payment is positive.");
            // lnd refuses HTLC sets below the invoice amount (invoices/update.go: ErrInvoiceAmountTooLow) and takes
            // more than asked (the amt_paid_sat comment in lightning.proto: "may be greater than the invoice value").
            if (amount < entry.ValueMsat)
                throw new InvalidOperationException($"Paid amount {amount} msat is less than the invoice amount {entry.ValueMsat} msat.");

            entry.State = SandboxInvoiceState.Settled;
            entry.AmountPaidMsat = amount;
            entry.SettledAt = time.GetUtcNow();
            lastSettleIndex += (ulong)settleIndexSkip + 1;
            settleIndexSkip = 0;
            entry.SettleIndex = lastSettleIndex;
            entry.ExpiryTimer?.Dispose();
            Dispatch(entry);
        }
    }

    public IReadOnlyList<SandboxInvoice> Snapshot()
    {
        lock (gate)
        {
            return [.. invoices.Select(e => new SandboxInvoice(
                e.HashHex, e.ValueMsat, e.AmountPaidMsat, e.State, e.AddIndex, e.SettleIndex, e.Memo, e.PaymentRequest,
                e.CreatedAt, e.ExpiresAt))];
        }
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

    private void Expire(Entry entry)
    {
        lock (gate)
        {
            if (entry.State != SandboxInvoiceState.Open)
                return;
            // A canceled invoice is final. SubscribeInvoices is not told (invoiceregistry.go: "For backwards
            // compatibility, do not notify all invoice subscribers of cancel and accept events").
            entry.State = SandboxInvoiceState.Canceled;
            entry.ExpiryTimer?.Dispose();
        }
    }

    // invoiceregistry.go dispatchToClients: each client gets an add or settle once, skipped when its index is not
    // above the last one sent to that client.
    private void Dispatch(Entry entry)
    {
        foreach (var subscriber in subscribers)
        {
            if (entry.State == SandboxInvoiceState.Settled)
            {
                if (subscriber.SettleIndex >= entry.SettleIndex)
                    continue;
                subscriber.SettleIndex = entry.SettleIndex;
            }
            else
            {
                if (subscriber.AddIndex >= entry.AddIndex)
                    continue;
                subscriber.AddIndex = entry.AddIndex;
            }
            subscriber.Queue.Writer.TryWrite(ToProto(entry));
        }
    }

    // lnd still fills its deprecated fields (settled, amt_paid) for old clients; so do we.
#pragma warning disable CS0612
    private static Invoice ToProto(Entry e)
    {
        var invoice = new Invoice
        {
            Memo = e.Memo,
            RPreimage = ByteString.CopyFrom(e.Preimage),
            RHash = ByteString.CopyFrom(e.Hash),
            Value = e.ValueMsat / 1000,
            ValueMsat = e.ValueMsat,
            Settled = e.State == SandboxInvoiceState.Settled,
            CreationDate = e.CreatedAt.ToUnixTimeSeconds(),
            SettleDate = e.SettledAt?.ToUnixTimeSeconds() ?? 0,
            PaymentRequest = e.PaymentRequest,
            Expiry = e.ExpirySeconds,
            CltvExpiry = (ulong)e.CltvExpiry,
            AddIndex = e.AddIndex,
            SettleIndex = e.SettleIndex,
            AmtPaid = e.AmountPaidMsat,
            AmtPaidSat = e.AmountPaidMsat / 1000,
            AmtPaidMsat = e.AmountPaidMsat,
            State = e.State switch
            {
                SandboxInvoiceState.Settled => Invoice.Types.InvoiceState.Settled,
                SandboxInvoiceState.Canceled => Invoice.Types.InvoiceState.Canceled,
                SandboxInvoiceState.Accepted => Invoice.Types.InvoiceState.Accepted,
                _ => Invoice.Types.InvoiceState.Open,
            },
            PaymentAddr = ByteString.CopyFrom(e.PaymentAddr),
        };
        if (e.DescriptionHash is not null)
            invoice.DescriptionHash = ByteString.CopyFrom(e.DescriptionHash);
        return invoice;
    }
#pragma warning restore CS0612

    private sealed class Entry
    {
        public required byte[] Hash { get; init; }
        public required string HashHex { get; init; }
        public required byte[] Preimage { get; init; }
        public required byte[] PaymentAddr { get; init; }
        public required string Memo { get; init; }
        public required long ValueMsat { get; init; }
        public required byte[]? DescriptionHash { get; init; }
        public required long ExpirySeconds { get; init; }
        public required long CltvExpiry { get; init; }
        public required DateTimeOffset CreatedAt { get; init; }
        public required string PaymentRequest { get; init; }
        public required ulong AddIndex { get; set; }
        public ulong SettleIndex { get; set; }
        public SandboxInvoiceState State { get; set; }
        public long AmountPaidMsat { get; set; }
        public DateTimeOffset? SettledAt { get; set; }
        public ITimer? ExpiryTimer { get; set; }
        public DateTimeOffset ExpiresAt => CreatedAt.AddSeconds(ExpirySeconds);
    }

    private sealed class ExpiryTarget(SandboxLedger ledger, Entry entry)
    {
        public void Fire() => ledger.Expire(entry);
    }

    /// <summary>One SubscribeInvoices stream: its queue and the last add/settle index sent to it.</summary>
    public sealed class Subscriber(ulong addIndex, ulong settleIndex)
    {
        public Channel<Invoice> Queue { get; } = Channel.CreateUnbounded<Invoice>(new UnboundedChannelOptions { SingleReader = true });
        public ulong AddIndex { get; set; } = addIndex;
        public ulong SettleIndex { get; set; } = settleIndex;
        public Status? DropStatus { get; set; }
    }
}
