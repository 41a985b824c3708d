using System.Text.Json;
using System.Text.Json.Nodes;
using Doorman.Matrix.Crypto;

namespace Doorman.Sandbox.Homeserver;

/// <summary>
/// The key management API (CS API v1.12 §"End-to-End Encryption" → "Key management API", "Cross-signing") as
/// Synapse 1.160 answers it (synapse/rest/client/keys.py, synapse/handlers/e2e_keys.py,
/// synapse/storage/databases/main/end_to_end_keys.py). Only local users: there is no federation, so a user of
/// another server is simply absent from answers.
/// </summary>
internal sealed partial class HomeserverEngine
{
    private const string Ed25519Prefix = "ed25519:";

    /// <summary>
    /// <c>POST /keys/upload</c>: device keys (for the caller's own user and device only), one-time keys (a known id
    /// may come again only with the same key, signatures aside) and fallback keys (one per algorithm, a new one unused).
    /// Answers the device's one-time key counts, <c>signed_curve25519</c> always among them (0 when none).
    /// </summary>
    public JsonObject UploadKeys(Session session, JsonObject body)
    {
        var deviceKeys = body["device_keys"];
        if (deviceKeys is not null)
        {
            // Synapse validates the DeviceKeys shape first (KeyUploadRequestBody), then whose keys they are.
            if (deviceKeys is not JsonObject keys || Json.OptionalString(keys, "user_id") is not { } userId
                || Json.OptionalString(keys, "device_id") is not { } deviceId
                || keys["algorithms"] is not JsonArray algorithms || algorithms.Any(a => a is not JsonValue v || v.GetValueKind() != JsonValueKind.String)
                || keys["keys"] is not JsonObject publicKeys || publicKeys.Any(k => k.Value is not JsonValue v || v.GetValueKind() != JsonValueKind.String)
                || keys["signatures"] is not JsonObject)
            {
                throw MatrixErrorException.BadJson("device_keys must have user_id, device_id, algorithms, keys and signatures");
            }

            if (userId != session.UserId)
            {
                throw MatrixErrorException.BadJson("Provided `user_id` in `device_keys` does not match that of the authenticated user");
            }

            if (deviceId != session.DeviceId)
            {
                throw MatrixErrorException.BadJson("Provided `device_id` in `device_keys` does not match that of the authenticated user device");
            }
        }

        var oneTimeKeys = KeyMap(body, "one_time_keys");
        var fallbackKeys = KeyMap(body, "fallback_keys");
        lock (_gate)
        {
            var device = DeviceOf(session);
            if (deviceKeys is JsonObject newKeys && newKeys.Count > 0)
            {
                // Synapse stores the keys as sent and tells room-mates only when they changed (set_e2e_device_keys).
                if (device.Keys is null || !JsonNode.DeepEquals(device.Keys, newKeys))
                {
                    device.Keys = (JsonObject)newKeys.DeepClone();
                    DeviceListChanged(session.UserId);
                }
            }

            // All one-time keys are checked before any is stored: a conflict refuses the whole batch.
            var added = new List<OneTimeKey>();
            foreach (var (algorithm, keyId, key) in oneTimeKeys)
            {
                if (device.OneTimeKeys.FirstOrDefault(k => k.Algorithm == algorithm && k.KeyId == keyId) is { } existing)
                {
                    if (!OneTimeKeysMatch(existing.Key, key))
                    {
                        throw MatrixErrorException.Unknown(400,
                            $"One time key {algorithm}:{keyId} already exists. Old key: {existing.Key.ToJsonString()}; new key: {key.ToJsonString()}");
                    }
                }
                else if (!added.Any(k => k.Algorithm == algorithm && k.KeyId == keyId))
                {
                    added.Add(new OneTimeKey(algorithm, keyId, key.DeepClone()));
                }
            }

            device.OneTimeKeys.AddRange(added);
            foreach (var (algorithm, keyId, key) in fallbackKeys)
            {
                // The same key again keeps its used flag; a different one replaces it, unused.
                if (!device.FallbackKeys.TryGetValue(algorithm, out var old) || old.KeyId != keyId || !JsonNode.DeepEquals(old.Key, key))
                {
                    device.FallbackKeys[algorithm] = new FallbackKey(keyId, key.DeepClone());
                }
            }

            return new JsonObject { ["one_time_key_counts"] = OneTimeKeyCounts(device) };
        }
    }

