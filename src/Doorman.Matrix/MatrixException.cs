using System.Net;

namespace Doorman.Matrix;

/// <summary>
/// A homeserver refused a request: the HTTP status, the Matrix <c>errcode</c> and <c>error</c>, and how long
/// the server asked us to wait, if it did. CS API §"Standard error response".
/// </summary>
public sealed class MatrixException(HttpStatusCode status, string errorCode, string error, TimeSpan? retryAfter = null, bool softLogout = false)
    : Exception($"{(int)status} {errorCode}: {error}")
{
    public HttpStatusCode Status { get; } = status;

    /// <summary>The <c>errcode</c>, e.g. <c>M_FORBIDDEN</c>; <c>M_UNKNOWN</c> when the body had none.</summary>
    public string ErrorCode { get; } = errorCode;

    public string Error { get; } = error;

    public TimeSpan? RetryAfter { get; } = retryAfter;

    /// <summary>With <c>M_UNKNOWN_TOKEN</c>: the server logged the session out softly (a re-login may keep the device).</summary>
    public bool SoftLogout { get; } = softLogout;

    /// <summary>The access token is no longer valid (CS API §"Soft logout"): the bot cannot go on with it.</summary>
    public bool IsUnknownToken => ErrorCode == ErrorCodes.UnknownToken;

    public bool IsForbidden => ErrorCode == ErrorCodes.Forbidden;

    public bool IsNotFound => Status == HttpStatusCode.NotFound;
}

/// <summary>The <c>errcode</c> values we act on (CS API §"Common error codes").</summary>
public static class ErrorCodes
{
    public const string Forbidden = "M_FORBIDDEN";
    public const string UnknownToken = "M_UNKNOWN_TOKEN";
    public const string MissingToken = "M_MISSING_TOKEN";
    public const string NotFound = "M_NOT_FOUND";
    public const string LimitExceeded = "M_LIMIT_EXCEEDED";
    public const string Unknown = "M_UNKNOWN";
    public const string Unrecognized = "M_UNRECOGNIZED";
    public const string BadJson = "M_BAD_JSON";
    public const string InvalidParam = "M_INVALID_PARAM";
}
