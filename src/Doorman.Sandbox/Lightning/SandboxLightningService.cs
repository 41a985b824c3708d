using System.Globalization;
using System.Text;
using Grpc.Core;
using Lnrpc;

namespace Doorman.Sandbox.Lightning;

/// <summary>
/// lnrpc.Lightning as lnd serves it, for the calls Doorman makes. Validation rules and messages follow
/// rpcserver.go and lnrpc/invoicesrpc/addinvoice.go; error codes are InvalidArgument where lnd returns a plain
/// error (status Unknown), because a test double should say clearly what a caller did wrong.
/// </summary>
internal sealed class SandboxLightningService(SandboxNodeIdentity identity, SandboxLedger ledger) : Lnrpc.Lightning.LightningBase
{
    /// <summary>invoices.MaxMemoSize.</summary>
    private const int MaxMemoSize = 1024;

    /// <summary>addinvoice.go: "we'll reject an invoice with an expiry greater than 1 year".</summary>
    private const long MaxExpirySeconds = 365 * 24 * 3600;

    /// <summary>addinvoice.go DefaultInvoiceExpiry.</summary>
    private const long DefaultExpirySeconds = 24 * 3600;

    /// <summary>addinvoice.go: max invoice amount is 100k BTC.</summary>
    private const long MaxValueMsat = 100_000L * 100_000_000 * 1000;

    public override Task<GetInfoResponse> GetInfo(GetInfoRequest request, ServerCallContext context)
    {
        var response = new GetInfoResponse
        {
            Version = "0.21.2-beta commit=v0.21.2-beta (doorman sandbox)",
            CommitHash = "doorman-sandbox",
            IdentityPubkey = identity.PubKeyHex,
            Alias = "doorman-sandbox",
            NumActiveChannels = 1,
            NumPeers = 1,
            BlockHeight = 840_000,
            BlockHash = new string('0', 64),
            SyncedToChain = true,
            SyncedToGraph = true,
            WalletSynced = true,
        };
        #pragma warning disable CS0612 // lnd still fills the deprecated chain name.
        response.Chains.Add(new Chain { Chain_ = "bitcoin", Network = "regtest" });
#pragma warning restore CS0612
        return Task.FromResult(response);
    }

    public override Task<AddInvoiceResponse> AddInvoice(Invoice request, ServerCallContext context)
    {
        // lnrpc.UnmarshallAmt: ErrSatMsatMutualExclusive.
        if (request.Value != 0 && request.ValueMsat != 0)
            throw Invalid("sat and msat arguments are mutually exclusive");
        long valueMsat;
        try
        {
            valueMsat = request.ValueMsat != 0 ? request.ValueMsat : checked(request.Value * 1000);
        }
        catch (OverflowException)
        {
            throw Invalid($"invoice amount {request.Value} sat is too large, max is 100000 BTC");
        }

        var memoBytes = Encoding.UTF8.GetByteCount(request.Memo);
        if (memoBytes > MaxMemoSize)
            throw Invalid($"memo too large: {memoBytes} bytes (maxsize={MaxMemoSize})");
        if (request.DescriptionHash.Length is not (0 or 32))
            throw Invalid($"description hash is {request.DescriptionHash.Length} bytes, must be 32");
        if (valueMsat < 0)
            throw Invalid($"payments of negative value are not allowed, value is {valueMsat}");
        if (valueMsat > MaxValueMsat)
            throw Invalid($"invoice amount {valueMsat / 1000} sat is too large, max is 100000 BTC");
        if (request.Expiry > MaxExpirySeconds)
            throw Invalid(string.Create(CultureInfo.InvariantCulture,
                $"expiry of {request.Expiry} seconds greater than max expiry of {MaxExpirySeconds} seconds"));
        if (request.RPreimage.Length is not (0 or 32))
            throw Invalid($"payment preimage must be exactly 32 bytes, is instead {request.RPreimage.Length}");
        if (request.CltvExpiry != 0 && request.CltvExpiry is < 18 or > ushort.MaxValue)
            throw Invalid($"CLTV delta of {request.CltvExpiry} is out of range (18 to 65535)");

        Invoice added;
        try
        {
            added = ledger.Add(new SandboxLedger.NewInvoice(
                request.Memo,
                valueMsat,
                // addinvoice.go: a positive expiry is used as given; otherwise the 24 h default.
                request.Expiry > 0 ? request.Expiry : DefaultExpirySeconds,
                request.DescriptionHash.Length == 32 ? request.DescriptionHash.ToByteArray() : null,
                request.RPreimage.Length == 32 ? request.RPreimage.ToByteArray() : null,
                (long)request.CltvExpiry));
        }
        catch (ArgumentException e)
        {
            // zpay32 cannot encode it (e.g. a memo over the 639 bytes one BOLT11 field holds).
            throw Invalid(e.Message);
        }

        return Task.FromResult(new AddInvoiceResponse
        {
            RHash = added.RHash,
            PaymentRequest = added.PaymentRequest,
            AddIndex = added.AddIndex,
            PaymentAddr = added.PaymentAddr,
        });
    }

    public override Task<Invoice> LookupInvoice(PaymentHash request, ServerCallContext context)
    {
        byte[] hash;
        // The deprecated hex form is still accepted by lnd, and takes precedence over the bytes.
#pragma warning disable CS0612
        var hashString = request.RHashStr;
#pragma warning restore CS0612
        if (hashString.Length > 0)
        {
            try
            {
                hash = Convert.FromHexString(hashString);
            }
            catch (FormatException)
            {
                throw Invalid("encoding/hex: invalid byte in r_hash_str");
            }
        }
        else
        {
            hash = request.RHash.ToByteArray();
        }
        // rpcserver.go LookupInvoice: "Ensure that the payment hash is *exactly* 32-bytes."
        if (hash.Length is not (0 or 32))
            throw Invalid($"payment hash must be exactly 32 bytes, is instead {hash.Length}");

        var invoice = ledger.Lookup(hash)
            ?? throw new RpcException(new Status(StatusCode.NotFound, "unable to locate invoice"));
        return Task.FromResult(invoice);
    }

    public override Task<ListInvoiceResponse> ListInvoices(ListInvoiceRequest request, ServerCallContext context) =>
        Task.FromResult(ledger.Query(request));

    public override async Task SubscribeInvoices(
        InvoiceSubscription request, IServerStreamWriter<Invoice> responseStream, ServerCallContext context)
    {
        // Like grpc-go, send no response headers until the first message: a client cannot tell that the
        // subscription is registered before something arrives.
        var subscriber = ledger.Subscribe(request.AddIndex, request.SettleIndex);
        try
        {
            var reader = subscriber.Queue.Reader;
            while (await reader.WaitToReadAsync(context.CancellationToken))
            {
                while (reader.TryRead(out var invoice))
                    await responseStream.WriteAsync(invoice, context.CancellationToken);
            }
            if (subscriber.DropStatus is { } status)
                throw new RpcException(status);
        }
        finally
        {
            ledger.Unsubscribe(subscriber);
        }
    }

    private static RpcException Invalid(string message) => new(new Status(StatusCode.InvalidArgument, message));
}

/// <summary>The node's identity key (signs invoices) and its public key.</summary>
internal sealed class SandboxNodeIdentity(byte[] privateKey, string pubKeyHex)
{
    public byte[] PrivateKey { get; } = privateKey;
    public string PubKeyHex { get; } = pubKeyHex;
}