    /// <summary>
    /// <c>POST /keys/query</c>: every queried user appears (with no devices when unknown); devices with keys, each with
    /// <c>unsigned</c> (the display name when the device has one) and the owner's cross-signing signatures merged in.
    /// Master and self-signing keys of the queried users, the user-signing key only of the caller when queried.
    /// </summary>
    public JsonObject QueryKeys(Session session, JsonObject body)
    {
        if (body["device_keys"] is not JsonObject query)
        {
            throw MatrixErrorException.BadJson("'device_keys' must be a JSON object");
        }

        if (query.Any(kv => kv.Value is not JsonArray list || list.Any(d => d is not JsonValue v || v.GetValueKind() != JsonValueKind.String)))
        {
            throw MatrixErrorException.BadJson("'device_keys' values must be a list of strings");
        }

        lock (_gate)
        {
            var deviceKeys = new JsonObject();
            var masterKeys = new JsonObject();
            var selfSigningKeys = new JsonObject();
            var userSigningKeys = new JsonObject();
            foreach (var (userId, listNode) in query)
            {
                if (!Ids.IsValidUserId(userId) || Ids.ServerOf(userId) != ServerName)
                {
                    continue;
                }

                var wanted = listNode!.AsArray().Select(d => d!.GetValue<string>()).ToHashSet(StringComparer.Ordinal);
                var devices = new JsonObject();
                deviceKeys[userId] = devices;
                if (!_accounts.TryGetValue(userId, out var account))
                {
                    continue;
                }

                foreach (var device in account.Devices.Values)
                {
                    if (device.Keys is not null && (wanted.Count == 0 || wanted.Contains(device.DeviceId)))
                    {
                        devices[device.DeviceId] = DeviceKeysView(userId, device);
                    }
                }

                if (CrossSigningKeyView(account, "master", session.UserId) is { } master)
                {
                    masterKeys[userId] = master;
                }

                if (CrossSigningKeyView(account, "self_signing", session.UserId) is { } selfSigning)
                {
                    selfSigningKeys[userId] = selfSigning;
                }

                if (userId == session.UserId && CrossSigningKeyView(account, "user_signing", session.UserId) is { } userSigning)
                {
                    userSigningKeys[userId] = userSigning;
                }
            }

            return new JsonObject
            {
                ["device_keys"] = deviceKeys,
                ["failures"] = new JsonObject(),
                ["master_keys"] = masterKeys,
                ["self_signing_keys"] = selfSigningKeys,
                ["user_signing_keys"] = userSigningKeys,
            };
        }
    }

    /// <summary>
    /// <c>GET /keys/changes</c>: the users whose device lists changed, or who stopped sharing a room with the caller,
    /// between a sync token and now (Synapse ignores <c>to</c>, and so do we): the <c>device_lists</c> of a sync.
    /// </summary>
    public JsonObject KeyChanges(Session session, string from)
    {
        lock (_gate)
        {
            var (changed, left) = DeviceLists(session, ParseStreamToken(from));
            return new JsonObject
            {
                ["changed"] = new JsonArray([.. changed.Order(StringComparer.Ordinal).Select(u => (JsonNode)u)]),
                ["left"] = new JsonArray([.. left.Order(StringComparer.Ordinal).Select(u => (JsonNode)u)]),
            };
        }
    }

