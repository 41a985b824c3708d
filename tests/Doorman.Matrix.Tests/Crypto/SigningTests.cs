using System.Text;
using System.Text.Json.Nodes;
using Doorman.Matrix.Crypto;

namespace Doorman.Matrix.Tests.Crypto;

public class SigningTests
{
    // Spec appendix "Signing JSON", worked example: this seed, key id ed25519:1, signed by "domain".
    private static readonly Ed25519KeyPair SpecKey = new(Base64Unpadded.Decode("YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1"));

    [Theory]
    [InlineData("{}", "K8280/U9SSy9IVtjBuVeLr+HpOB4BQFWbg+UZaADMtTdGYI7Geitb76LTrr5QV/7Xg4ahLwYGYZzuHGZKM5ZAQ")]
    [InlineData("""{"one": 1, "two": "Two"}""", "KqmLSbO39/Bzb0QIYE82zqLwsA+PDzYIpIRA2sRQ4sL53+sN6/fpNSoqE7BP7vBZhG6kYdD13EIMJpvhJI+6Bw")]
    public void The_spec_appendix_example_signs_to_the_spec_signature(string json, string expected)
    {
        var signed = JsonSigning.Sign(JsonNode.Parse(json)!.AsObject(), "domain", "1", SpecKey);

        Assert.Equal(expected, signed["signatures"]!["domain"]!["ed25519:1"]!.GetValue<string>());
        Assert.True(JsonSigning.Verify(signed, "domain", "1", SpecKey.PublicKey));
    }

    [Fact]
    public void Signatures_and_unsigned_are_outside_the_signature_and_other_signatures_are_kept()
    {
        var obj = JsonNode.Parse("""{"a": 1, "unsigned": {"age": 5}, "signatures": {"other": {"ed25519:X": "abc"}}}""")!.AsObject();

        JsonSigning.Sign(obj, "domain", "1", SpecKey);
        obj["unsigned"] = new JsonObject { ["age"] = 99 };

        Assert.True(JsonSigning.Verify(obj, "domain", "1", SpecKey.PublicKey));
        Assert.Equal("abc", obj["signatures"]!["other"]!["ed25519:X"]!.GetValue<string>());
    }

    [Fact]
    public void A_changed_member_a_wrong_key_or_a_malformed_signature_does_not_verify()
    {
        var obj = JsonSigning.Sign(JsonNode.Parse("""{"a": 1}""")!.AsObject(), "domain", "1", SpecKey);
        var other = Ed25519KeyPair.Generate();

        Assert.False(JsonSigning.Verify(obj, "domain", "1", other.PublicKey));
        Assert.False(JsonSigning.Verify(obj, "domain", "2", SpecKey.PublicKey));
        Assert.False(JsonSigning.Verify(obj, "elsewhere", "1", SpecKey.PublicKey));

        var changed = (JsonObject)obj.DeepClone();
        changed["a"] = 2;
        Assert.False(JsonSigning.Verify(changed, "domain", "1", SpecKey.PublicKey));

        foreach (var bad in new JsonNode?[] { "not base64 !", "AAAA", 5, new JsonObject(), null })
        {
            var broken = (JsonObject)obj.DeepClone();
            broken["signatures"]!["domain"]!["ed25519:1"] = bad;
            Assert.False(JsonSigning.Verify(broken, "domain", "1", SpecKey.PublicKey));
        }
        foreach (var bad in new JsonNode?[] { "signatures", 5, new JsonArray(), null })
        {
            var broken = (JsonObject)obj.DeepClone();
            broken["signatures"] = bad;
            Assert.False(JsonSigning.Verify(broken, "domain", "1", SpecKey.PublicKey));
            broken["signatures"] = new JsonObject { ["domain"] = bad?.DeepClone() };
            Assert.False(JsonSigning.Verify(broken, "domain", "1", SpecKey.PublicKey));
        }
    }

