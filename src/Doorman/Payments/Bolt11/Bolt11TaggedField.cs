using System.Text;

namespace Doorman.Payments.Bolt11;

/// <summary>
/// One tagged field of an invoice's data part, as BOLT #11 "Tagged Fields" lays it out: a 5-bit type and its
/// data as 5-bit words. Decoding keeps every field, known or not, in order, so an invoice can be re-encoded
/// exactly; the factories build the fields a writer needs, each with the minimum data length the spec asks for.
/// </summary>
/// <param name="Type">0–31; <see cref="Tag"/> is its bech32 letter.</param>
/// <param name="Words">5-bit values, at most 1023 of them (the 10-bit data_length). Records compare arrays by reference.</param>
public sealed record Bolt11TaggedField(int Type, byte[] Words)
{
    public const int PaymentHashType = 1;       // p
    public const int RouteHintType = 3;         // r
    public const int FeaturesType = 5;          // 9
    public const int ExpiryType = 6;            // x
    public const int FallbackAddressType = 9;   // f
    public const int DescriptionType = 13;      // d
    public const int PaymentSecretType = 16;    // s
    public const int PayeePubKeyType = 19;      // n
    public const int DescriptionHashType = 23;  // h
    public const int MinFinalCltvExpiryType = 24; // c
    public const int MetadataType = 27;         // m

    /// <summary>The largest data_length a 10-bit length can say.</summary>
    public const int MaxWords = 1023;

    public char Tag => Bech32.Charset[Type];

    public static Bolt11TaggedField PaymentHash(ReadOnlySpan<byte> hash) =>
        new(PaymentHashType, Words32(hash, "payment hash"));

    public static Bolt11TaggedField PaymentSecret(ReadOnlySpan<byte> secret) =>
        new(PaymentSecretType, Words32(secret, "payment secret"));

    public static Bolt11TaggedField DescriptionHash(ReadOnlySpan<byte> hash) =>
        new(DescriptionHashType, Words32(hash, "description hash"));

    /// <summary>UTF-8 description. At most 639 bytes fit in one field (1023 words × 5 bits).</summary>
    public static Bolt11TaggedField Description(string description)
    {
        var bytes = Encoding.UTF8.GetBytes(description);
        var words = Bech32.ConvertBits(bytes, 8, 5, pad: true)!;
        if (words.Length > MaxWords)
            throw new ArgumentException(
                $"the description is {bytes.Length} bytes; a BOLT #11 'd' field holds at most 639", nameof(description));
        return new(DescriptionType, words);
    }

    /// <summary>Expiry in seconds after the timestamp (absent: 3600).</summary>
    public static Bolt11TaggedField Expiry(long seconds) => new(ExpiryType, UInt(seconds, nameof(seconds)));

    /// <summary>min_final_cltv_expiry_delta in blocks (absent: 18).</summary>
    public static Bolt11TaggedField MinFinalCltvExpiry(long blocks) => new(MinFinalCltvExpiryType, UInt(blocks, nameof(blocks)));

    /// <summary>33-byte compressed public key of the payee.</summary>
    public static Bolt11TaggedField PayeePubKey(ReadOnlySpan<byte> compressedKey)
    {
        if (compressedKey.Length != 33)
            throw new ArgumentException($"a payee key is 33 bytes, not {compressedKey.Length}", nameof(compressedKey));
        return new(PayeePubKeyType, Bech32.ConvertBits(compressedKey, 8, 5, pad: true)!);
    }

    /// <summary>
    /// Feature bits, big-endian, least significant bit numbered 0 (BOLT #11 "Feature Bits"), in the fewest words
    /// that hold the highest bit.
    /// </summary>
    public static Bolt11TaggedField Features(IEnumerable<int> bits)
    {
        var set = bits.ToHashSet();
        if (set.Any(b => b < 0 || b >= MaxWords * 5))
            throw new ArgumentOutOfRangeException(nameof(bits), "feature bits are numbered from 0 to 5114");
        var length = set.Count == 0 ? 0 : set.Max() / 5 + 1;
        var words = new byte[length];
        foreach (var bit in set)
            words[length - 1 - bit / 5] |= (byte)(1 << (bit % 5));
        return new(FeaturesType, words);
    }

    private static byte[] Words32(ReadOnlySpan<byte> value, string what)
    {
        if (value.Length != 32)
            throw new ArgumentException($"a {what} is 32 bytes, not {value.Length}");
        return Bech32.ConvertBits(value, 8, 5, pad: true)!;
    }

    // "SHOULD use the minimum data_length possible": big-endian 5-bit words without leading zero words; zero is one
    // zero word, as lnd's zpay32 uint64ToBase32 writes it.
    private static byte[] UInt(long value, string name)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(value, name);
        var words = new List<byte>();
        for (var v = (ulong)value; v != 0; v >>= 5)
            words.Insert(0, (byte)(v & 31));
        return words.Count == 0 ? [0] : [.. words];
    }
}
