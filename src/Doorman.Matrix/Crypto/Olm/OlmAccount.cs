using System.Buffers.Binary;

namespace Doorman.Matrix.Crypto.Olm;

/// <summary>
/// A device's Olm account (spec: Olm, "Initial setup"; CS API "Key management API"): the Ed25519 fingerprint
/// key, the Curve25519 identity key, and the one-time and fallback keys others start sessions with.
/// </summary>
public sealed class OlmAccount
{
    /// <summary>
    /// How many one-time keys the server should hold at most: half of what the account keeps, so keys used by
    /// pre-key messages still on their way are not forgotten when new ones are generated (libolm and vodozemac:
    /// 50, keeping 100 and more).
    /// </summary>
    public const int MaxPublishedOneTimeKeys = 50;

    /// <summary>How many one-time private keys the account keeps; beyond it the oldest are forgotten.</summary>
    public const int MaxStoredOneTimeKeys = 2 * MaxPublishedOneTimeKeys;

    private readonly Curve25519KeyPair _identityKey;
    private readonly SortedDictionary<ulong, StoredKey> _oneTimeKeys = [];
    private ulong _nextOneTimeKeyId;
    private ulong _nextFallbackKeyId;
    private StoredKey? _fallbackKey;
    private StoredKey? _previousFallbackKey;

    private OlmAccount(Ed25519KeyPair signingKey, Curve25519KeyPair identityKey)
    {
        SigningKey = signingKey;
        _identityKey = identityKey;
    }

    public static OlmAccount Create() => new(Ed25519KeyPair.Generate(), Curve25519KeyPair.Generate());

    /// <summary>The device's Ed25519 key, which signs its device keys and one-time keys.</summary>
    public Ed25519KeyPair SigningKey { get; }

    public string Ed25519Key => SigningKey.PublicKeyBase64;

    public string Curve25519Key => _identityKey.PublicKeyBase64;

    [System.Diagnostics.CodeAnalysis.SuppressMessage("Performance", "CA1822", Justification = "Read from the account, as vodozemac's max_number_of_one_time_keys is; the lead's glue uses it so.")]
    public int MaxOneTimeKeys => MaxPublishedOneTimeKeys;

    public void GenerateOneTimeKeys(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        for (var i = 0; i < count; i++)
        {
            _oneTimeKeys[_nextOneTimeKeyId++] = new StoredKey(Curve25519KeyPair.Generate(), false);
            if (_oneTimeKeys.Count > MaxStoredOneTimeKeys)
                _oneTimeKeys.Remove(_oneTimeKeys.Keys.First());
        }
    }

    /// <summary>Key id → public key of the one-time keys not yet uploaded (key ids as vodozemac writes them).</summary>
    public IReadOnlyDictionary<string, string> UnpublishedOneTimeKeys =>
        _oneTimeKeys.Where(k => !k.Value.Published).ToDictionary(k => KeyId(k.Key), k => k.Value.Key.PublicKeyBase64);

    /// <summary>
    /// Makes a new fallback key. The previous one is kept (until the next call) for pre-key messages already
    /// sent to it, as vodozemac does (src/olm/account/fallback_keys.rs).
    /// </summary>
    public void GenerateFallbackKey()
    {
        _previousFallbackKey = _fallbackKey;
        _fallbackKey = new StoredKey(Curve25519KeyPair.Generate(), false, _nextFallbackKeyId++);
    }

    public KeyValuePair<string, string>? UnpublishedFallbackKey =>
        _fallbackKey is { Published: false } key ? new(KeyId(key.Id), key.Key.PublicKeyBase64) : null;

    public void MarkKeysAsPublished()
    {
        foreach (var id in _oneTimeKeys.Keys.ToList())
            _oneTimeKeys[id] = _oneTimeKeys[id] with { Published = true };
        if (_fallbackKey is not null)
            _fallbackKey = _fallbackKey with { Published = true };
    }

    /// <summary>
    /// Starts a session to another device from its identity key and one of its one-time (or fallback) keys
    /// (spec: Olm, "Initial setup": S = ECDH(I_A, E_B) ‖ ECDH(E_A, I_B) ‖ ECDH(E_A, E_B), E_A a fresh base key).
    /// </summary>
    public OlmSession CreateOutboundSession(string theirIdentityKey, string theirOneTimeKey)
    {
        var identity = PublicKey(theirIdentityKey, "identity");
        var oneTime = PublicKey(theirOneTimeKey, "one-time");
        var baseKey = Curve25519KeyPair.Generate();
        var (rootKey, chainKey) = OlmKdf.Initial(
            OlmKdf.Agree(_identityKey, oneTime),
            OlmKdf.Agree(baseKey, identity),
            OlmKdf.Agree(baseKey, oneTime));
        return OlmSession.Outbound(new SessionKeys(_identityKey.PublicKey, baseKey.PublicKey, oneTime), rootKey, chainKey);
    }

