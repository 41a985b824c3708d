using System.Net;

namespace Doorman.Matrix;

/// <summary>
/// A homeserver refused a request: the HTTP status, the Matrix <c>errcode</c> and <c>error</c>, and how long
/// the server asked us to wait, if it did. CS API v1.12 §3.3 "Standard error response".
/// </summary>
public sealed class MatrixException(HttpStatusCode status, string errorCode, string error, TimeSpan? retryAfter = null)
    : Exception($"{(int)status} {errorCode}: {error}")
{
    public HttpStatusCode Status { get; } = status;

    /// <summary>The <c>errcode</c>, e.g. <c>M_FORBIDDEN</c>; <c>M_UNKNOWN</c> when the body had none.</summary>
    public string ErrorCode { get; } = errorCode;

    public string Error { get; } = error;

    public TimeSpan? RetryAfter { get; } = retryAfter;
}
