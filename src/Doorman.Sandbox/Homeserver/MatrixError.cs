using System.Text.Json.Nodes;

namespace Doorman.Sandbox.Homeserver;

/// <summary>
/// A refusal the server answers with: the HTTP status and the standard error body <c>{errcode, error}</c>
/// (CS API v1.12 §3.3 "Standard error response"), plus any extra fields such as <c>soft_logout</c>.
/// Messages follow Synapse 1.160's wording so that logs read the same on both servers.
/// </summary>
internal sealed class MatrixErrorException(int status, string errorCode, string message, JsonObject? extra = null)
    : Exception(message)
{
    public int Status { get; } = status;

    public string ErrorCode { get; } = errorCode;

    public JsonObject? Extra { get; } = extra;

    /// <summary>Milliseconds to wait, for <c>M_LIMIT_EXCEEDED</c>; also sent as the <c>Retry-After</c> header.</summary>
    public long? RetryAfterMs { get; init; }

    public JsonObject ToBody()
    {
        var body = new JsonObject { ["errcode"] = ErrorCode, ["error"] = Message };
        if (Extra is not null)
        {
            foreach (var (key, value) in Extra)
            {
                body[key] = value?.DeepClone();
            }
        }

        if (RetryAfterMs is { } ms)
        {
            body["retry_after_ms"] = ms;
        }

        return body;
    }

    public static MatrixErrorException Forbidden(string message) => new(403, "M_FORBIDDEN", message);

    public static MatrixErrorException BadState(string message) => new(403, "M_BAD_STATE", message);

    public static MatrixErrorException NotFound(string message) => new(404, "M_NOT_FOUND", message);

    public static MatrixErrorException NotJson() => new(400, "M_NOT_JSON", "Content not JSON.");

    public static MatrixErrorException NotAnObject() => new(400, "M_BAD_JSON", "Content must be a JSON object.");

    public static MatrixErrorException BadJson(string message) => new(400, "M_BAD_JSON", message);

    public static MatrixErrorException MissingParams(params string[] names) =>
        new(400, "M_MISSING_PARAM", $"Missing params: [{string.Join(", ", names.Select(n => $"'{n}'"))}]");

    public static MatrixErrorException InvalidParam(string message) => new(400, "M_INVALID_PARAM", message);

    /// <summary>Synapse answers many refusals with the catch-all <c>M_UNKNOWN</c>; so do we, where it does.</summary>
    public static MatrixErrorException Unknown(int status, string message) => new(status, "M_UNKNOWN", message);

    public static MatrixErrorException Unrecognized(int status) => new(status, "M_UNRECOGNIZED", "Unrecognized request");

    public static MatrixErrorException LimitExceeded(long retryAfterMs) =>
        new(429, "M_LIMIT_EXCEEDED", "Too Many Requests") { RetryAfterMs = retryAfterMs };
}
