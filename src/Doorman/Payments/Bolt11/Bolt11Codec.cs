using System.Collections.Frozen;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using NBitcoin.Secp256k1;
using SHA256 = System.Security.Cryptography.SHA256;

namespace Doorman.Payments.Bolt11;

/// <summary>Decodes and encodes BOLT #11 payment requests. Section names in comments refer to BOLT #11.</summary>
public static class Bolt11Codec
{
    /// <summary>Currency prefixes after "ln" (BOLT #11 "Human-Readable Part"; signet and simnet as lnd's chain params spell them).</summary>
    public static readonly FrozenSet<string> KnownNetworks = new[] { "bc", "tb", "tbs", "bcrt", "sb" }.ToFrozenSet(StringComparer.Ordinal);

    private const int TimestampWords = 7;   // 35 bits
    private const int SignatureWords = 104; // 520 bits: 64-byte compact signature + recovery id
    private const long MsatPerBtc = 100_000_000_000;
    private const long DefaultExpirySeconds = 3600;
    private const long DefaultMinFinalCltvExpiry = 18;
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>
    /// Decodes <paramref name="paymentRequest"/> (upper or lower case, optionally prefixed "lightning:").
    /// Throws <see cref="FormatException"/> saying what is wrong.
    /// </summary>
    public static Bolt11Invoice Decode(string paymentRequest)
    {
        ArgumentNullException.ThrowIfNull(paymentRequest);
        var text = paymentRequest.Trim();
        // "Encoding Overview": the URI scheme is 'lightning:' followed by the invoice (not 'lightning://').
        if (text.StartsWith("lightning:", StringComparison.OrdinalIgnoreCase))
            text = text["lightning:".Length..];

        string hrp;
        byte[] words;
        try
        {
            (hrp, words) = Bech32.Decode(text);
        }
        catch (FormatException e)
        {
            throw new FormatException($"Not a BOLT #11 invoice: it {e.Message}.", e);
        }

        var (network, amountMsat) = ParseHumanReadablePart(hrp);
        if (words.Length < TimestampWords + SignatureWords)
            throw Invalid("its data part is too short to hold a timestamp and a signature");

        var timestamp = DateTimeOffset.FromUnixTimeSeconds((long)ReadUInt(words.AsSpan(0, TimestampWords)));
        var signed = words.AsSpan(0, words.Length - SignatureWords);
        var fields = ReadFields(signed[TimestampWords..]);

        string? paymentHash = null, paymentSecret = null, description = null, descriptionHash = null;
        byte[]? payeeKey = null;
        long? expiry = null, minFinalCltv = null;
        List<int>? features = null;
        foreach (var field in fields)
        {
            // "Tagged Fields", reader: skip p, h, s, n fields whose data_length is not 52, 52, 52, 53; keep the first of each.
            switch (field.Type)
            {
                case Bolt11TaggedField.PaymentHashType when field.Words.Length == 52 && paymentHash is null:
                    paymentHash = Convert.ToHexStringLower(Bytes(field));
                    break;
                case Bolt11TaggedField.PaymentSecretType when field.Words.Length == 52 && paymentSecret is null:
                    paymentSecret = Convert.ToHexStringLower(Bytes(field));
                    break;
                case Bolt11TaggedField.DescriptionHashType when field.Words.Length == 52 && descriptionHash is null:
                    descriptionHash = Convert.ToHexStringLower(Bytes(field));
                    break;
                case Bolt11TaggedField.PayeePubKeyType when field.Words.Length == 53 && payeeKey is null:
                    payeeKey = Bytes(field);
                    break;
                case Bolt11TaggedField.DescriptionType when description is null:
                    try
                    {
                        description = StrictUtf8.GetString(Bytes(field));
                    }
                    catch (DecoderFallbackException e)
                    {
                        throw Invalid("its description ('d' field) is not valid UTF-8", e);
                    }
                    break;
                case Bolt11TaggedField.ExpiryType when expiry is null:
                    expiry = IntField(field);
                    break;
                case Bolt11TaggedField.MinFinalCltvExpiryType when minFinalCltv is null:
                    minFinalCltv = IntField(field);
                    break;
                case Bolt11TaggedField.FeaturesType when features is null:
                    features = FeatureBits(field.Words);
                    break;
            }
        }

        if (paymentHash is null)
            throw Invalid("it has no payment hash ('p' field of 52 words)");
        // lnd's zpay32 validateInvoice requires exactly one of them; BOLT #11 makes the writer include one.
        if (description is null && descriptionHash is null)
            throw Invalid("it has neither a description ('d') nor a description hash ('h')");
        if (description is not null && descriptionHash is not null)
            throw Invalid("it has both a description ('d') and a description hash ('h')");

        // "Data Part": the signature covers SHA-256 of the human-readable part's UTF-8 bytes followed by the data
        // words (timestamp and tagged fields) packed into bytes, zero-padded to a byte boundary.
        var message = SigningHash(hrp, signed);
        var signature = Bech32.ConvertBits(words.AsSpan(words.Length - SignatureWords), 5, 8, pad: false)!;
        var recoveryId = signature[64];
        if (recoveryId > 3)
            throw Invalid($"its signature's recovery id is {recoveryId}, not 0 to 3");

        bool valid;
        if (payeeKey is not null)
        {
            // "Tagged Fields", reader: with a valid 'n' field, verify against it instead of recovering.
            if (!Context.Instance.TryCreatePubKey(payeeKey, out var compressed, out var key) || !compressed)
                throw Invalid("its payee key ('n' field) is not a compressed secp256k1 public key");
            valid = SecpECDSASignature.TryCreateFromCompact(signature.AsSpan(0, 64), out var sig) && key!.SigVerify(sig!, message);
        }
        else
        {
            if (!SecpRecoverableECDSASignature.TryCreateFromCompact(signature.AsSpan(0, 64), recoveryId, out var sig)
                || !ECPubKey.TryRecover(Context.Instance, sig!, message, out var recovered))
                throw Invalid("its signature is not recoverable, so the payee is unknown");
            payeeKey = recovered!.ToBytes(compressed: true);
            valid = true;
        }

        return new Bolt11Invoice(
            network,
            amountMsat,
            timestamp,
            paymentHash,
            paymentSecret,
            description,
            descriptionHash,
            expiry ?? DefaultExpirySeconds,
            minFinalCltv ?? DefaultMinFinalCltvExpiry,
            features ?? [],
            Convert.ToHexStringLower(payeeKey),
            valid,
            fields);
    }

