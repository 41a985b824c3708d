namespace Doorman.Matrix.Crypto.Olm;

/// <summary>
/// An Olm session (spec: Olm, "The Olm Algorithm"): a Double Ratchet between two devices. Messages are pre-key
/// messages until the first message from the other side arrives. A failed decryption leaves the session as it was.
/// </summary>
public sealed class OlmSession
{
    /// <summary>How many of the other side's chains are kept, oldest forgotten first (vodozemac keeps 5).</summary>
    public const int MaxReceiverChains = 5;

    private readonly SessionKeys _keys;
    private readonly List<ReceiverChain> _receivers;
    private byte[] _rootKey;
    private SenderChain? _sender;
    private byte[]? _remoteRatchetKey;

    private OlmSession(SessionKeys keys, byte[] rootKey, SenderChain? sender, byte[]? remoteRatchetKey, List<ReceiverChain> receivers)
    {
        _keys = keys;
        _rootKey = rootKey;
        _sender = sender;
        _remoteRatchetKey = remoteRatchetKey;
        _receivers = receivers;
    }

    /// <summary>A session we start: our first chain comes from the 3DH secret under a fresh ratchet key.</summary>
    internal static OlmSession Outbound(SessionKeys keys, byte[] rootKey, byte[] chainKey) =>
        new(keys, rootKey, new SenderChain(Curve25519KeyPair.Generate(), chainKey, 0), null, []);

    /// <summary>A session the other side started: their first chain comes from the 3DH secret.</summary>
    internal static OlmSession Inbound(SessionKeys keys, byte[] rootKey, byte[] chainKey, byte[] theirRatchetKey) =>
        new(keys, rootKey, null, theirRatchetKey, [new ReceiverChain(theirRatchetKey, chainKey, 0, [])]);

    public string SessionId => _keys.SessionId;

    public bool HasReceivedMessage => _receivers.Count > 0;

    /// <summary>
    /// Whether a pre-key message belongs to this session (same identity, base and one-time keys), so a repeated
    /// pre-key message goes to the session it created. Throws <see cref="OlmException"/> for a malformed message.
    /// </summary>
    public bool MatchesInbound(string theirIdentityKey, OlmMessage preKeyMessage)
    {
        var message = PreKeyMessage.DecodePreKey(preKeyMessage);
        var identity = Base64Unpadded.TryDecode(theirIdentityKey);
        return identity is not null && identity.AsSpan().SequenceEqual(message.Keys.IdentityKey) && _keys.SameAs(message.Keys);
    }

    public OlmMessage Encrypt(ReadOnlySpan<byte> plaintext)
    {
        if (_sender is null)
        {
            // Spec: Olm, "Advancing the root key": the first message after receiving starts a chain under a new
            // ratchet key, agreed with the ratchet key of the last chain received.
            var ratchetKey = Curve25519KeyPair.Generate();
            var (rootKey, chainKey) = OlmKdf.Ratchet(_rootKey, ratchetKey, _remoteRatchetKey!);
            _rootKey = rootKey;
            _sender = new SenderChain(ratchetKey, chainKey, 0);
        }
        var body = NormalMessage.Encrypt(OlmKdf.MessageKey(_sender.ChainKey), _sender.RatchetKey.PublicKey, _sender.Index, plaintext);
        _sender.ChainKey = OlmKdf.NextChainKey(_sender.ChainKey);
        _sender.Index++;
        return HasReceivedMessage
            ? new OlmMessage(OlmMessage.NormalType, Base64Unpadded.Encode(body))
            : new OlmMessage(OlmMessage.PreKeyType, Base64Unpadded.Encode(PreKeyMessage.Encode(_keys, body)));
    }

    /// <summary>Decrypts a pre-key or normal message; throws <see cref="OlmException"/> and changes nothing on failure.</summary>
    public byte[] Decrypt(OlmMessage message) => Decrypt(PreKeyMessage.DecodeAny(message));