    /// <summary>
    /// <c>POST /keys/claim</c>: one key per requested device, the oldest one-time key of the algorithm (removed), else
    /// the fallback key (kept, marked used). Devices with neither are left out, as are users with no key at all.
    /// </summary>
    public JsonObject ClaimKeys(JsonObject body)
    {
        lock (_gate)
        {
            var result = new JsonObject();
            foreach (var (userId, devicesNode) in Json.OptionalObject(body, "one_time_keys") ?? [])
            {
                if (devicesNode is not JsonObject wanted || !_accounts.TryGetValue(userId, out var account))
                {
                    continue;
                }

                foreach (var (deviceId, algorithmNode) in wanted)
                {
                    if (algorithmNode is not JsonValue value || value.GetValueKind() != JsonValueKind.String
                        || !account.Devices.TryGetValue(deviceId, out var device))
                    {
                        continue;
                    }

                    var algorithm = value.GetValue<string>();
                    JsonObject? claimed = null;
                    if (device.OneTimeKeys.FindIndex(k => k.Algorithm == algorithm) is var index and >= 0)
                    {
                        var key = device.OneTimeKeys[index];
                        device.OneTimeKeys.RemoveAt(index);
                        claimed = new JsonObject { [$"{algorithm}:{key.KeyId}"] = key.Key.DeepClone() };
                    }
                    else if (device.FallbackKeys.TryGetValue(algorithm, out var fallback))
                    {
                        fallback.Used = true;
                        claimed = new JsonObject { [$"{algorithm}:{fallback.KeyId}"] = fallback.Key.DeepClone() };
                    }

                    if (claimed is not null)
                    {
                        if (result[userId] is not JsonObject userResult)
                        {
                            result[userId] = userResult = [];
                        }

                        userResult[deviceId] = claimed;
                    }
                }
            }

            return new JsonObject { ["one_time_keys"] = result, ["failures"] = new JsonObject() };
        }
    }

    /// <summary>
    /// <c>POST /keys/device_signing/upload</c> (CS API v1.11+): the first master key needs no user-interactive auth;
    /// replacing any stored key needs the password (Synapse's <c>validate_user_via_ui_auth</c>, no skipping); sending
    /// exactly the stored keys again is a plain 200. The self-signing and user-signing keys must carry a valid
    /// signature by the master key.
    /// </summary>
    public JsonObject UploadCrossSigningKeys(Session session, JsonObject body)
    {
        lock (_gate)
        {
            var account = AccountOf(session.UserId);
            var different = ((string, string)[])[("master_key", "master"), ("self_signing_key", "self_signing"), ("user_signing_key", "user_signing")];
            if (!different.Any(k => body.ContainsKey(k.Item1)
                && !(account.CrossSigningKeys.TryGetValue(k.Item2, out var stored) && JsonNode.DeepEquals(stored, body[k.Item1]))))
            {
                return [];
            }

            if (account.CrossSigningKeys.ContainsKey("master"))
            {
                CheckPasswordAuth(account, Json.OptionalObject(body, "auth"));
            }

            var master = Json.OptionalObject(body, "master_key");
            if (master is not null)
            {
                CheckCrossSigningKey(master, session.UserId, "master", signedBy: null);
            }
            else
            {
                master = account.CrossSigningKeys.GetValueOrDefault("master");
            }

            if (master is null)
            {
                throw new MatrixErrorException(400, "M_MISSING_PARAM", "No master key available");
            }

            if (CrossSigningPublicKey(master) is not { } masterKey)
            {
                throw MatrixErrorException.InvalidParam("Invalid master key");
            }

            var selfSigning = Json.OptionalObject(body, "self_signing_key");
            var userSigning = Json.OptionalObject(body, "user_signing_key");
            if (selfSigning is not null)
            {
                CheckCrossSigningKey(selfSigning, session.UserId, "self_signing", masterKey);
            }

            if (userSigning is not null)
            {
                CheckCrossSigningKey(userSigning, session.UserId, "user_signing", masterKey);
            }

            if (body.ContainsKey("master_key"))
            {
                if (!account.CrossSigningKeys.TryGetValue("master", out var old) || !JsonNode.DeepEquals(old, master))
                {
                    account.MasterKeySignatures.Clear(); // they were of the old key
                }

                account.CrossSigningKeys["master"] = (JsonObject)master.DeepClone();
            }

            if (selfSigning is not null)
            {
                account.CrossSigningKeys["self_signing"] = (JsonObject)selfSigning.DeepClone();
            }

            if (userSigning is not null)
            {
                // Only the user hears of their own user-signing key (Synapse's signature stream).
                account.CrossSigningKeys["user_signing"] = (JsonObject)userSigning.DeepClone();
                account.SignatureChanges[session.UserId] = ++_stream;
                _signals.Notify(session.UserId);
            }

            if (body.ContainsKey("master_key") || selfSigning is not null)
            {
                DeviceListChanged(session.UserId);
            }

            return [];
        }
    }