    [Fact]
    public void Canonical_json_sorts_by_code_point_drops_whitespace_and_escapes_only_what_json_requires()
    {
        // Spec appendix "Canonical JSON" examples, and the code point order above U+FFFF, where UTF-16 order differs.
        Assert.Equal("""{"a":"1","b":"2"}""", CanonicalJson.EncodeToString(JsonNode.Parse("""{"b":"2","a":"1"}""")));
        Assert.Equal(
            """{"auth":{"mxid":"@john.doe:example.com","profile":{"display_name":"John Doe","three_pids":[{"address":"john.doe@example.org","medium":"email"},{"address":"123456789","medium":"msisdn"}]},"success":true}}""",
            CanonicalJson.EncodeToString(JsonNode.Parse("""
                {"auth": {"success": true, "mxid": "@john.doe:example.com",
                  "profile": {"display_name": "John Doe", "three_pids": [
                    {"medium": "email", "address": "john.doe@example.org"},
                    {"medium": "msisdn", "address": "123456789"}]}}}
                """)));
        Assert.Equal("""{"a":"日本語"}""", CanonicalJson.EncodeToString(JsonNode.Parse("""{"a": "\u65E5\u672C\u8A9E"}""")));
        Assert.Equal("""{"日":1,"本":2}""", CanonicalJson.EncodeToString(JsonNode.Parse("""{"本": 2, "日": 1}""")));
        Assert.Equal("""{"a":"\u0000"}""", CanonicalJson.EncodeToString(JsonNode.Parse("""{"a": "\u0000"}""")));
        Assert.Equal("""{"a":null}""", CanonicalJson.EncodeToString(JsonNode.Parse("""{"a": null}""")));
        Assert.Equal("{\"\uFFFF\":1,\"😀\":2}", CanonicalJson.EncodeToString(new JsonObject { ["😀"] = 2, ["\uFFFF"] = 1 }));
        Assert.Equal("[\"\\\"\\\\\\n/\u007f\"]", CanonicalJson.EncodeToString(new JsonArray("\"\\\n/\u007f")));
        Assert.Equal(Encoding.UTF8.GetBytes("{\"é\":-5}"), CanonicalJson.Encode(new JsonObject { ["é"] = -5 }));
    }

    [Theory]
    [InlineData("1.5")]
    [InlineData("9007199254740992")]
    [InlineData("1e400")]
    public void Canonical_json_refuses_what_is_not_a_safe_integer(string number)
    {
        Assert.Throws<FormatException>(() => CanonicalJson.Encode(JsonNode.Parse($$"""{"a": {{number}}}""")));
    }

    [Theory]
    [InlineData("")]
    [InlineData("AA")]
    [InlineData("AAA")]
    [InlineData("AAAA")]
    [InlineData("AA==")]
    public void Unpadded_base64_reads_padded_and_unpadded(string text)
    {
        var bytes = Base64Unpadded.Decode(text);
        Assert.Equal(text.TrimEnd('='), Base64Unpadded.Encode(bytes));
    }

    [Fact]
    public void Unpadded_base64_refuses_an_impossible_length_and_junk()
    {
        Assert.Throws<FormatException>(() => Base64Unpadded.Decode("AAAAA"));
        Assert.Null(Base64Unpadded.TryDecode("not base64!"));
        Assert.Null(Base64Unpadded.TryDecode(null));
    }

    [Fact]
    public void X25519_agreement_is_the_same_on_both_sides_and_a_low_order_key_is_refused()
    {
        var alice = Curve25519KeyPair.Generate();
        var bob = Curve25519KeyPair.Generate();

        Assert.Equal(alice.Agree(bob.PublicKey), bob.Agree(alice.PublicKey));
        Assert.Throws<System.Security.Cryptography.CryptographicException>(() => alice.Agree(new byte[32]));
    }

    [Fact]
    public void X25519_matches_the_rfc_7748_test_vector()
    {
        // RFC 7748 §6.1: Alice's and Bob's keys and their shared secret.
        var alice = new Curve25519KeyPair(Convert.FromHexString("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"));
        var bob = new Curve25519KeyPair(Convert.FromHexString("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"));

        Assert.Equal("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a", Convert.ToHexString(alice.PublicKey).ToLowerInvariant());
        Assert.Equal("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742", Convert.ToHexString(alice.Agree(bob.PublicKey)).ToLowerInvariant());
    }
}
