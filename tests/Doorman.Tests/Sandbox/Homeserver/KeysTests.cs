using System.Net;
using System.Text.Json.Nodes;
using Doorman.Matrix.Crypto;

namespace Doorman.Tests.Sandbox.Homeserver;

/// <summary>
/// The key management API and cross-signing (CS API §"End-to-End Encryption"), and what /sync says of keys.
/// Synapse caches a sync answer for identical requests for a while, so repeated syncs here differ in their timeout.
/// </summary>
public sealed class KeysTests
{
    private const string V3 = "/_matrix/client/v3";

    [Fact]
    public async Task Uploaded_device_keys_are_what_a_query_returns()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var bob = await hs.Client.RegisterAsync("bob");
        var device = new E2eeDevice(alice);

        var counts = (await hs.Client.UploadKeysAsync(alice, new JsonObject { ["device_keys"] = device.DeviceKeys() })).Ok()["one_time_key_counts"]!;
        var answer = (await hs.Client.QueryKeysAsync(bob, alice.UserId, "@nobody-" + alice.Localpart + ":" + ServerOf(alice))).Ok();

        Assert.Equal(0, counts["signed_curve25519"]!.GetValue<int>()); // Synapse always counts signed_curve25519
        var keys = answer["device_keys"]![alice.UserId]![alice.DeviceId]!.AsObject();
        Assert.Equal(device.Ed25519.PublicKeyBase64, keys["keys"]![$"ed25519:{alice.DeviceId}"]!.GetValue<string>());
        Assert.True(JsonSigning.Verify(keys, alice.UserId, alice.DeviceId, device.Ed25519.PublicKey));
        Assert.Empty(keys["unsigned"]!.AsObject()); // registered without a device name
        Assert.Empty(answer["device_keys"]!["@nobody-" + alice.Localpart + ":" + ServerOf(alice)]!.AsObject());
        Assert.Empty(answer["failures"]!.AsObject());
        Assert.Empty(answer["master_keys"]!.AsObject());
        Assert.Empty(answer["self_signing_keys"]!.AsObject());
        Assert.Empty(answer["user_signing_keys"]!.AsObject());
    }

    [Fact]
    public async Task A_query_names_a_device_by_the_display_name_it_logged_in_with()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var phone = await hs.Client.LoginAsync(alice, "Alice's phone");
        (await hs.Client.UploadKeysAsync(phone, new JsonObject { ["device_keys"] = new E2eeDevice(phone).DeviceKeys() })).Ok();

        var devices = (await hs.Client.QueryKeysAsync(alice, alice.UserId)).Ok()["device_keys"]![alice.UserId]!.AsObject();

        Assert.Equal([phone.DeviceId], devices.Select(d => d.Key)); // the first device has no keys, so it is not listed
        Assert.Equal("Alice's phone", devices[phone.DeviceId]!["unsigned"]!["device_display_name"]!.GetValue<string>());
    }

    [Fact]
    public async Task Device_keys_must_name_the_callers_own_user_and_device()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var bob = await hs.Client.RegisterAsync("bob");
        var device = new E2eeDevice(alice);

        var otherDevice = device.DeviceKeys();
        otherDevice["device_id"] = "NOTMINE";
        (await hs.Client.UploadKeysAsync(alice, new JsonObject { ["device_keys"] = otherDevice })).Refused(HttpStatusCode.BadRequest, "M_BAD_JSON");
        (await hs.Client.UploadKeysAsync(bob, new JsonObject { ["device_keys"] = device.DeviceKeys() })).Refused(HttpStatusCode.BadRequest, "M_BAD_JSON");

        Assert.Empty((await hs.Client.QueryKeysAsync(alice, alice.UserId)).Ok()["device_keys"]![alice.UserId]!.AsObject());
    }

    [Fact]
    public async Task One_time_key_counts_come_back_from_the_upload_and_from_sync()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var device = new E2eeDevice(alice);
        var before = (await hs.Client.SyncAsync(alice, timeoutMs: 1)).Ok();

        var counts = (await hs.Client.UploadKeysAsync(alice, new JsonObject
        {
            ["device_keys"] = device.DeviceKeys(),
            ["one_time_keys"] = device.OneTimeKeys(3),
        })).Ok()["one_time_key_counts"]!;
        var after = (await hs.Client.SyncAsync(alice, timeoutMs: 2)).Ok();

        Assert.Equal(0, before["device_one_time_keys_count"]!["signed_curve25519"]!.GetValue<int>());
        Assert.Empty(before["device_unused_fallback_key_types"]!.AsArray());
        Assert.Null(before["device_lists"]); // not on an initial sync
        Assert.Equal(3, counts["signed_curve25519"]!.GetValue<int>());
        Assert.Equal(3, after["device_one_time_keys_count"]!["signed_curve25519"]!.GetValue<int>());
    }

    [Fact]
    public async Task A_claim_takes_the_one_time_keys_then_the_fallback_key_which_sync_then_reports_used()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var bob = await hs.Client.RegisterAsync("bob");
        var device = new E2eeDevice(alice);
        var oneTimeKeys = device.OneTimeKeys(2);
        (await hs.Client.UploadKeysAsync(alice, new JsonObject
        {
            ["device_keys"] = device.DeviceKeys(),
            ["one_time_keys"] = oneTimeKeys,
            ["fallback_keys"] = device.FallbackKey("FB1"),
        })).Ok();
        Assert.Equal(["signed_curve25519"], (await hs.Client.SyncAsync(alice, timeoutMs: 1)).Ok()["device_unused_fallback_key_types"]!.AsArray().Select(t => t!.GetValue<string>()));

        var claimed = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            var answer = (await hs.Client.ClaimKeyAsync(bob, alice.UserId, alice.DeviceId)).Ok();
            Assert.Empty(answer["failures"]!.AsObject());
            claimed.Add(answer["one_time_keys"]![alice.UserId]![alice.DeviceId]!.AsObject().Single().Key);
        }

        var sync = (await hs.Client.SyncAsync(alice, timeoutMs: 2)).Ok();
        var again = (await hs.Client.ClaimKeyAsync(bob, alice.UserId, alice.DeviceId)).Ok();

        Assert.Equal(oneTimeKeys.Select(k => k.Key).Order(StringComparer.Ordinal), claimed.Take(2).Order(StringComparer.Ordinal));
        Assert.Equal("signed_curve25519:FB1", claimed[2]);
        Assert.Equal(0, sync["device_one_time_keys_count"]!["signed_curve25519"]!.GetValue<int>());
        Assert.Empty(sync["device_unused_fallback_key_types"]!.AsArray());
        var fallback = again["one_time_keys"]![alice.UserId]![alice.DeviceId]!["signed_curve25519:FB1"]!; // kept, handed out again
        Assert.True(fallback["fallback"]!.GetValue<bool>());
    }

    [Fact]
    public async Task A_claim_leaves_out_devices_without_keys()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");

        var answer = (await hs.Client.ClaimKeyAsync(alice, alice.UserId, alice.DeviceId)).Ok();

        Assert.Empty(answer["one_time_keys"]!.AsObject());
        Assert.Empty(answer["failures"]!.AsObject());
    }

    [Fact]
    public async Task A_one_time_key_id_may_come_again_only_with_the_same_key()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var device = new E2eeDevice(alice);
        var keys = device.OneTimeKeys(1);
        (await hs.Client.UploadKeysAsync(alice, new JsonObject { ["one_time_keys"] = keys })).Ok();

        var same = await hs.Client.UploadKeysAsync(alice, new JsonObject { ["one_time_keys"] = keys.DeepClone() });
        var changed = new JsonObject { [keys.Single().Key] = device.SignedKey(Curve25519KeyPair.Generate().PublicKeyBase64) };
        var refused = await hs.Client.UploadKeysAsync(alice, new JsonObject { ["one_time_keys"] = changed });

        Assert.Equal(1, same.Ok()["one_time_key_counts"]!["signed_curve25519"]!.GetValue<int>());
        refused.Refused(HttpStatusCode.BadRequest, "M_UNKNOWN");
        Assert.Contains("already exists", refused.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_first_cross_signing_keys_need_no_auth_but_replacing_them_needs_the_password()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var first = CrossSigningKeys.Create().UploadBody(alice.UserId);
        (await hs.Client.PostAsync(V3 + "/keys/device_signing/upload", first, alice)).Ok();
        (await hs.Client.PostAsync(V3 + "/keys/device_signing/upload", first.DeepClone(), alice)).Ok(); // the same keys again: no auth

        var replacement = CrossSigningKeys.Create();
        var challenge = await hs.Client.PostAsync(V3 + "/keys/device_signing/upload", replacement.UploadBody(alice.UserId), alice);
        Assert.Equal(HttpStatusCode.Unauthorized, challenge.Status);
        var session = challenge.Body!["session"]!.GetValue<string>();
        Assert.Equal(["m.login.password"], challenge.Body["flows"]!.AsArray().Single()!["stages"]!.AsArray().Select(s => s!.GetValue<string>()));
        Assert.Empty(challenge.Body["params"]!.AsObject());
        Assert.Null(challenge.Body["errcode"]);

        var wrong = await hs.Client.PostAsync(V3 + "/keys/device_signing/upload", WithPasswordAuth(replacement.UploadBody(alice.UserId), alice, "not-the-password", session), alice);
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.Status);
        Assert.Equal("M_FORBIDDEN", wrong.ErrCode);
        Assert.Equal(session, wrong.Body!["session"]!.GetValue<string>());

        (await hs.Client.PostAsync(V3 + "/keys/device_signing/upload", WithPasswordAuth(replacement.UploadBody(alice.UserId), alice, alice.Password, session), alice)).Ok();
        var master = (await hs.Client.QueryKeysAsync(alice, alice.UserId)).Ok()["master_keys"]![alice.UserId]!;
        Assert.Equal(replacement.Master.PublicKeyBase64, master["keys"]![$"ed25519:{replacement.Master.PublicKeyBase64}"]!.GetValue<string>());
    }

    [Fact]
    public async Task Cross_signing_keys_must_be_signed_by_the_master_key()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var body = CrossSigningKeys.Create().UploadBody(alice.UserId);
        body["self_signing_key"] = CrossSigningKeys.Create().UploadBody(alice.UserId)["self_signing_key"]!.DeepClone();

        (await hs.Client.PostAsync(V3 + "/keys/device_signing/upload", body, alice)).Refused(HttpStatusCode.BadRequest, "M_INVALID_SIGNATURE");
        var withoutMaster = new JsonObject { ["self_signing_key"] = body["self_signing_key"]!.DeepClone() };
        (await hs.Client.PostAsync(V3 + "/keys/device_signing/upload", withoutMaster, alice)).Refused(HttpStatusCode.BadRequest, "M_MISSING_PARAM");
    }

    [Fact]
    public async Task A_self_signing_signature_is_merged_into_the_device_keys_that_others_see()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var bob = await hs.Client.RegisterAsync("bob");
        var device = new E2eeDevice(alice);
        var deviceKeys = device.DeviceKeys();
        (await hs.Client.UploadKeysAsync(alice, new JsonObject { ["device_keys"] = deviceKeys })).Ok();
        var crossSigning = CrossSigningKeys.Create();
        (await hs.Client.PostAsync(V3 + "/keys/device_signing/upload", crossSigning.UploadBody(alice.UserId), alice)).Ok();

        var forged = crossSigning.SignDevice(deviceKeys, alice.UserId);
        forged["signatures"]![alice.UserId]![$"ed25519:{crossSigning.SelfSigning.PublicKeyBase64}"] = new string('A', 86);
        var refused = (await hs.Client.PostAsync(V3 + "/keys/signatures/upload",
            new JsonObject { [alice.UserId] = new JsonObject { [alice.DeviceId] = forged } }, alice)).Ok();
        var accepted = (await hs.Client.PostAsync(V3 + "/keys/signatures/upload",
            new JsonObject { [alice.UserId] = new JsonObject { [alice.DeviceId] = crossSigning.SignDevice(deviceKeys, alice.UserId) } }, alice)).Ok();
        var seenByBob = (await hs.Client.QueryKeysAsync(bob, alice.UserId)).Ok();

        Assert.Equal("M_INVALID_SIGNATURE", refused["failures"]![alice.UserId]![alice.DeviceId]!["errcode"]!.GetValue<string>());
        Assert.Empty(accepted["failures"]!.AsObject());
        var keys = seenByBob["device_keys"]![alice.UserId]![alice.DeviceId]!.AsObject();
        Assert.True(JsonSigning.Verify(keys, alice.UserId, crossSigning.SelfSigning.PublicKeyBase64, crossSigning.SelfSigning.PublicKey));
        Assert.True(JsonSigning.Verify(keys, alice.UserId, alice.DeviceId, device.Ed25519.PublicKey)); // the device's own signature stays
        Assert.NotNull(seenByBob["master_keys"]![alice.UserId]);
        Assert.NotNull(seenByBob["self_signing_keys"]![alice.UserId]);
        Assert.Empty(seenByBob["user_signing_keys"]!.AsObject()); // only its owner sees a user-signing key
    }

    [Fact]
    public async Task A_devices_signature_of_the_master_key_is_seen_only_by_its_owner()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var bob = await hs.Client.RegisterAsync("bob");
        var device = new E2eeDevice(alice);
        (await hs.Client.UploadKeysAsync(alice, new JsonObject { ["device_keys"] = device.DeviceKeys() })).Ok();
        var crossSigning = CrossSigningKeys.Create();
        var upload = crossSigning.UploadBody(alice.UserId);
        (await hs.Client.PostAsync(V3 + "/keys/device_signing/upload", upload, alice)).Ok();
        var master = JsonSigning.Sign(upload["master_key"]!.DeepClone().AsObject(), alice.UserId, alice.DeviceId, device.Ed25519);

        var answer = (await hs.Client.PostAsync(V3 + "/keys/signatures/upload",
            new JsonObject { [alice.UserId] = new JsonObject { [crossSigning.Master.PublicKeyBase64] = master } }, alice)).Ok();
        var seenByAlice = (await hs.Client.QueryKeysAsync(alice, alice.UserId)).Ok()["master_keys"]![alice.UserId]!.AsObject();
        var seenByBob = (await hs.Client.QueryKeysAsync(bob, alice.UserId)).Ok()["master_keys"]![alice.UserId]!.AsObject();

        Assert.Empty(answer["failures"]!.AsObject());
        Assert.True(JsonSigning.Verify(seenByAlice, alice.UserId, alice.DeviceId, device.Ed25519.PublicKey));
        // Synapse merges into a cross-signing key only the querying user's own signatures (get_e2e_cross_signing_keys_bulk).
        Assert.Null(seenByBob["signatures"]?[alice.UserId]?[$"ed25519:{alice.DeviceId}"]);
    }

    [Fact]
    public async Task A_signature_of_a_device_that_does_not_exist_is_a_failure()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var deviceKeys = new E2eeDevice(alice).DeviceKeys();
        (await hs.Client.UploadKeysAsync(alice, new JsonObject { ["device_keys"] = deviceKeys.DeepClone() })).Ok();
        var unsigned = await hs.Client.PostAsync(V3 + "/keys/signatures/upload", new JsonObject { [alice.UserId] = new JsonObject { [alice.DeviceId] = deviceKeys.DeepClone() } }, alice);
        var crossSigning = CrossSigningKeys.Create();
        (await hs.Client.PostAsync(V3 + "/keys/device_signing/upload", crossSigning.UploadBody(alice.UserId), alice)).Ok();

        var ghost = deviceKeys.DeepClone().AsObject();
        ghost["device_id"] = "GHOST";
        var answer = (await hs.Client.PostAsync(V3 + "/keys/signatures/upload",
            new JsonObject { [alice.UserId] = new JsonObject { ["GHOST"] = crossSigning.SignDevice(ghost, alice.UserId) } }, alice)).Ok();

        Assert.Equal(404, unsigned.Ok()["failures"]![alice.UserId]![alice.DeviceId]!["status"]!.GetValue<int>()); // no self-signing key yet
        Assert.Equal("M_NOT_FOUND", answer["failures"]![alice.UserId]!["GHOST"]!["errcode"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_room_mates_new_device_shows_in_device_lists_changed_and_a_departure_in_left()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var bob = await hs.Client.RegisterAsync("bob");
        var room = await hs.Client.CreateRoomAsync(alice, new JsonObject { ["preset"] = "public_chat" });
        (await hs.Client.JoinAsync(bob, room)).Ok();
        var since = (await hs.Client.SyncAsync(alice, timeoutMs: 1)).Ok()["next_batch"]!.GetValue<string>();

        var phone = await hs.Client.LoginAsync(bob);
        (await hs.Client.UploadKeysAsync(phone, new JsonObject { ["device_keys"] = new E2eeDevice(phone).DeviceKeys() })).Ok();
        var changed = (await hs.Client.SyncAsync(alice, since, timeoutMs: 2)).Ok();
        since = changed["next_batch"]!.GetValue<string>();
        (await hs.Client.LeaveAsync(bob, room)).Ok();
        var left = (await hs.Client.SyncAsync(alice, since, timeoutMs: 3)).Ok();

        Assert.Equal([bob.UserId], changed["device_lists"]!["changed"]!.AsArray().Select(u => u!.GetValue<string>()));
        Assert.Null(changed["device_lists"]!["left"]);
        Assert.Equal([bob.UserId], left["device_lists"]!["left"]!.AsArray().Select(u => u!.GetValue<string>()));
    }

    [Fact]
    public async Task Joining_a_room_lists_everyone_in_it_as_changed()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var bob = await hs.Client.RegisterAsync("bob");
        var room = await hs.Client.CreateRoomAsync(alice, new JsonObject { ["preset"] = "public_chat" });
        var aliceSince = (await hs.Client.SyncAsync(alice, timeoutMs: 1)).Ok()["next_batch"]!.GetValue<string>();
        var bobSince = (await hs.Client.SyncAsync(bob, timeoutMs: 1)).Ok()["next_batch"]!.GetValue<string>();

        (await hs.Client.JoinAsync(bob, room)).Ok();
        var forAlice = (await hs.Client.SyncAsync(alice, aliceSince, timeoutMs: 2)).Ok();
        var forBob = (await hs.Client.SyncAsync(bob, bobSince, timeoutMs: 2)).Ok();

        Assert.Equal([bob.UserId], forAlice["device_lists"]!["changed"]!.AsArray().Select(u => u!.GetValue<string>()));
        Assert.Equal([alice.UserId, bob.UserId], forBob["device_lists"]!["changed"]!.AsArray().Select(u => u!.GetValue<string>()).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Keys_changes_since_a_sync_token_lists_a_room_mate_with_a_new_device()
    {
        await using var hs = await TestHomeserver.StartAsync();
        var alice = await hs.Client.RegisterAsync("alice");
        var bob = await hs.Client.RegisterAsync("bob");
        var room = await hs.Client.CreateRoomAsync(alice, new JsonObject { ["preset"] = "public_chat" });
        (await hs.Client.JoinAsync(bob, room)).Ok();
        var since = (await hs.Client.SyncAsync(alice, timeoutMs: 1)).Ok()["next_batch"]!.GetValue<string>();

        var before = (await hs.Client.GetAsync(V3 + "/keys/changes?from=" + Uri.EscapeDataString(since), alice)).Ok();
        await hs.Client.LoginAsync(bob);
        var after = (await hs.Client.GetAsync(V3 + "/keys/changes?from=" + Uri.EscapeDataString(since), alice)).Ok();

        Assert.Empty(before["changed"]!.AsArray());
        Assert.Equal([bob.UserId], after["changed"]!.AsArray().Select(u => u!.GetValue<string>()));
        Assert.Empty(after["left"]!.AsArray());
    }

    private static string ServerOf(TestUser user) => user.UserId[(user.UserId.IndexOf(':', StringComparison.Ordinal) + 1)..];

    private static JsonObject WithPasswordAuth(JsonObject body, TestUser user, string password, string session)
    {
        body["auth"] = new JsonObject
        {
            ["type"] = "m.login.password",
            ["identifier"] = new JsonObject { ["type"] = "m.id.user", ["user"] = user.UserId },
            ["password"] = password,
            ["session"] = session,
        };
        return body;
    }
}

/// <summary>The keys a client device would upload, signed with its Ed25519 key (CS API §"Device keys", "One-time and fallback keys").</summary>
internal sealed class E2eeDevice(TestUser user)
{
    private int _nextKeyId;

    public Ed25519KeyPair Ed25519 { get; } = Ed25519KeyPair.Generate();

    public Curve25519KeyPair Curve25519 { get; } = Curve25519KeyPair.Generate();

    public JsonObject DeviceKeys() => JsonSigning.Sign(new JsonObject
    {
        ["user_id"] = user.UserId,
        ["device_id"] = user.DeviceId,
        ["algorithms"] = new JsonArray("m.olm.v1.curve25519-aes-sha2", "m.megolm.v1.aes-sha2"),
        ["keys"] = new JsonObject
        {
            [$"curve25519:{user.DeviceId}"] = Curve25519.PublicKeyBase64,
            [$"ed25519:{user.DeviceId}"] = Ed25519.PublicKeyBase64,
        },
    }, user.UserId, user.DeviceId, Ed25519);

    public JsonObject SignedKey(string publicKey, bool fallback = false)
    {
        var key = new JsonObject { ["key"] = publicKey };
        if (fallback)
        {
            key["fallback"] = true;
        }

        return JsonSigning.Sign(key, user.UserId, user.DeviceId, Ed25519);
    }

    public JsonObject OneTimeKeys(int count)
    {
        var keys = new JsonObject();
        for (var i = 0; i < count; i++)
        {
            keys[$"signed_curve25519:K{_nextKeyId++}"] = SignedKey(Curve25519KeyPair.Generate().PublicKeyBase64);
        }

        return keys;
    }

    public JsonObject FallbackKey(string keyId) =>
        new() { [$"signed_curve25519:{keyId}"] = SignedKey(Curve25519KeyPair.Generate().PublicKeyBase64, fallback: true) };
}
