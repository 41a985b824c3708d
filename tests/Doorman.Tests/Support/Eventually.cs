namespace Doorman.Tests.Support;

/// <summary>Waiting for something that must happen: polls a condition until it holds, or fails the test naming what did not.</summary>
public static class Eventually
{
    public static async Task UntilAsync(Func<Task<bool>> condition, string what, TimeSpan patience)
    {
        var deadline = TimeProvider.System.GetUtcNow() + patience;
        while (!await condition())
        {
            if (TimeProvider.System.GetUtcNow() > deadline)
                throw new TimeoutException($"timed out after {patience} waiting for {what}");
            await Task.Delay(20);
        }
    }
}
