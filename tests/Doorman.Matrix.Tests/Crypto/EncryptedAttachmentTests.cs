using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Doorman.Matrix.Crypto;
using Doorman.TestSupport;

namespace Doorman.Matrix.Tests.Crypto;

public class EncryptedAttachmentTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(16)]
    [InlineData(1000)]
    public void A_file_round_trips_and_its_ciphertext_is_not_the_plaintext(int size)
    {
        var plaintext = RandomNumberGenerator.GetBytes(size);

        var (ciphertext, keys) = EncryptedAttachment.Encrypt(plaintext);
        var file = EncryptedAttachment.FileObject("mxc://example.org/abc", keys);

        Assert.Equal(size, ciphertext.Length);
        if (size >= 16)
            Assert.NotEqual(plaintext, ciphertext);
        Assert.Equal(plaintext, EncryptedAttachment.Decrypt(ciphertext, file));
        Assert.Equal("A256CTR", file["key"]!["alg"]!.GetValue<string>());
        Assert.Equal("v2", file["v"]!.GetValue<string>());
        Assert.Equal(new byte[8], keys.Iv[8..]);
    }

    [Fact]
    public void Aes_ctr_matches_the_nist_sp_800_38a_vector()
    {
        // NIST SP 800-38A F.5.5 (CTR-AES256.Encrypt), first two blocks; the counter block is that vector's.
        var key = Convert.FromHexString("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4");
        var iv = Convert.FromHexString("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff");
        var ciphertext = Convert.FromHexString("601ec313775789a5b7a7f504bbf3d228f443e3ca4d62b59aca84e990cacaf5c5");
        var file = EncryptedAttachment.FileObject("mxc://x/y", new AttachmentKeys(key, iv, SHA256.HashData(ciphertext)));

        var plaintext = EncryptedAttachment.Decrypt(ciphertext, file);

        Assert.Equal("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51", Convert.ToHexString(plaintext).ToLowerInvariant());
    }

    [Fact]
    public void A_changed_file_or_a_malformed_file_object_is_refused()
    {
        var (ciphertext, keys) = EncryptedAttachment.Encrypt([1, 2, 3, 4]);
        var file = EncryptedAttachment.FileObject("mxc://example.org/abc", keys);

        ciphertext[0] ^= 1;
        Assert.Throws<CryptographicException>(() => EncryptedAttachment.Decrypt(ciphertext, file));
        ciphertext[0] ^= 1;
        foreach (var (name, bad) in new (string, JsonNode?)[] { ("key", null), ("iv", "short"), ("hashes", new JsonObject()), ("iv", 5) })
        {
            var broken = (JsonObject)file.DeepClone();
            broken[name] = bad;
            Assert.Throws<CryptographicException>(() => EncryptedAttachment.Decrypt(ciphertext, broken));
        }
    }

    [CryptoPeerFact]
    public async Task Element_decrypts_our_encrypted_file()
    {
        await using var peer = await CryptoPeer.StartAsync();
        var plaintext = RandomNumberGenerator.GetBytes(5000);
        var (ciphertext, keys) = EncryptedAttachment.Encrypt(plaintext);

        var decrypted = await peer.CallForStringAsync("element.decryptAttachment", new JsonObject
        {
            ["ciphertext"] = Convert.ToBase64String(ciphertext),
            ["file"] = EncryptedAttachment.FileObject("mxc://example.org/abc", keys),
        });

        Assert.Equal(plaintext, Convert.FromBase64String(decrypted));
    }
}
