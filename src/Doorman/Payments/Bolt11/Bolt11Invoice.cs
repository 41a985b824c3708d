namespace Doorman.Payments.Bolt11;

/// <summary>A decoded BOLT #11 invoice. Hex strings are lowercase.</summary>
/// <param name="Network">The currency prefix after "ln": "bc" (mainnet), "tb" (testnet), "tbs" (signet), "bcrt" (regtest), "sb" (simnet).</param>
/// <param name="AmountMsat">Null for an invoice of any amount.</param>
/// <param name="PaymentHash">The first valid 'p' field (BOLT #11: a payer uses the first one it did not skip).</param>
/// <param name="PaymentSecret">The 's' field, if any.</param>
/// <param name="Description">The 'd' field, if any.</param>
/// <param name="DescriptionHash">The 'h' field, if any.</param>
/// <param name="ExpirySeconds">The 'x' field; 3600 when absent.</param>
/// <param name="MinFinalCltvExpiry">The 'c' field; 18 when absent.</param>
/// <param name="Features">Feature bits set in the '9' field, ascending.</param>
/// <param name="PayeePubKey">33-byte compressed key: the 'n' field, or recovered from the signature.</param>
/// <param name="IsSignatureValid">
/// False only when an 'n' field names a key the signature does not verify against; without 'n' the key is
/// recovered from the signature, so a decodable invoice is signed by <paramref name="PayeePubKey"/> by definition.
/// </param>
/// <param name="Fields">Every tagged field in the order signed, including unknown and skipped ones.</param>
public sealed record Bolt11Invoice(
    string Network,
    long? AmountMsat,
    DateTimeOffset Timestamp,
    string PaymentHash,
    string? PaymentSecret,
    string? Description,
    string? DescriptionHash,
    long ExpirySeconds,
    long MinFinalCltvExpiry,
    IReadOnlyList<int> Features,
    string PayeePubKey,
    bool IsSignatureValid,
    IReadOnlyList<Bolt11TaggedField> Fields)
{
    /// <summary>
    /// Feature bits a payer must understand (BOLT #9 assigns them for invoices): var_onion_optin, payment_secret,
    /// basic_mpp, option_route_blinding, option_payment_metadata.
    /// </summary>
    private static readonly HashSet<int> KnownFeatures = [8, 9, 14, 15, 16, 17, 24, 25, 48, 49];

    /// <summary>Timestamp plus expiry; a payer SHOULD NOT pay after it (BOLT #11 "Payer / Payee Requirements").</summary>
    public DateTimeOffset ExpiresAt =>
        ExpirySeconds >= (DateTimeOffset.MaxValue - Timestamp).TotalSeconds
            ? DateTimeOffset.MaxValue
            : Timestamp.AddSeconds(ExpirySeconds);

    /// <summary>
    /// Even (compulsory) feature bits this decoder does not know. BOLT #11 says a payer MUST fail such a payment;
    /// we only decode (our node is the payee), so like lnd's zpay32 we report them instead of refusing to decode.
    /// </summary>
    public IReadOnlyList<int> UnknownRequiredFeatures => [.. Features.Where(b => b % 2 == 0 && !KnownFeatures.Contains(b))];

    /// <summary>The unsigned content, for re-encoding (optionally with changes) and signing again.</summary>
    public Bolt11InvoiceDraft ToDraft() => new(Network, AmountMsat, Timestamp, Fields);
}

/// <summary>What <see cref="Bolt11Codec.Encode"/> signs: the human-readable part's network and amount, the timestamp, and the tagged fields in order.</summary>
/// <param name="Network">As in <see cref="Bolt11Invoice.Network"/>.</param>
/// <param name="AmountMsat">Positive, or null for any amount.</param>
public sealed record Bolt11InvoiceDraft(
    string Network,
    long? AmountMsat,
    DateTimeOffset Timestamp,
    IReadOnlyList<Bolt11TaggedField> Fields)
{
    /// <summary>
    /// The fields lnd writes for an ordinary invoice, in lnd's order (zpay32/encode.go writeTaggedFields: p, d, h, m,
    /// c, x, f, r, b, n, s, 9): payment hash, description, min_final_cltv_expiry, expiry, payment secret, features.
    /// </summary>
    public static Bolt11InvoiceDraft Create(
        string network,
        long? amountMsat,
        DateTimeOffset timestamp,
        ReadOnlySpan<byte> paymentHash,
        ReadOnlySpan<byte> paymentSecret,
        string description,
        long expirySeconds,
        long minFinalCltvExpiry,
        IEnumerable<int> features) =>
        new(network, amountMsat, timestamp,
        [
            Bolt11TaggedField.PaymentHash(paymentHash),
            Bolt11TaggedField.Description(description),
            Bolt11TaggedField.MinFinalCltvExpiry(minFinalCltvExpiry),
            Bolt11TaggedField.Expiry(expirySeconds),
            Bolt11TaggedField.PaymentSecret(paymentSecret),
            Bolt11TaggedField.Features(features),
        ]);

    /// <summary>A copy with every field of <paramref name="type"/> replaced by <paramref name="replacement"/>.</summary>
    public Bolt11InvoiceDraft WithField(int type, Bolt11TaggedField replacement) =>
        this with { Fields = [.. Fields.Select(f => f.Type == type ? replacement : f)] };
}
