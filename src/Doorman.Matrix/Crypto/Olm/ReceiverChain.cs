namespace Doorman.Matrix.Crypto.Olm;

/// <summary>
/// One chain of the other party's messages, named by their ratchet key, with the keys of messages it skipped
/// (spec: Olm, "Decrypting a message"; bounds as vodozemac <c>src/olm/session/receiver_chain.rs</c>).
/// </summary>
internal sealed class ReceiverChain
{
    /// <summary>How far ahead of the chain a message may be; further, and it is refused rather than computed.</summary>
    public const ulong MaxMessageGap = 2000;

    /// <summary>How many skipped message keys the chain keeps; older ones are forgotten first.</summary>
    public const int MaxSkippedKeys = 40;

    private readonly List<SkippedMessageKeyPickle> _skipped;

    public ReceiverChain(byte[] ratchetKey, byte[] chainKey, ulong index, IEnumerable<SkippedMessageKeyPickle> skipped)
    {
        RatchetKey = ratchetKey;
        ChainKey = chainKey;
        Index = index;
        _skipped = [.. skipped];
    }

    public byte[] RatchetKey { get; }

    public byte[] ChainKey { get; private set; }

    /// <summary>The index of the next message key the chain would derive.</summary>
    public ulong Index { get; private set; }

    public bool BelongsTo(byte[] ratchetKey) => RatchetKey.AsSpan().SequenceEqual(ratchetKey);

    /// <summary>Decrypts, and only on success advances the chain or spends the skipped key.</summary>
    public byte[] Decrypt(NormalMessage message)
    {
        var target = message.ChainIndex;
        if (target < Index)
        {
            var skipped = _skipped.Find(k => k.Index == target)
                ?? throw new OlmException($"No Olm message key for chain index {target}: already used or too old.");
            var plaintext = message.Decrypt(skipped.Key);
            _skipped.Remove(skipped);
            return plaintext;
        }
        if (target - Index > MaxMessageGap)
            throw new OlmException($"Olm message too far ahead: chain index {target}, the chain is at {Index} (at most {MaxMessageGap} ahead).");

        var chainKey = ChainKey;
        var newlySkipped = new List<SkippedMessageKeyPickle>();
        for (var index = Index; index < target; index++)
        {
            if (target - index <= MaxSkippedKeys)
                newlySkipped.Add(new SkippedMessageKeyPickle(index, OlmKdf.MessageKey(chainKey)));
            chainKey = OlmKdf.NextChainKey(chainKey);
        }
        var result = message.Decrypt(OlmKdf.MessageKey(chainKey));

        ChainKey = OlmKdf.NextChainKey(chainKey);
        Index = target + 1;
        _skipped.AddRange(newlySkipped);
        if (_skipped.Count > MaxSkippedKeys)
            _skipped.RemoveRange(0, _skipped.Count - MaxSkippedKeys);
        return result;
    }

    public ReceiverChainPickle Pickle() => new(RatchetKey, ChainKey, Index, [.. _skipped]);
}
