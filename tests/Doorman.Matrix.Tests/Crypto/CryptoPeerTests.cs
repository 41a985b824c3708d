using Doorman.TestSupport;

namespace Doorman.Matrix.Tests.Crypto;

public class CryptoPeerTests
{
    [CryptoPeerFact]
    public async Task The_reference_peer_runs_and_names_its_libolm()
    {
        await using var peer = await CryptoPeer.StartAsync();

        var versions = await peer.CallAsync("peer.versions");

        Assert.Equal("3.2.15", versions!["olm"]!.GetValue<string>());
        await Assert.ThrowsAsync<CryptoPeerException>(() => peer.CallAsync("no.such.op"));
    }
}
