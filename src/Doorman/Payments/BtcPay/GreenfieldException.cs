using System.Net;

namespace Doorman.Payments.BtcPay;

/// <summary>
/// BTCPay answered a Greenfield request with an error: the HTTP status, BTCPay's error <c>code</c> (e.g.
/// <c>missing-permission</c>, <c>invoice-not-found</c>; <c>validation-error</c> for a 400/422 list of field errors) and
/// its message. Messages come from the server and never contain the API key.
/// </summary>
public sealed class GreenfieldException(HttpStatusCode status, string code, string message, IReadOnlyList<GreenfieldValidationError>? validationErrors = null)
    : Exception(message)
{
    public const string ValidationErrorCode = "validation-error";

    public HttpStatusCode Status { get; } = status;

    public string Code { get; } = code;

    /// <summary>Field errors of a <c>ValidationProblemDetails</c> answer; empty otherwise.</summary>
    public IReadOnlyList<GreenfieldValidationError> ValidationErrors { get; } = validationErrors ?? [];

    /// <summary>Worth trying again later: the server failed or asked us to slow down (5xx, 408, 429).</summary>
    public bool IsTransient => (int)Status >= 500 || Status is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests;
}
