using System.Text;
using Doorman.Payments.Bolt11;
using NBitcoin.Secp256k1;
using SHA256 = System.Security.Cryptography.SHA256;
using V = Doorman.Tests.Payments.Bolt11SpecVectors;

namespace Doorman.Tests.Payments;

public sealed class Bolt11CodecTests
{
    private static readonly byte[] SpecKey = Convert.FromHexString(V.PrivateKey);
    private static readonly string ShoppingListHash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(V.ShoppingList)));

    // invoice, network, amount msat, description (null: hashed shopping list), expiry s, min final cltv, features
    public static TheoryData<string, string, long?, string?, long, long, int[]> ValidExamples => new()
    {
        { V.Donation, "bc", null, "Please consider supporting this project", 3600, 18, [8, 14] },
        { V.Coffee, "bc", 250_000_000, "1 cup coffee", 60, 18, [8, 14] },
        { V.Nonsense, "bc", 250_000_000, "ナンセンス 1杯", 60, 18, [8, 14] },
        { V.Hashed, "bc", 2_000_000_000, null, 3600, 18, [8, 14] },
        { V.TestnetFallback, "tb", 2_000_000_000, null, 3600, 18, [8, 14] },
        { V.RouteHints, "bc", 2_000_000_000, null, 3600, 18, [8, 14] },
        { V.P2shFallback, "bc", 2_000_000_000, null, 3600, 18, [8, 14] },
        { V.P2wpkhFallback, "bc", 2_000_000_000, null, 3600, 18, [8, 14] },
        { V.P2wshFallback, "bc", 2_000_000_000, null, 3600, 18, [8, 14] },
        { V.CoffeeBeans, "bc", 2_500_000_000, "coffee beans", 3600, 18, [8, 14, 99] },
        { V.CoffeeBeansUpperCase, "bc", 2_500_000_000, "coffee beans", 3600, 18, [8, 14, 99] },
        { V.IgnoredFields, "bc", 2_500_000_000, "coffee beans", 3600, 18, [8, 14, 99] },
        { V.Metadata, "bc", 1_000_000_000, "payment metadata inside", 3600, 18, [8, 14, 48] },
    };

    public static TheoryData<string> AllValidInvoices =>
    [
        V.Donation, V.Coffee, V.Nonsense, V.Hashed, V.TestnetFallback, V.RouteHints, V.P2shFallback, V.P2wpkhFallback,
        V.P2wshFallback, V.PicoAmount, V.CoffeeBeans, V.CoffeeBeansUpperCase, V.IgnoredFields, V.Metadata,
    ];

    [Theory]
    [MemberData(nameof(ValidExamples))]
    public void Spec_examples_decode_to_their_published_fields(
        string invoice, string network, long? amountMsat, string? description, long expiry, long minFinalCltv, int[] features)
    {
        var decoded = Bolt11Codec.Decode(invoice);

        Assert.Equal(network, decoded.Network);
        Assert.Equal(amountMsat, decoded.AmountMsat);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(V.Timestamp), decoded.Timestamp);
        Assert.Equal(V.PaymentHash, decoded.PaymentHash);
        Assert.Equal(V.PaymentSecret, decoded.PaymentSecret);
        Assert.Equal(description, decoded.Description);
        Assert.Equal(description is null ? ShoppingListHash : null, decoded.DescriptionHash);
        Assert.Equal(expiry, decoded.ExpirySeconds);
        Assert.Equal(minFinalCltv, decoded.MinFinalCltvExpiry);
        Assert.Equal(features, decoded.Features);
        Assert.Equal(V.PayeePubKey, decoded.PayeePubKey);
        Assert.True(decoded.IsSignatureValid);
        Assert.Empty(decoded.UnknownRequiredFeatures);
    }

    [Fact]
    public void The_pico_bitcoin_example_decodes_to_whole_millisatoshis()
    {
        var decoded = Bolt11Codec.Decode(V.PicoAmount);

        Assert.Equal(967_878_534, decoded.AmountMsat);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1572468703), decoded.Timestamp);
        Assert.Equal("462264ede7e14047e9b249da94fefc47f41f7d02ee9b091815a5506bc8abf75f", decoded.PaymentHash);
        Assert.Equal(
            "Blockstream Store: 88.85 USD for Blockstream Ledger Nano S x 1, \"Back In My Day\" Sticker x 2, "
            + "\"I Got Lightning Working\" Sticker x 2 and 1 more items",
            decoded.Description);
        Assert.Equal(604800, decoded.ExpirySeconds);
        Assert.Equal(10, decoded.MinFinalCltvExpiry);
        Assert.Equal(V.PaymentSecret, decoded.PaymentSecret);
        Assert.Equal(V.PayeePubKey, decoded.PayeePubKey);
        Assert.Equal(decoded.Timestamp.AddDays(7), decoded.ExpiresAt);
    }

    [Theory]
    [MemberData(nameof(AllValidInvoices))]
    public void Spec_examples_re_encode_to_the_same_string_with_the_spec_key(string invoice)
    {
        var decoded = Bolt11Codec.Decode(invoice);

        var encoded = Bolt11Codec.Encode(decoded.ToDraft(), SpecKey);

        Assert.Equal(invoice.ToLowerInvariant(), encoded);
    }

    [Fact]
    public void Invoices_built_from_typed_fields_match_the_spec_examples()
    {
        var hash = Convert.FromHexString(V.PaymentHash);
        var secret = Convert.FromHexString(V.PaymentSecret);
        var timestamp = DateTimeOffset.FromUnixTimeSeconds(V.Timestamp);

        var donation = new Bolt11InvoiceDraft("bc", null, timestamp,
        [
            Bolt11TaggedField.PaymentSecret(secret),
            Bolt11TaggedField.PaymentHash(hash),
            Bolt11TaggedField.Description("Please consider supporting this project"),
            Bolt11TaggedField.Features([8, 14]),
        ]);
        var coffee = new Bolt11InvoiceDraft("bc", 250_000_000, timestamp,
        [
            Bolt11TaggedField.PaymentSecret(secret),
            Bolt11TaggedField.PaymentHash(hash),
            Bolt11TaggedField.Description("1 cup coffee"),
            Bolt11TaggedField.Expiry(60),
            Bolt11TaggedField.Features([8, 14]),
        ]);
        var nonsense = coffee.WithField(Bolt11TaggedField.DescriptionType, Bolt11TaggedField.Description("ナンセンス 1杯"));
        var hashed = new Bolt11InvoiceDraft("bc", 2_000_000_000, timestamp,
        [
            Bolt11TaggedField.PaymentSecret(secret),
            Bolt11TaggedField.PaymentHash(hash),
            Bolt11TaggedField.DescriptionHash(SHA256.HashData(Encoding.UTF8.GetBytes(V.ShoppingList))),
            Bolt11TaggedField.Features([8, 14]),
        ]);
        var coffeeBeans = new Bolt11InvoiceDraft("bc", 2_500_000_000, timestamp,
        [
            Bolt11TaggedField.PaymentHash(hash),
            Bolt11TaggedField.Description("coffee beans"),
            Bolt11TaggedField.PaymentSecret(secret),
            Bolt11TaggedField.Features([8, 14, 99]),
        ]);

        Assert.Equal(V.Donation, Bolt11Codec.Encode(donation, SpecKey));
        Assert.Equal(V.Coffee, Bolt11Codec.Encode(coffee, SpecKey));
        Assert.Equal(V.Nonsense, Bolt11Codec.Encode(nonsense, SpecKey));
        Assert.Equal(V.Hashed, Bolt11Codec.Encode(hashed, SpecKey));
        Assert.Equal(V.CoffeeBeans, Bolt11Codec.Encode(coffeeBeans, SpecKey));
    }

    [Theory]
    [InlineData(V.BadChecksum, "bad bech32 checksum")]
    [InlineData(V.NoSeparator, "no '1'")]
    [InlineData(V.MixedCase, "mixes upper and lower case")]
    [InlineData(V.NotRecoverable, "not recoverable")]
    [InlineData(V.TooShort, "too short to hold a timestamp and a signature")]
    [InlineData(V.InvalidMultiplier, "unknown multiplier 'x'")]
    [InlineData(V.SubMillisatoshi, "not a whole number of millisatoshis")]
    public void The_spec_invalid_examples_are_refused_with_the_reason(string invoice, string reason)
    {
        var error = Assert.Throws<FormatException>(() => Bolt11Codec.Decode(invoice));

        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_compulsory_feature_is_reported_not_hidden()
    {
        // BOLT #11 makes a payer fail on an unknown even feature; a decoder reports it (as lnd's zpay32 does).
        var decoded = Bolt11Codec.Decode(V.UnknownFeature100);

        Assert.Equal([8, 14, 99, 100], decoded.Features);
        Assert.Equal([100], decoded.UnknownRequiredFeatures);
    }

    [Fact]
    public void A_lightning_uri_prefix_and_surrounding_space_are_accepted()
    {
        var decoded = Bolt11Codec.Decode("  LIGHTNING:" + V.CoffeeBeansUpperCase + "\n");

        Assert.Equal(2_500_000_000, decoded.AmountMsat);
        Assert.Equal("coffee beans", decoded.Description);
    }

    [Fact]
    public void Fields_with_the_wrong_length_are_skipped_and_the_first_valid_one_wins()
    {
        var decoded = Bolt11Codec.Decode(V.IgnoredFields);

        // The example carries extra p, h, s and n fields of the wrong length and an unknown field '2'.
        Assert.Equal(V.PaymentHash, decoded.PaymentHash);
        Assert.Null(decoded.DescriptionHash);
        Assert.Equal(V.PayeePubKey, decoded.PayeePubKey);
        Assert.Contains(decoded.Fields, f => f.Tag == '2');
        Assert.Equal(5, decoded.Fields.Count(f => f.Tag is 'p' or 'h'));
    }

    [Fact]
    public void A_missing_payment_hash_is_named()
    {
        var draft = new Bolt11InvoiceDraft("bc", 1000, DateTimeOffset.FromUnixTimeSeconds(V.Timestamp),
            [Bolt11TaggedField.Description("no hash")]);
        var invoice = Bolt11Codec.Encode(draft, SpecKey);

        var error = Assert.Throws<FormatException>(() => Bolt11Codec.Decode(invoice));

        Assert.Contains("no payment hash", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_description_is_named()
    {
        var draft = new Bolt11InvoiceDraft("bc", 1000, DateTimeOffset.FromUnixTimeSeconds(V.Timestamp),
            [Bolt11TaggedField.PaymentHash(Convert.FromHexString(V.PaymentHash))]);

        var error = Assert.Throws<FormatException>(() => Bolt11Codec.Decode(Bolt11Codec.Encode(draft, SpecKey)));

        Assert.Contains("neither a description", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("lnxx1pvjluez", "currency prefix 'xx' is unknown")]
    [InlineData("lnbc025m1pvjluez", "leading zero")]
    [InlineData("lnbc0m1pvjluez", "leading zero")]
    [InlineData("bc1pvjluez", "does not start with 'ln'")]
    [InlineData("", "empty")]
    public void Bad_human_readable_parts_are_named(string hrpAndData, string reason)
    {
        var invoice = hrpAndData.Length == 0 ? "" : WithValidChecksum(hrpAndData);

        var error = Assert.Throws<FormatException>(() => Bolt11Codec.Decode(invoice));

        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_bech32m_checksum_is_refused_by_name()
    {
        // BIP-350's test vector "a1lqfn3a" is valid bech32m.
        var error = Assert.Throws<FormatException>(() => Bolt11Codec.Decode("a1lqfn3a"));

        Assert.Contains("bech32m", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_payee_field_that_does_not_match_the_signature_marks_it_invalid()
    {
        using var other = ECPrivKey.Create(SHA256.HashData("another node"u8));
        var decoded = Bolt11Codec.Decode(V.Coffee);
        var draft = decoded.ToDraft();
        var withPayee = draft with { Fields = [.. draft.Fields, Bolt11TaggedField.PayeePubKey(other.CreatePubKey().ToBytes(true))] };

        var signedBySpecKey = Bolt11Codec.Decode(Bolt11Codec.Encode(withPayee, SpecKey));

        Assert.False(signedBySpecKey.IsSignatureValid);
        Assert.Equal(Convert.ToHexStringLower(other.CreatePubKey().ToBytes(true)), signedBySpecKey.PayeePubKey);
    }

    [Fact]
    public void A_payee_field_that_matches_the_signature_is_valid()
    {
        var draft = Bolt11Codec.Decode(V.Coffee).ToDraft();
        var withPayee = draft with { Fields = [.. draft.Fields, Bolt11TaggedField.PayeePubKey(Convert.FromHexString(V.PayeePubKey))] };

        var decoded = Bolt11Codec.Decode(Bolt11Codec.Encode(withPayee, SpecKey));

        Assert.True(decoded.IsSignatureValid);
        Assert.Equal(V.PayeePubKey, decoded.PayeePubKey);
    }

    [Theory]
    [InlineData(1, "lnbcrt10p1")]
    [InlineData(1_000, "lnbcrt10n1")]
    [InlineData(1_500, "lnbcrt15n1")]
    [InlineData(100_000, "lnbcrt1u1")]
    [InlineData(150_000_000, "lnbcrt1500u1")]
    [InlineData(100_000_000_000, "lnbcrt11")]
    [InlineData(2_100_000_000_000_000_000, "lnbcrt210000001")]
    public void Amounts_use_the_shortest_multiplier_and_round_trip(long amountMsat, string prefix)
    {
        var draft = Bolt11InvoiceDraft.Create("bcrt", amountMsat, DateTimeOffset.FromUnixTimeSeconds(1_700_000_000),
            Convert.FromHexString(V.PaymentHash), Convert.FromHexString(V.PaymentSecret), "room access", 900, 80, [8, 14, 17]);

        var invoice = Bolt11Codec.Encode(draft, SpecKey);
        var decoded = Bolt11Codec.Decode(invoice);

        Assert.StartsWith(prefix, invoice, StringComparison.Ordinal);
        Assert.Equal(amountMsat, decoded.AmountMsat);
        Assert.Equal("bcrt", decoded.Network);
        Assert.Equal("room access", decoded.Description);
        Assert.Equal(900, decoded.ExpirySeconds);
        Assert.Equal(80, decoded.MinFinalCltvExpiry);
        Assert.Equal([8, 14, 17], decoded.Features);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1_700_000_900), decoded.ExpiresAt);
    }

    [Fact]
    public void A_description_longer_than_one_field_is_refused_when_encoding()
    {
        var error = Assert.Throws<ArgumentException>(() => Bolt11TaggedField.Description(new string('a', 640)));

        Assert.Contains("639", error.Message, StringComparison.Ordinal);
        Assert.Equal(1023, Bolt11TaggedField.Description(new string('a', 639)).Words.Length);
    }

    [Fact]
    public void A_zero_amount_cannot_be_encoded()
    {
        var draft = Bolt11Codec.Decode(V.Coffee).ToDraft() with { AmountMsat = 0 };

        Assert.Throws<ArgumentOutOfRangeException>(() => Bolt11Codec.Encode(draft, SpecKey));
    }

    [Fact]
    public void Changing_one_character_breaks_the_checksum()
    {
        var tampered = V.Coffee[..20] + (V.Coffee[20] == 'q' ? 'p' : 'q') + V.Coffee[21..];

        var error = Assert.Throws<FormatException>(() => Bolt11Codec.Decode(tampered));

        Assert.Contains("checksum", error.Message, StringComparison.Ordinal);
    }

    // Appends a valid bech32 checksum to "hrp1data" so the test reaches the BOLT #11 checks behind it.
    private static string WithValidChecksum(string hrpAndData)
    {
        var separator = hrpAndData.LastIndexOf('1');
        var hrp = hrpAndData[..separator];
        var words = hrpAndData[(separator + 1)..].Select(c => (byte)Bech32.Charset.IndexOf(c, StringComparison.Ordinal)).ToArray();
        return Bech32.Encode(hrp, words);
    }
}
