namespace Doorman.Homeserver;

/// <summary>
/// Stops the bot for a reason only the operator can fix (a refused access token, a wrong account), with one
/// clear log line and a non-zero exit code, instead of a stack trace or a loop that spins forever.
/// </summary>
public sealed partial class Fatal(IHostApplicationLifetime lifetime, ILogger<Fatal> logger)
{
    /// <summary>Why the bot stopped itself, if it did; Program exits with 1 then.</summary>
    public string? Reason { get; private set; }

    public void Stop(string message)
    {
        Reason = message;
        LogFatal(message);
        lifetime.StopApplication();
    }

    [LoggerMessage(LogLevel.Critical, "Stopping: {Message}")]
    private partial void LogFatal(string message);
}

/// <summary>A start-up check failed; the message says what to fix and never contains a secret.</summary>
public sealed class StartupException(string message, Exception? inner = null) : Exception(message, inner);
