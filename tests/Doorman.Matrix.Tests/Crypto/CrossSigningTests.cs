using System.Text.Json.Nodes;
using Doorman.Matrix.Crypto;
using Doorman.TestSupport;

namespace Doorman.Matrix.Tests.Crypto;

public class CrossSigningTests
{
    private const string UserId = "@doorman:peer.test";
    private const string DeviceId = "DOORMANDEV";

    [Fact]
    public void The_self_signing_and_user_signing_keys_are_signed_by_the_master_key_and_the_device_by_the_self_signing_key()
    {
        var keys = CrossSigningKeys.Create();
        var device = Ed25519KeyPair.Generate();

        var body = keys.UploadBody(UserId);
        var signedDevice = keys.SignDevice(DeviceKeys(device, Curve25519KeyPair.Generate()), UserId);

        var master = keys.Master.PublicKeyBase64;
        Assert.Equal(master, body["master_key"]!["keys"]![$"ed25519:{master}"]!.GetValue<string>());
        Assert.True(JsonSigning.Verify(body["self_signing_key"]!.AsObject(), UserId, master, keys.Master.PublicKey));
        Assert.True(JsonSigning.Verify(body["user_signing_key"]!.AsObject(), UserId, master, keys.Master.PublicKey));
        Assert.True(JsonSigning.Verify(signedDevice, UserId, keys.SelfSigning.PublicKeyBase64, keys.SelfSigning.PublicKey));
        Assert.True(JsonSigning.Verify(signedDevice, UserId, DeviceId, device.PublicKey));
        Assert.False(JsonSigning.Verify(signedDevice, UserId, keys.SelfSigning.PublicKeyBase64, keys.Master.PublicKey));
    }

    [Fact]
    public void Seeds_give_back_the_same_identity()
    {
        var keys = CrossSigningKeys.Create();

        var again = CrossSigningKeys.FromSeeds(keys.ExportSeeds());

        Assert.Equal(keys.Master.PublicKeyBase64, again.Master.PublicKeyBase64);
        Assert.Equal(keys.SelfSigning.PublicKeyBase64, again.SelfSigning.PublicKeyBase64);
        Assert.Equal(keys.UserSigning.PublicKeyBase64, again.UserSigning.PublicKeyBase64);
    }

    [CryptoPeerFact]
    public async Task Element_sees_the_cross_signed_device_as_signed_by_its_owner_and_a_device_signed_only_by_itself_as_not()
    {
        await using var peer = await CryptoPeer.StartAsync();
        var keys = CrossSigningKeys.Create();
        var device = Ed25519KeyPair.Generate();
        var deviceKeys = DeviceKeys(device, Curve25519KeyPair.Generate());
        var body = keys.UploadBody(UserId);

        var crossSigned = await peer.CallAsync("element.deviceTrust", new JsonObject
        {
            ["userId"] = UserId,
            ["deviceId"] = DeviceId,
            ["deviceKeys"] = keys.SignDevice(deviceKeys, UserId),
            ["masterKey"] = body["master_key"]!.DeepClone(),
            ["selfSigningKey"] = body["self_signing_key"]!.DeepClone(),
        });
        var selfSignedOnly = await peer.CallAsync("element.deviceTrust", new JsonObject
        {
            ["userId"] = UserId,
            ["deviceId"] = DeviceId,
            ["deviceKeys"] = deviceKeys.DeepClone(),
            ["masterKey"] = body["master_key"]!.DeepClone(),
            ["selfSigningKey"] = body["self_signing_key"]!.DeepClone(),
        });

        Assert.True(crossSigned!["found"]!.GetValue<bool>());
        Assert.True(crossSigned["crossSignedByOwner"]!.GetValue<bool>());
        Assert.True(selfSignedOnly!["found"]!.GetValue<bool>());
        Assert.False(selfSignedOnly["crossSignedByOwner"]!.GetValue<bool>());
    }

    [CryptoPeerFact]
    public async Task Element_drops_a_device_whose_self_signature_is_forged()
    {
        await using var peer = await CryptoPeer.StartAsync();
        var deviceKeys = DeviceKeys(Ed25519KeyPair.Generate(), Curve25519KeyPair.Generate());
        deviceKeys["keys"]![$"curve25519:{DeviceId}"] = Curve25519KeyPair.Generate().PublicKeyBase64;

        var trust = await peer.CallAsync("element.deviceTrust", new JsonObject
        {
            ["userId"] = UserId,
            ["deviceId"] = DeviceId,
            ["deviceKeys"] = deviceKeys,
        });

        Assert.False(trust!["found"]!.GetValue<bool>());
    }

    /// <summary>Device keys as <c>POST /keys/upload</c> takes them (CS API "Device keys"), signed by the device.</summary>
    private static JsonObject DeviceKeys(Ed25519KeyPair device, Curve25519KeyPair identity) => JsonSigning.Sign(new JsonObject
    {
        ["user_id"] = UserId,
        ["device_id"] = DeviceId,
        ["algorithms"] = new JsonArray("m.olm.v1.curve25519-aes-sha2", "m.megolm.v1.aes-sha2"),
        ["keys"] = new JsonObject
        {
            [$"curve25519:{DeviceId}"] = identity.PublicKeyBase64,
            [$"ed25519:{DeviceId}"] = device.PublicKeyBase64,
        },
    }, UserId, DeviceId, device);
}