    /// <summary>
    /// <c>POST /keys/signatures/upload</c>, Synapse's <c>upload_signatures_for_device_keys</c>: one's own devices signed
    /// by one's self-signing key, one's own master key signed by one's devices, and other users' master keys signed by
    /// one's user-signing key. Each signed object must equal the stored one (signatures and <c>unsigned</c> aside) and
    /// its new signature must verify; what fails is listed under <c>failures</c> and the rest is stored.
    /// </summary>
    public JsonObject UploadSignatures(Session session, JsonObject body)
    {
        lock (_gate)
        {
            var failures = new JsonObject();
            var account = AccountOf(session.UserId);
            if (body[session.UserId] is JsonObject own && own.Count > 0)
            {
                UploadOwnSignatures(account, own, failures);
            }

            foreach (var (target, signed) in body)
            {
                if (target == session.UserId)
                {
                    continue;
                }

                if (signed is not JsonObject devices || devices.Any(d => d.Value is not JsonObject))
                {
                    throw MatrixErrorException.InvalidParam("Invalid parameter");
                }

                UploadOtherUserSignature(account, target, devices, failures);
            }

            return new JsonObject { ["failures"] = failures };
        }
    }

    // ---- Helpers ---------------------------------------------------------------------------------------------

    /// <summary>Caller holds the lock. Records a change to the user's device list and wakes everyone who shares a room with them.</summary>
    private void DeviceListChanged(string userId)
    {
        AccountOf(userId).DeviceListPosition = ++_stream;
        _signals.Notify(userId);
        foreach (var other in UsersSharingARoomWith(userId))
        {
            _signals.Notify(other);
        }
    }

    /// <summary>Joined members of the rooms the user is joined to (the user included when joined anywhere).</summary>
    private HashSet<string> UsersSharingARoomWith(string userId)
    {
        var users = new HashSet<string>(StringComparer.Ordinal);
        foreach (var room in _rooms.Values)
        {
            if (room.MembershipOf(userId) == Membership.Join)
            {
                users.UnionWith(room.UsersWithMembership(Membership.Join));
            }
        }

        return users;
    }

    private Device DeviceOf(Session session) =>
        AccountOf(session.UserId).Devices.TryGetValue(session.DeviceId, out var device)
            ? device
            : throw MatrixErrorException.Unknown(400, "To upload keys, you must pass device_id when authenticating");

    private static JsonObject OneTimeKeyCounts(Device device)
    {
        // Synapse's count_e2e_one_time_keys starts from {signed_curve25519: 0} so a client always sees a count.
        var counts = new JsonObject { ["signed_curve25519"] = 0 };
        foreach (var group in device.OneTimeKeys.GroupBy(k => k.Algorithm, StringComparer.Ordinal))
        {
            counts[group.Key] = group.Count();
        }

        return counts;
    }

    private static JsonArray UnusedFallbackKeyTypes(Device device) =>
        [.. device.FallbackKeys.Where(kv => !kv.Value.Used).Select(kv => (JsonNode)kv.Key)];

