using System.Collections.Concurrent;

namespace Doorman.Matrix.Crypto;

/// <summary>
/// Where <see cref="CryptoMachine"/> keeps its state: the Olm account, Olm and Megolm sessions, device lists and the
/// cross-signing keys, as opaque values under (kind, key). An implementation must keep a value exactly until it is
/// replaced or deleted, across restarts: losing it loses every session (README: "End-to-end encryption"). Values
/// hold private keys; an implementation that writes them anywhere seals them first.
/// </summary>
public interface ICryptoStore
{
    Task<byte[]?> GetAsync(string kind, string key, CancellationToken cancellationToken);

    /// <summary>Every (key, value) of a kind whose key starts with <paramref name="keyPrefix"/>, in key order.</summary>
    Task<IReadOnlyList<KeyValuePair<string, byte[]>>> ListAsync(string kind, string keyPrefix, CancellationToken cancellationToken);

    Task PutAsync(string kind, string key, byte[] value, CancellationToken cancellationToken);

    Task DeleteAsync(string kind, string key, CancellationToken cancellationToken);
}

/// <summary>An <see cref="ICryptoStore"/> in memory: for tests and benchmarks, never for a bot that restarts.</summary>
public sealed class MemoryCryptoStore : ICryptoStore
{
    private readonly ConcurrentDictionary<(string Kind, string Key), byte[]> _values = new();

    public Task<byte[]?> GetAsync(string kind, string key, CancellationToken cancellationToken) =>
        Task.FromResult(_values.TryGetValue((kind, key), out var value) ? (byte[])value.Clone() : null);

    public Task<IReadOnlyList<KeyValuePair<string, byte[]>>> ListAsync(string kind, string keyPrefix, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<KeyValuePair<string, byte[]>>>(_values
            .Where(p => p.Key.Kind == kind && p.Key.Key.StartsWith(keyPrefix, StringComparison.Ordinal))
            .OrderBy(p => p.Key.Key, StringComparer.Ordinal)
            .Select(p => KeyValuePair.Create(p.Key.Key, (byte[])p.Value.Clone()))
            .ToList());

    public Task PutAsync(string kind, string key, byte[] value, CancellationToken cancellationToken)
    {
        _values[(kind, key)] = (byte[])value.Clone();
        return Task.CompletedTask;
    }

    public Task DeleteAsync(string kind, string key, CancellationToken cancellationToken)
    {
        _values.TryRemove((kind, key), out _);
        return Task.CompletedTask;
    }
}
