namespace Doorman.Sandbox.Homeserver;

/// <summary>
/// One wake-up signal per user for <c>/sync</c> long-polls. A poller takes its user's task under the engine
/// lock (in the same critical section that found nothing new, so no notification can slip in between) and
/// awaits it outside the lock; anything that changes what the user would see completes it.
/// Not thread-safe on its own: only used under the engine lock.
/// </summary>
internal sealed class UserSignals
{
    private readonly Dictionary<string, TaskCompletionSource> _waiting = new(StringComparer.Ordinal);

    public Task WaitFor(string userId)
    {
        if (!_waiting.TryGetValue(userId, out var signal))
        {
            signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiting[userId] = signal;
        }

        return signal.Task;
    }

    public void Notify(string userId)
    {
        if (_waiting.Remove(userId, out var signal))
        {
            signal.TrySetResult();
        }
    }
}
