using System.Security.Cryptography;
using System.Text;
using Doorman.Matrix.Crypto;

namespace Doorman.Storage;

/// <summary>The 32-byte key that seals the end-to-end encryption state at rest (Homeserver/CryptoKeys.cs finds it).</summary>
public sealed class CryptoStoreKey
{
    public const int Size = 32;

    public CryptoStoreKey(byte[] key)
    {
        if (key.Length != Size)
            throw new ArgumentException($"the crypto store key is {Size} bytes", nameof(key));
        Bytes = key;
    }

    internal byte[] Bytes { get; }

    /// <summary>Never print the key.</summary>
    public override string ToString() => "CryptoStoreKey";
}

/// <summary>A crypto store value that the key cannot open: another key wrote it, or the file was changed.</summary>
public sealed class CryptoStoreException(string message) : Exception(message);

/// <summary>
/// The <see cref="ICryptoStore"/> in the database (<c>crypto_items</c>). Each value is sealed with AES-256-GCM: a
/// version byte, a random 96-bit nonce, the 128-bit tag and the ciphertext, with the kind and key as associated
/// data, so a value moved to another row does not open either.
/// </summary>
public sealed class CryptoItems(Database database, CryptoStoreKey sealingKey) : ICryptoStore
{
    private const byte Version = 1;
    private const int NonceSize = 12;
    private const int TagSize = 16;

    public async Task<byte[]?> GetAsync(string kind, string key, CancellationToken cancellationToken)
    {
        var sealedValue = await database.ReadAsync(tx => tx.QuerySingleOrDefaultAsync<byte[]?>(
            "SELECT value FROM crypto_items WHERE kind = @kind AND key = @key", new { kind, key }), cancellationToken);
        return sealedValue is null ? null : Open(kind, key, sealedValue);
    }

    public async Task<IReadOnlyList<KeyValuePair<string, byte[]>>> ListAsync(string kind, string keyPrefix, CancellationToken cancellationToken)
    {
        // Prefixes are compared in C#, not with LIKE, whose % and _ may be in a key (room ids, base64).
        var rows = await database.ReadAsync(tx => tx.QueryAsync<(string Key, byte[] Value)>(
            "SELECT key, value FROM crypto_items WHERE kind = @kind AND key >= @keyPrefix ORDER BY key", new { kind, keyPrefix }), cancellationToken);
        return rows.TakeWhile(r => r.Key.StartsWith(keyPrefix, StringComparison.Ordinal))
            .Select(r => KeyValuePair.Create(r.Key, Open(kind, r.Key, r.Value)))
            .ToList();
    }

    public Task PutAsync(string kind, string key, byte[] value, CancellationToken cancellationToken) =>
        database.WriteAsync(tx => tx.ExecuteAsync(
            "INSERT INTO crypto_items (kind, key, value) VALUES (@kind, @key, @value) ON CONFLICT (kind, key) DO UPDATE SET value = excluded.value",
            new { kind, key, value = Seal(kind, key, value) }), cancellationToken);

    public Task DeleteAsync(string kind, string key, CancellationToken cancellationToken) =>
        database.WriteAsync(tx => tx.ExecuteAsync("DELETE FROM crypto_items WHERE kind = @kind AND key = @key", new { kind, key }), cancellationToken);

    private byte[] Seal(string kind, string key, byte[] plaintext)
    {
        var result = new byte[1 + NonceSize + TagSize + plaintext.Length];
        result[0] = Version;
        var nonce = result.AsSpan(1, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using var gcm = new AesGcm(sealingKey.Bytes, TagSize);
        gcm.Encrypt(nonce, plaintext, result.AsSpan(1 + NonceSize + TagSize), result.AsSpan(1 + NonceSize, TagSize), AssociatedData(kind, key));
        return result;
    }

    private byte[] Open(string kind, string key, byte[] sealedValue)
    {
        if (sealedValue.Length < 1 + NonceSize + TagSize || sealedValue[0] != Version)
            throw new CryptoStoreException($"the encryption state ({kind}) in the database is not in a form this version reads");
        var plaintext = new byte[sealedValue.Length - 1 - NonceSize - TagSize];
        try
        {
            using var gcm = new AesGcm(sealingKey.Bytes, TagSize);
            gcm.Decrypt(sealedValue.AsSpan(1, NonceSize), sealedValue.AsSpan(1 + NonceSize + TagSize), sealedValue.AsSpan(1 + NonceSize, TagSize),
                plaintext, AssociatedData(kind, key));
        }
        catch (AuthenticationTagMismatchException)
        {
            throw new CryptoStoreException("the encryption state in the database does not open with the configured crypto key: "
                + "Matrix:CryptoKey (or the key file beside the database) is not the one this database was written with");
        }
        return plaintext;
    }

    private static byte[] AssociatedData(string kind, string key) => Encoding.UTF8.GetBytes(kind + "\n" + key);
}