    /// <summary>
    /// Signs <paramref name="draft"/> with a 32-byte secp256k1 <paramref name="privateKey"/> and encodes it in
    /// lowercase. RFC 6979 nonces make the result deterministic, so the spec's examples re-encode exactly.
    /// </summary>
    public static string Encode(Bolt11InvoiceDraft draft, ReadOnlySpan<byte> privateKey)
    {
        ArgumentNullException.ThrowIfNull(draft);
        if (draft.Network.Length == 0 || !draft.Network.All(char.IsAsciiLetterLower))
            throw new ArgumentException($"'{draft.Network}' is not a currency prefix (lowercase letters)", nameof(draft));
        var hrp = "ln" + draft.Network + FormatAmount(draft.AmountMsat);

        var seconds = draft.Timestamp.ToUnixTimeSeconds();
        if (seconds < 0 || seconds >= 1L << 35)
            throw new ArgumentOutOfRangeException(nameof(draft), "the timestamp does not fit BOLT #11's 35 bits");

        var data = new List<byte>(TimestampWords + draft.Fields.Sum(f => f.Words.Length + 3) + SignatureWords);
        for (var shift = 30; shift >= 0; shift -= 5)
            data.Add((byte)((seconds >> shift) & 31));
        foreach (var field in draft.Fields)
        {
            if (field.Type is < 0 or > 31)
                throw new ArgumentException($"tagged field type {field.Type} is not 0 to 31", nameof(draft));
            if (field.Words.Length > Bolt11TaggedField.MaxWords)
                throw new ArgumentException($"field '{field.Tag}' has {field.Words.Length} words; at most 1023 fit", nameof(draft));
            if (field.Words.Any(w => w > 31))
                throw new ArgumentException($"field '{field.Tag}' has a word above 31", nameof(draft));
            data.Add((byte)field.Type);
            data.Add((byte)(field.Words.Length >> 5));
            data.Add((byte)(field.Words.Length & 31));
            data.AddRange(field.Words);
        }

        if (!ECPrivKey.TryCreate(privateKey, out var key))
            throw new ArgumentException("not a valid secp256k1 private key", nameof(privateKey));
        using (key)
        {
            var message = SigningHash(hrp, [.. data]);
            if (!key!.TrySignRecoverable(message, out var signature))
                throw new CryptographicException("secp256k1 signing failed");
            Span<byte> sig = stackalloc byte[65];
            signature!.WriteToSpanCompact(sig[..64], out var recoveryId);
            sig[64] = (byte)recoveryId;
            data.AddRange(Bech32.ConvertBits(sig, 8, 5, pad: true)!);
        }
        return Bech32.Encode(hrp, [.. data]);
    }

