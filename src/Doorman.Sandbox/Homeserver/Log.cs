namespace Doorman.Sandbox.Homeserver;

/// <summary>Source-generated log messages: every request passes through these (STYLE §9).</summary>
internal static partial class Log
{
    [LoggerMessage(Level = LogLevel.Debug, Message = "{Method} {Path} -> {Status}")]
    public static partial void Request(ILogger logger, string method, string path, int status);

    [LoggerMessage(Level = LogLevel.Debug, Message = "{Method} {Path} -> {Status} {ErrorCode}: {Error}")]
    public static partial void Refused(ILogger logger, string method, string path, int status, string errorCode, string error);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Persisted {EventId} ({Type}) in {RoomId} from {Sender}")]
    public static partial void EventPersisted(ILogger logger, string eventId, string type, string roomId, string sender);

    [LoggerMessage(Level = LogLevel.Information, Message = "Injected fault on {Method} {Path}: {Status}")]
    public static partial void InjectedFault(ILogger logger, string method, string path, int status);

    [LoggerMessage(Level = LogLevel.Error, Message = "Unhandled error on {Method} {Path}")]
    public static partial void Unhandled(ILogger logger, Exception exception, string method, string path);

    [LoggerMessage(Level = LogLevel.Information, Message = "Sandbox homeserver {ServerName} listening on {Url}")]
    public static partial void Listening(ILogger logger, string serverName, Uri url);
}
