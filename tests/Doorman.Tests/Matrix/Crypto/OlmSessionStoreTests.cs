using System.Text.Json;
using Doorman.Matrix.Crypto;
using Doorman.Matrix.Crypto.Olm;

namespace Doorman.Tests.Matrix.Crypto;

/// <summary>Olm sessions as <see cref="CryptoMachine"/> stores them (CryptoRecords.cs), read back.</summary>
public sealed class OlmSessionStoreTests
{
    [Fact]
    public void A_session_that_has_only_sent_reads_back_from_the_store_and_goes_on()
    {
        var alice = OlmAccount.Create();
        var bob = OlmAccount.Create();
        bob.GenerateOneTimeKeys(1);
        var session = alice.CreateOutboundSession(bob.Curve25519Key, bob.UnpublishedOneTimeKeys.Single().Value);
        var first = session.Encrypt("one"u8);

        // No remote ratchet key yet: the pickle's null must not come back as a key of the wrong size.
        var json = JsonSerializer.SerializeToUtf8Bytes(new OlmSessionRecord("bob", session.Pickle(), 1), CryptoStateJson.Default.OlmSessionRecord);
        var restored = OlmSession.Unpickle(JsonSerializer.Deserialize(json, CryptoStateJson.Default.OlmSessionRecord)!.Session);
        var second = restored.Encrypt("two"u8);

        var inbound = bob.CreateInboundSession(alice.Curve25519Key, first);
        Assert.Equal("one"u8.ToArray(), inbound.Plaintext);
        Assert.Equal("two"u8.ToArray(), inbound.Session.Decrypt(second));
    }
}