    // "Human-Readable Part": 'ln' + currency prefix + optional amount (digits, no leading zero) + optional multiplier.
    private static (string Network, long? AmountMsat) ParseHumanReadablePart(string hrp)
    {
        if (!hrp.StartsWith("ln", StringComparison.Ordinal))
            throw Invalid($"its prefix '{hrp}' does not start with 'ln'");
        var rest = hrp[2..];
        var digits = rest.AsSpan().IndexOfAnyInRange('0', '9');
        var network = digits < 0 ? rest : rest[..digits];
        if (!KnownNetworks.Contains(network))
            throw Invalid($"its currency prefix '{network}' is unknown (known: {string.Join(", ", KnownNetworks)})");
        if (digits < 0)
            return (network, null);

        var amount = rest[digits..];
        var multiplier = amount[^1];
        var number = char.IsAsciiDigit(multiplier) ? amount : amount[..^1];
        if (!number.All(char.IsAsciiDigit))
            throw Invalid($"its amount '{amount}' is not a number followed by an optional multiplier");
        if (!char.IsAsciiDigit(multiplier) && multiplier is not ('m' or 'u' or 'n' or 'p'))
            throw Invalid($"its amount '{amount}' has the unknown multiplier '{multiplier}' (m, u, n or p)");
        if (number[0] == '0')
            throw Invalid($"its amount '{amount}' is zero or has a leading zero");

        // Amounts are in bitcoin; 'p' (pico) is a tenth of a millisatoshi, so it must end in 0.
        if (!decimal.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value > 100_000_000_000_000_000_000m)
            throw Invalid($"its amount '{amount}' is too large");
        var msat = multiplier switch
        {
            'm' => value * (MsatPerBtc / 1_000),
            'u' => value * (MsatPerBtc / 1_000_000),
            'n' => value * (MsatPerBtc / 1_000_000_000),
            'p' => value / 10,
            _ => value * MsatPerBtc,
        };
        if (msat != decimal.Truncate(msat))
            throw Invalid($"its amount '{amount}' is not a whole number of millisatoshis (a 'p' amount must end in 0)");
        if (msat > long.MaxValue)
            throw Invalid($"its amount '{amount}' is too large");
        return (network, (long)msat);
    }

    // "SHOULD use the shortest representation possible, by using the largest multiplier or omitting the multiplier."
    private static string FormatAmount(long? amountMsat)
    {
        if (amountMsat is null)
            return "";
        if (amountMsat <= 0)
            throw new ArgumentOutOfRangeException(nameof(amountMsat), "an invoice amount is positive (null for any amount)");
        var msat = amountMsat.Value;
        if (msat % MsatPerBtc == 0) return (msat / MsatPerBtc).ToString(CultureInfo.InvariantCulture);
        if (msat % 100_000_000 == 0) return (msat / 100_000_000).ToString(CultureInfo.InvariantCulture) + "m";
        if (msat % 100_000 == 0) return (msat / 100_000).ToString(CultureInfo.InvariantCulture) + "u";
        if (msat % 100 == 0) return (msat / 100).ToString(CultureInfo.InvariantCulture) + "n";
        return ((decimal)msat * 10).ToString(CultureInfo.InvariantCulture) + "p";
    }

    private static List<Bolt11TaggedField> ReadFields(ReadOnlySpan<byte> words)
    {
        var fields = new List<Bolt11TaggedField>();
        var position = 0;
        while (position < words.Length)
        {
            if (words.Length - position < 3)
                throw Invalid("a tagged field is cut off before its length");
            var type = words[position];
            var length = words[position + 1] * 32 + words[position + 2];
            position += 3;
            if (length > words.Length - position)
                throw Invalid($"tagged field '{Bech32.Charset[type]}' says {length} words but only {words.Length - position} remain");
            fields.Add(new Bolt11TaggedField(type, words.Slice(position, length).ToArray()));
            position += length;
        }
        return fields;
    }

    private static byte[] Bytes(Bolt11TaggedField field) =>
        Bech32.ConvertBits(field.Words, 5, 8, pad: false)
        ?? throw Invalid($"field '{field.Tag}' has non-zero padding bits");

    private static long IntField(Bolt11TaggedField field)
    {
        if (field.Words.Length > 12)
            throw Invalid($"field '{field.Tag}' holds a number longer than 60 bits");
        return (long)ReadUInt(field.Words);
    }

    private static ulong ReadUInt(ReadOnlySpan<byte> words)
    {
        ulong value = 0;
        foreach (var w in words)
            value = (value << 5) | w;
        return value;
    }

    private static List<int> FeatureBits(byte[] words)
    {
        var bits = new List<int>();
        for (var i = words.Length - 1; i >= 0; i--)
        {
            for (var j = 0; j < 5; j++)
            {
                if ((words[i] & (1 << j)) != 0)
                    bits.Add((words.Length - 1 - i) * 5 + j);
            }
        }
        return bits;
    }

    private static byte[] SigningHash(string hrp, ReadOnlySpan<byte> dataWords)
    {
        var hrpBytes = Encoding.UTF8.GetBytes(hrp);
        var dataBytes = Bech32.ConvertBits(dataWords, 5, 8, pad: true)!;
        var preimage = new byte[hrpBytes.Length + dataBytes.Length];
        hrpBytes.CopyTo(preimage, 0);
        dataBytes.CopyTo(preimage, hrpBytes.Length);
        return SHA256.HashData(preimage);
    }

    private static FormatException Invalid(string reason, Exception? inner = null) =>
        new($"Not a valid BOLT #11 invoice: {reason}.", inner);
}
