using System.Security.Cryptography;
using NBitcoin.Secp256k1;

namespace Doorman.Sandbox;

/// <summary>Pieces the sandbox servers share.</summary>
internal static class SandboxParts
{
    /// <summary>A fresh secp256k1 key for a sandbox Lightning node (it signs the BOLT11 invoices it issues).</summary>
    public static ECPrivKey NewNodeKey(out byte[] keyBytes)
    {
        while (true)
        {
            keyBytes = RandomNumberGenerator.GetBytes(32);
            if (ECPrivKey.TryCreate(keyBytes, out var key))
                return key!;
        }
    }

    /// <summary>Stops a server's web host and releases it, even when stopping fails.</summary>
    public static async Task StopAndDisposeAsync(WebApplication app, CancellationToken cancellationToken)
    {
        try
        {
            await app.StopAsync(cancellationToken);
        }
        finally
        {
            await app.DisposeAsync();
        }
    }
}