    internal byte[] Decrypt(NormalMessage message)
    {
        var known = _receivers.Find(r => r.BelongsTo(message.RatchetKey));
        if (known is not null)
            return known.Decrypt(message);

        // A new ratchet key: the other side received our chain and started its own (spec: Olm, "Advancing the
        // root key"). If we have not sent since our last chain ended, our next chain is derived first, as
        // vodozemac does (src/olm/session/double_ratchet.rs), so both sides agree on the root key.
        var rootKey = _rootKey;
        var ourRatchetKey = _sender?.RatchetKey;
        if (ourRatchetKey is null)
        {
            ourRatchetKey = Curve25519KeyPair.Generate();
            (rootKey, _) = OlmKdf.Ratchet(rootKey, ourRatchetKey, _remoteRatchetKey!);
        }
        var (nextRootKey, chainKey) = OlmKdf.Ratchet(rootKey, ourRatchetKey, message.RatchetKey);
        var chain = new ReceiverChain(message.RatchetKey, chainKey, 0, []);
        var plaintext = chain.Decrypt(message);

        _rootKey = nextRootKey;
        _sender = null;
        _remoteRatchetKey = message.RatchetKey;
        _receivers.Add(chain);
        if (_receivers.Count > MaxReceiverChains)
            _receivers.RemoveAt(0);
        return plaintext;
    }

    public SessionPickle Pickle() => new(
        _keys.IdentityKey,
        _keys.BaseKey,
        _keys.OneTimeKey,
        _rootKey,
        _sender is null ? null : new SenderChainPickle(_sender.RatchetKey.ExportPrivate(), _sender.ChainKey, _sender.Index),
        _remoteRatchetKey,
        [.. _receivers.Select(r => r.Pickle())]);

    /// <summary>Restores a session; throws <see cref="OlmException"/> for a pickle that cannot be one.</summary>
    public static OlmSession Unpickle(SessionPickle pickle)
    {
        ArgumentNullException.ThrowIfNull(pickle);
        // A session that has only sent has no remote ratchet key. The JSON contexts that store pickles (OlmPickleJson,
        // CryptoStateJson) write that null byte[] as "", which reads back empty, and stores already hold such
        // pickles: empty means none (tests/Doorman.Matrix.Tests/Crypto/OlmSessionTests.cs).
        var remoteRatchetKey = pickle.RemoteRatchetKey is { Length: 0 } ? null : pickle.RemoteRatchetKey;
        var keys = new SessionKeys(Key(pickle.IdentityKey, "identity"), Key(pickle.BaseKey, "base"), Key(pickle.OneTimeKey, "one-time"));
        if (pickle.SenderChain is null && remoteRatchetKey is null)
            throw new OlmException("Olm session pickle has neither a sender chain nor a remote ratchet key.");
        var sender = pickle.SenderChain is { } s
            ? new SenderChain(new Curve25519KeyPair(Key(s.RatchetPrivateKey, "sender ratchet")), Key(s.ChainKey, "sender chain"), s.Index)
            : null;
        var receivers = (pickle.ReceiverChains ?? [])
            .Select(r => new ReceiverChain(Key(r.RatchetKey, "receiver ratchet"), Key(r.ChainKey, "receiver chain"), r.Index,
                (r.SkippedMessageKeys ?? []).Select(k => new SkippedMessageKeyPickle(k.Index, Key(k.Key, "skipped message")))))
            .ToList();
        if (receivers.Count > MaxReceiverChains)
            throw new OlmException("Olm session pickle has too many receiver chains.");
        return new OlmSession(keys, Key(pickle.RootKey, "root"), sender,
            remoteRatchetKey is null ? null : Key(remoteRatchetKey, "remote ratchet"), receivers);
    }

    private static byte[] Key(byte[]? key, string which) =>
        key is { Length: OlmKdf.KeySize } ? (byte[])key.Clone()
            : throw new OlmException($"Olm session pickle has a {which} key of the wrong size ({key?.Length.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none"}).");

    private sealed class SenderChain(Curve25519KeyPair ratchetKey, byte[] chainKey, ulong index)
    {
        public Curve25519KeyPair RatchetKey { get; } = ratchetKey;

        public byte[] ChainKey { get; set; } = chainKey;

        public ulong Index { get; set; } = index;
    }
}