    /// <summary><c>one_time_keys</c> or <c>fallback_keys</c>: <c>algorithm:id</c> → a key string or a signed key object.</summary>
    private static List<(string Algorithm, string KeyId, JsonNode Key)> KeyMap(JsonObject body, string name)
    {
        var keys = new List<(string, string, JsonNode)>();
        if (body[name] is null)
        {
            return keys;
        }

        if (body[name] is not JsonObject map)
        {
            throw MatrixErrorException.BadJson($"{name} must be a mapping");
        }

        foreach (var (id, key) in map)
        {
            var parts = id.Split(':');
            if (parts.Length != 2)
            {
                throw MatrixErrorException.BadJson($"Invalid {name} key '{id}'. Expected \"<algorithm>:<device_id>\".");
            }

            var isString = key is JsonValue v && v.GetValueKind() == JsonValueKind.String;
            if (!isString && !(key is JsonObject o && o["key"] is JsonValue k && k.GetValueKind() == JsonValueKind.String && o["signatures"] is JsonObject))
            {
                throw MatrixErrorException.BadJson($"{name}.{id} must be a key string or an object with key and signatures");
            }

            keys.Add((parts[0], parts[1], key!));
        }

        return keys;
    }

    /// <summary>Synapse's <c>_one_time_keys_match</c>: equal once the signatures of both are set aside.</summary>
    private static bool OneTimeKeysMatch(JsonNode old, JsonNode fresh)
    {
        if (old is not JsonObject oldObject || fresh is not JsonObject freshObject)
        {
            return JsonNode.DeepEquals(old, fresh);
        }

        return JsonNode.DeepEquals(WithoutSignatures(oldObject), WithoutSignatures(freshObject));
    }

    private static JsonObject WithoutSignatures(JsonObject obj, bool alsoUnsigned = false)
    {
        var copy = (JsonObject)obj.DeepClone();
        copy.Remove("signatures");
        if (alsoUnsigned)
        {
            copy.Remove("unsigned");
        }

        return copy;
    }

    private static JsonObject DeviceKeysView(string userId, Device device)
    {
        var view = (JsonObject)device.Keys!.DeepClone();
        if (device.CrossSignatures.Count > 0)
        {
            MergeSignatures(view, userId, device.CrossSignatures);
        }

        var unsigned = new JsonObject();
        if (device.DisplayName is not null)
        {
            unsigned["device_display_name"] = device.DisplayName;
        }

        view["unsigned"] = unsigned;
        return view;
    }

    /// <summary>
    /// A cross-signing key as <paramref name="viewer"/> sees it. Synapse merges in only the viewer's own signatures
    /// (get_e2e_cross_signing_keys_bulk with from_user_id): the owner's device signatures of their master key are
    /// invisible to others, and a user-signing signature is visible only to its signer.
    /// </summary>
    private static JsonObject? CrossSigningKeyView(Account account, string usage, string viewer)
    {
        if (!account.CrossSigningKeys.TryGetValue(usage, out var key))
        {
            return null;
        }

        var view = (JsonObject)key.DeepClone();
        if (usage == "master" && account.MasterKeySignatures.TryGetValue(viewer, out var signatures))
        {
            MergeSignatures(view, viewer, signatures);
        }

        return view;
    }

    private static void MergeSignatures(JsonObject target, string signer, Dictionary<string, string> signatures)
    {
        if (target["signatures"] is not JsonObject all)
        {
            target["signatures"] = all = [];
        }

        if (all[signer] is not JsonObject mine)
        {
            all[signer] = mine = [];
        }

        foreach (var (keyId, signature) in signatures)
        {
            mine[keyId] = signature;
        }
    }

