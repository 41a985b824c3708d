namespace Doorman.Homeserver;

/// <summary>
/// Starts end-to-end encryption for the device (<see cref="BotCrypto.StartAsync"/>) when this instance becomes the
/// active one: the first of its active parts (Storage/ActiveParts.cs), before the sync loop. A standby leaves the
/// device's keys alone: it loads them only when it takes over, after the last active instance wrote them for the last
/// time, so it never works from a stale copy of the account nor makes one-time keys the other already published.
/// </summary>
public sealed class CryptoStart(BotCrypto crypto, MatrixSession session) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => crypto.StartAsync(session.DeviceId, cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
