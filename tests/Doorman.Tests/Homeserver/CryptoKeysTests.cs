using System.Runtime.Versioning;
using Doorman.Homeserver;
using Doorman.Storage;
using Doorman.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace Doorman.Tests.Homeserver;

/// <summary>The key file that seals the end-to-end encryption state: made once, whole, readable by the bot's user only.</summary>
[SupportedOSPlatform("linux")]
public sealed class CryptoKeysTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private CryptoStoreKey Resolve() =>
        CryptoKeys.Resolve(new MatrixOptions(), new Database(_dir.File("doorman.db")), NullLogger.Instance);

    [Fact]
    public void The_key_file_is_made_once_with_mode_600_and_read_back_at_the_next_start()
    {
        var first = Resolve();
        var path = _dir.File(CryptoKeys.FileName);

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        Assert.Equal(first.Bytes, Resolve().Bytes);
        Assert.False(File.Exists(path + ".partial"));
    }

    /// <summary>A start killed while writing the key leaves its partial file, never a key file: the next start makes the key.</summary>
    [Fact]
    public void A_partial_key_left_by_a_killed_start_is_replaced_not_taken_for_the_key()
    {
        File.WriteAllText(_dir.File(CryptoKeys.FileName + ".partial"), "");

        var key = Resolve();

        Assert.Equal(key.Bytes, CryptoKeys.Parse(File.ReadAllText(_dir.File(CryptoKeys.FileName))));
        Assert.False(File.Exists(_dir.File(CryptoKeys.FileName + ".partial")));
    }
}