    /// <summary>
    /// Accepts a session another device started with a pre-key message, decrypting that message. The one-time
    /// key it used is removed only once the message decrypts (a fallback key stays). Throws
    /// <see cref="OlmException"/> for a malformed message, a different sender, an unknown key or a bad MAC.
    /// </summary>
    public InboundCreation CreateInboundSession(string theirIdentityKey, OlmMessage preKeyMessage)
    {
        var message = PreKeyMessage.DecodePreKey(preKeyMessage);
        var identity = PublicKey(theirIdentityKey, "identity");
        if (!identity.AsSpan().SequenceEqual(message.Keys.IdentityKey))
            throw new OlmException("The Olm pre-key message was sent from another identity key than the sender's.");
        ulong? oneTimeId = null;
        StoredKey? oneTime = null;
        foreach (var (id, key) in _oneTimeKeys)
        {
            if (key.Key.PublicKey.AsSpan().SequenceEqual(message.Keys.OneTimeKey))
                (oneTimeId, oneTime) = (id, key);
        }
        oneTime ??= new[] { _fallbackKey, _previousFallbackKey }
            .FirstOrDefault(f => f is not null && f.Key.PublicKey.AsSpan().SequenceEqual(message.Keys.OneTimeKey))
            ?? throw new OlmException("The Olm pre-key message uses a one-time key this account does not have.");

        // The receiver's side of the same three agreements, in the same order.
        var (rootKey, chainKey) = OlmKdf.Initial(
            OlmKdf.Agree(oneTime.Key, identity),
            OlmKdf.Agree(_identityKey, message.Keys.BaseKey),
            OlmKdf.Agree(oneTime.Key, message.Keys.BaseKey));
        var session = OlmSession.Inbound(message.Keys, rootKey, chainKey, message.Inner.RatchetKey);
        var plaintext = session.Decrypt(message.Inner);
        if (oneTimeId is { } used)
            _oneTimeKeys.Remove(used);
        return new InboundCreation(session, plaintext);
    }

    public AccountPickle Pickle() => new(
        SigningKey.ExportSeed(),
        _identityKey.ExportPrivate(),
        _nextOneTimeKeyId,
        [.. _oneTimeKeys.Select(k => new OlmKeyPickle(k.Key, k.Value.Key.ExportPrivate(), k.Value.Published))],
        _nextFallbackKeyId,
        _fallbackKey?.Pickle(),
        _previousFallbackKey?.Pickle());

    /// <summary>Restores an account; throws <see cref="OlmException"/> for a pickle that cannot be one.</summary>
    public static OlmAccount Unpickle(AccountPickle pickle)
    {
        ArgumentNullException.ThrowIfNull(pickle);
        var account = new OlmAccount(new Ed25519KeyPair(PrivateKey(pickle.Ed25519Seed)), new Curve25519KeyPair(PrivateKey(pickle.Curve25519PrivateKey)))
        {
            _nextOneTimeKeyId = pickle.NextOneTimeKeyId,
            _nextFallbackKeyId = pickle.NextFallbackKeyId,
            _fallbackKey = StoredKey.Unpickle(pickle.FallbackKey),
            _previousFallbackKey = StoredKey.Unpickle(pickle.PreviousFallbackKey),
        };
        foreach (var key in pickle.OneTimeKeys ?? [])
            account._oneTimeKeys[key.KeyId] = StoredKey.Unpickle(key)!;
        return account;
    }

    /// <summary>Key ids as vodozemac writes them: the counter as 8 big-endian bytes in unpadded base64.</summary>
    private static string KeyId(ulong id)
    {
        Span<byte> bytes = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(bytes, id);
        return Base64Unpadded.Encode(bytes);
    }

    private static byte[] PublicKey(string base64, string what) =>
        Base64Unpadded.TryDecode(base64) is { Length: Curve25519KeyPair.KeySize } key
            ? key
            : throw new OlmException($"Not a Curve25519 {what} key: {base64}");

    private static byte[] PrivateKey(byte[]? key) =>
        key is { Length: Curve25519KeyPair.KeySize } ? key : throw new OlmException("Olm account pickle has a key of the wrong size.");

    /// <summary>A one-time or fallback key; <see cref="Id"/> is used for fallback keys (one-time keys are keyed by id).</summary>
    private sealed record StoredKey(Curve25519KeyPair Key, bool Published, ulong Id = 0)
    {
        public OlmKeyPickle Pickle() => new(Id, Key.ExportPrivate(), Published);

        public static StoredKey? Unpickle(OlmKeyPickle? pickle) =>
            pickle is null ? null : new StoredKey(new Curve25519KeyPair(PrivateKey(pickle.PrivateKey)), pickle.Published, pickle.KeyId);
    }
}