    /// <summary>The single <c>ed25519:</c> key of a cross-signing key (Synapse's <c>get_verify_key_from_cross_signing_key</c>).</summary>
    private static (string KeyId, byte[] PublicKey)? CrossSigningPublicKey(JsonObject key)
    {
        if (key["keys"] is not JsonObject keys || keys.Count != 1)
        {
            return null;
        }

        var (id, value) = keys.First();
        return id.StartsWith(Ed25519Prefix, StringComparison.Ordinal) && value is JsonValue v && v.GetValueKind() == JsonValueKind.String
            && Base64Unpadded.TryDecode(v.GetValue<string>()) is { Length: Ed25519KeyPair.KeySize } publicKey
            ? (id, publicKey)
            : null;
    }

    /// <summary>Synapse's <c>_check_cross_signing_key</c>: the user's, of the right usage, one key, signed by the master key when asked.</summary>
    private static void CheckCrossSigningKey(JsonObject key, string userId, string usage, (string KeyId, byte[] PublicKey)? signedBy)
    {
        if (Json.OptionalString(key, "user_id") != userId
            || key["usage"] is not JsonArray usages || !usages.Any(u => u is JsonValue v && v.GetValueKind() == JsonValueKind.String && v.GetValue<string>() == usage)
            || key["keys"] is not JsonObject keys || keys.Count != 1)
        {
            throw MatrixErrorException.InvalidParam($"Invalid {usage} key");
        }

        if (signedBy is { } master && !VerifySignature(key, userId, master.KeyId, master.PublicKey))
        {
            throw new MatrixErrorException(400, "M_INVALID_SIGNATURE", $"Invalid signature on {usage} key");
        }
    }

    /// <summary>
    /// Synapse's <c>verify_signed_json</c>: the signature under <paramref name="keyId"/> (<c>ed25519:…</c>) verifies.
    /// </summary>
    private static bool VerifySignature(JsonObject obj, string signer, string keyId, byte[] publicKey) =>
        keyId.StartsWith(Ed25519Prefix, StringComparison.Ordinal)
        && JsonSigning.Verify(obj, signer, keyId[Ed25519Prefix.Length..], publicKey);

    /// <summary>
    /// User-interactive auth with the one flow Synapse offers a password user, <c>m.login.password</c>. Without
    /// <c>auth</c> (or with a wrong password) the answer is 401 with a session, the flows and empty params.
    /// </summary>
    private void CheckPasswordAuth(Account account, JsonObject? auth)
    {
        var session = auth is null ? null : Json.OptionalString(auth, "session");
        if (session is not null && !_uiaSessions.ContainsKey(session))
        {
            throw MatrixErrorException.Unknown(400, $"Unknown session ID: {session}");
        }

        if (session is null)
        {
            session = Ids.NewUiaSession();
            _uiaSessions[session] = account.UserId;
        }

        var flows = new JsonObject
        {
            ["session"] = session,
            ["flows"] = new JsonArray(new JsonObject { ["stages"] = new JsonArray("m.login.password") }),
            ["params"] = new JsonObject(),
        };
        if (auth is null || Json.OptionalString(auth, "type") is not { } type)
        {
            throw new UserInteractiveAuthRequiredException(flows);
        }

        var identifier = Json.OptionalObject(auth, "identifier");
        var user = identifier is not null && Json.OptionalString(identifier, "type") == "m.id.user"
            ? Json.OptionalString(identifier, "user")
            : Json.OptionalString(auth, "user");
        var userId = user is null ? null : user.StartsWith('@') ? user : $"@{user}:{ServerName}";
        if (type != "m.login.password" || userId != account.UserId || Json.OptionalString(auth, "password") != account.Password)
        {
            flows["completed"] = new JsonArray();
            throw new UserInteractiveAuthRequiredException(flows, "M_FORBIDDEN", "Invalid username or password");
        }

        _uiaSessions.Remove(session);
    }

