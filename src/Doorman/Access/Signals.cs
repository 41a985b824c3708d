namespace Doorman.Access;

/// <summary>
/// Wakes a worker when new work is committed. Setting it twice before the worker looks is one wake-up;
/// workers also look on a timer, so a missed signal only delays work, never loses it.
/// </summary>
public sealed class Signal : IDisposable
{
    private readonly SemaphoreSlim _semaphore = new(0, 1);

    public void Set()
    {
        try
        {
            _semaphore.Release();
        }
        catch (SemaphoreFullException)
        {
            // Already set.
        }
    }

    public void Dispose() => _semaphore.Dispose();

    /// <summary>Waits until set or until <paramref name="timeout"/> passes.</summary>
    public Task<bool> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken) => _semaphore.WaitAsync(timeout, cancellationToken);
}

/// <summary>The signals of the workers, one per queue: messages and membership changes (the outboxes), and the inbox.</summary>
public sealed class OutboxSignals : IDisposable
{
    public Signal Messages { get; } = new();

    public Signal Inbox { get; } = new();

    public Signal Membership { get; } = new();

    public void Dispose()
    {
        Messages.Dispose();
        Inbox.Dispose();
        Membership.Dispose();
    }
}
