using System.Security.Cryptography;
using Doorman.Storage;

namespace Doorman.Homeserver;

/// <summary>
/// Finds the key that seals the end-to-end encryption state (<see cref="CryptoItems"/>): <c>Matrix:CryptoKey</c>
/// when set; otherwise the key file <see cref="FileName"/> beside the database, made on first start (readable by
/// the bot's user only). The file is worth a backup with the database: without it the bot's sessions are lost.
/// </summary>
public static partial class CryptoKeys
{
    public const string FileName = "doorman.crypto-key";

    /// <summary>The 32 bytes of a base64 key; null for anything else.</summary>
    public static byte[]? Parse(string text)
    {
        try
        {
            return Convert.FromBase64String(text.Trim()) is { Length: CryptoStoreKey.Size } key ? key : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }

    public static CryptoStoreKey Resolve(MatrixOptions matrix, Database database, ILogger logger)
    {
        if (matrix.CryptoKey.Length > 0)
            return new CryptoStoreKey(Parse(matrix.CryptoKey) ?? throw new StartupException("Matrix:CryptoKey is not 32 bytes of base64."));

        // On PostgreSQL every instance must seal with the same key, and no file beside the database is shared by them.
        if (database.FilePath is null)
            throw new StartupException("With Storage:Provider Postgres, set Matrix:CryptoKey (or Matrix:CryptoKeyFile): every instance seals the "
                + "encryption state in the database with this one key. Make one with `head -c 32 /dev/urandom | base64` and keep it with your backups.");
        var path = Path.Combine(Path.GetDirectoryName(database.FilePath)!, FileName);
        if (File.Exists(path))
        {
            return new CryptoStoreKey(Parse(File.ReadAllText(path))
                ?? throw new StartupException($"the crypto key file {path} does not hold 32 bytes of base64; restore it from your backup."));
        }

        var key = RandomNumberGenerator.GetBytes(CryptoStoreKey.Size);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        // Written whole to a file of its own, on disk, then renamed into place: a start killed half-way leaves no key
        // file (the next start makes one), never an empty or partial one that would stop every later start.
        var partial = path + ".partial";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using (var file = new FileStream(partial, options))
        {
            file.Write(System.Text.Encoding.ASCII.GetBytes(Convert.ToBase64String(key) + "\n"));
            file.Flush(flushToDisk: true);
        }
        File.Move(partial, path, overwrite: false);
        LogCreated(logger, path);
        return new CryptoStoreKey(key);
    }

    [LoggerMessage(LogLevel.Warning, "Made the end-to-end encryption key file {Path}: back it up with the database (README: \"End-to-end encryption\")")]
    private static partial void LogCreated(ILogger logger, string path);
}