    /// <summary>Synapse's <c>_process_self_signatures</c>.</summary>
    private void UploadOwnSignatures(Account account, JsonObject signed, JsonObject failures)
    {
        var userId = account.UserId;
        MatrixErrorException? missing = null;
        if (!account.CrossSigningKeys.TryGetValue("self_signing", out var selfSigningKey))
        {
            missing = MatrixErrorException.NotFound($"No self_signing key found for {userId}");
        }
        else if (!account.CrossSigningKeys.ContainsKey("master"))
        {
            missing = MatrixErrorException.NotFound($"No master key found for {userId}");
        }
        else if (!account.Devices.Values.Any(d => d.Keys is not null))
        {
            missing = MatrixErrorException.NotFound("No device keys found");
        }

        if (missing is not null)
        {
            failures[userId] = new JsonObject(signed.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)Failure(missing))));
            return;
        }

        var selfSigning = CrossSigningPublicKey(selfSigningKey!)!.Value;
        var master = account.CrossSigningKeys["master"];
        var masterKey = CrossSigningPublicKey(master)!.Value;
        var changed = false;
        foreach (var (keyId, node) in signed)
        {
            if (node is not JsonObject obj)
            {
                throw MatrixErrorException.InvalidParam("Invalid parameter");
            }

            try
            {
                if (obj["signatures"]?[userId] is not JsonObject signatures)
                {
                    throw InvalidSignature();
                }

                if (keyId == masterKey.KeyId[Ed25519Prefix.Length..])
                {
                    // The master key signed by the user's devices: every signature must be by a known device's key.
                    var accepted = new Dictionary<string, string>(StringComparer.Ordinal);
                    foreach (var (signingKeyId, signature) in signatures)
                    {
                        var signingDevice = signingKeyId.Split(':', 2) is [_, var id] ? id : "";
                        if (!account.Devices.TryGetValue(signingDevice, out var device) || device.Keys?["keys"]?[signingKeyId] is not JsonValue publicKeyNode
                            || Base64Unpadded.TryDecode(publicKeyNode.GetValueKind() == JsonValueKind.String ? publicKeyNode.GetValue<string>() : null) is not { } devicePublicKey)
                        {
                            throw InvalidSignature();
                        }

                        if (signature is not JsonValue text || text.GetValueKind() != JsonValueKind.String)
                        {
                            throw InvalidSignature();
                        }

                        CheckSignedCopy(obj, master, userId, signingKeyId, devicePublicKey);
                        accepted[signingKeyId] = text.GetValue<string>();
                    }

                    if (!account.MasterKeySignatures.TryGetValue(userId, out var stored))
                    {
                        account.MasterKeySignatures[userId] = stored = new(StringComparer.Ordinal);
                    }

                    foreach (var (id, signature) in accepted)
                    {
                        stored[id] = signature;
                    }

                    changed |= accepted.Count > 0;
                    continue;
                }

                if (!signatures.ContainsKey(selfSigning.KeyId))
                {
                    throw InvalidSignature();
                }

                if (!account.Devices.TryGetValue(keyId, out var target) || target.Keys is null)
                {
                    throw MatrixErrorException.NotFound("Unknown device");
                }

                if (target.CrossSignatures.ContainsKey(selfSigning.KeyId)
                    || target.Keys["signatures"]?[userId]?[selfSigning.KeyId] is not null)
                {
                    continue; // already signed; Synapse skips it
                }

                CheckSignedCopy(obj, target.Keys, userId, selfSigning.KeyId, selfSigning.PublicKey);
                target.CrossSignatures[selfSigning.KeyId] = signatures[selfSigning.KeyId]!.GetValue<string>();
                changed = true;
            }
            catch (MatrixErrorException e)
            {
                AddFailure(failures, userId, keyId, e);
            }
        }

        if (changed)
        {
            DeviceListChanged(userId);
        }
    }

    /// <summary>Synapse's <c>_process_other_signatures</c>: another user's master key, signed by the uploader's user-signing key.</summary>
    private void UploadOtherUserSignature(Account uploader, string targetUserId, JsonObject signed, JsonObject failures)
    {
        var userId = uploader.UserId;
        if (!uploader.CrossSigningKeys.TryGetValue("user_signing", out var userSigningKey))
        {
            var missing = MatrixErrorException.NotFound($"No user_signing key found for {userId}");
            failures[targetUserId] = new JsonObject(signed.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)Failure(missing))));
            return;
        }

        var userSigning = CrossSigningPublicKey(userSigningKey)!.Value;
        var target = _accounts.GetValueOrDefault(targetUserId);
        if (target is null || !target.CrossSigningKeys.TryGetValue("master", out var master))
        {
            var missing = MatrixErrorException.NotFound($"No master key found for {targetUserId}");
            failures[targetUserId] = new JsonObject(signed.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)Failure(missing))));
            return;
        }

        var masterId = CrossSigningPublicKey(master)!.Value.KeyId[Ed25519Prefix.Length..];
        if (!signed.ContainsKey(masterId))
        {
            var unknown = MatrixErrorException.NotFound("Unknown device");
            failures[targetUserId] = new JsonObject(signed.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)Failure(unknown))));
            return;
        }

        foreach (var (other, _) in signed.Where(kv => kv.Key != masterId))
        {
            AddFailure(failures, targetUserId, other, MatrixErrorException.NotFound("Unknown device"));
        }

        if (target.MasterKeySignatures.TryGetValue(userId, out var existing) && existing.ContainsKey(userSigning.KeyId))
        {
            return;
        }

        try
        {
            var obj = (JsonObject)signed[masterId]!;
            CheckSignedCopy(obj, master, userId, userSigning.KeyId, userSigning.PublicKey);
            if (existing is null)
            {
                target.MasterKeySignatures[userId] = existing = new(StringComparer.Ordinal);
            }

            existing[userSigning.KeyId] = obj["signatures"]![userId]![userSigning.KeyId]!.GetValue<string>();
            uploader.SignatureChanges[targetUserId] = ++_stream;
            _signals.Notify(userId);
        }
        catch (MatrixErrorException e)
        {
            AddFailure(failures, targetUserId, masterId, e);
        }
    }

    /// <summary>
    /// Synapse's <c>_check_device_signature</c>: the signed object equals the stored one (signatures and unsigned
    /// aside), and the signature by <paramref name="keyId"/> verifies.
    /// </summary>
    private static void CheckSignedCopy(JsonObject signed, JsonObject stored, string signer, string keyId, byte[] publicKey)
    {
        if (!JsonNode.DeepEquals(WithoutSignatures(signed, alsoUnsigned: true), WithoutSignatures(stored, alsoUnsigned: true)))
        {
            throw MatrixErrorException.Unknown(400, "Key does not match");
        }

        if (!VerifySignature(signed, signer, keyId, publicKey))
        {
            throw InvalidSignature();
        }
    }

    private static MatrixErrorException InvalidSignature() => new(400, "M_INVALID_SIGNATURE", "Invalid signature");

    private static void AddFailure(JsonObject failures, string userId, string keyId, MatrixErrorException e)
    {
        if (failures[userId] is not JsonObject forUser)
        {
            failures[userId] = forUser = [];
        }

        forUser[keyId] = Failure(e);
    }

    /// <summary>Synapse's <c>_exception_to_failure</c>; its message is <c>str(SynapseError)</c>, "status: message".</summary>
    private static JsonObject Failure(MatrixErrorException e) => new()
    {
        ["status"] = e.Status,
        ["errcode"] = e.ErrorCode,
        ["message"] = $"{e.Status}: {e.Message}",
    };
}

/// <summary>A 401 of user-interactive auth (CS API §"User-Interactive Authentication API"): the flows body, and an error once a stage failed.</summary>
internal sealed class UserInteractiveAuthRequiredException(JsonObject flows, string? errorCode = null, string? error = null)
    : Exception(error ?? "User-interactive authentication required")
{
    public JsonObject Body
    {
        get
        {
            var body = (JsonObject)flows.DeepClone();
            if (errorCode is not null)
            {
                body["error"] = error;
                body["errcode"] = errorCode;
            }

            return body;
        }
    }
}
