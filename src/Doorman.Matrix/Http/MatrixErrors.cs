using System.Globalization;
using System.Net;
using System.Text.Json;
using Doorman.Matrix.Rooms;

namespace Doorman.Matrix.Http;

internal static class MatrixErrors
{
    /// <summary>Reads a failed response into a <see cref="MatrixException"/>; a body that is not a Matrix error keeps its status.</summary>
    public static async Task<MatrixException> ReadAsync(HttpResponseMessage response, TimeProvider time, CancellationToken cancellationToken)
    {
        string body;
        try
        {
            body = await response.Content.ReadAsStringAsync(cancellationToken);
        }
        catch (HttpRequestException)
        {
            body = "";
        }

        ErrorResponse? error = null;
        try
        {
            if (body.Length > 0)
                error = JsonSerializer.Deserialize(body, MatrixJsonContext.Default.ErrorResponse);
        }
        catch (JsonException)
        {
            // Proxies answer 502/429 with HTML; the status says enough.
        }

        var retryAfter = RetryAfterFromHeader(response, time) ?? (error?.RetryAfterMs is { } ms ? TimeSpan.FromMilliseconds(ms) : null);
        var errcode = error?.ErrCode ?? (response.StatusCode == HttpStatusCode.TooManyRequests ? ErrorCodes.LimitExceeded : ErrorCodes.Unknown);
        var message = error?.Error ?? response.ReasonPhrase ?? response.StatusCode.ToString();
        return new MatrixException(response.StatusCode, errcode, message, retryAfter, error?.SoftLogout ?? false);
    }

    /// <summary>
    /// How long a 429 asks us to wait: the <c>Retry-After</c> header first (CS API v1.10+ prefers it; Synapse sends
    /// whole seconds, rounded up), then the deprecated <c>retry_after_ms</c> body field.
    /// </summary>
    public static async ValueTask<TimeSpan?> RetryAfterAsync(HttpResponseMessage response, TimeProvider time, CancellationToken cancellationToken)
    {
        if (RetryAfterFromHeader(response, time) is { } fromHeader)
            return fromHeader;
        try
        {
            await response.Content.LoadIntoBufferAsync(cancellationToken);
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            if (body.Length > 0 && JsonSerializer.Deserialize(body, MatrixJsonContext.Default.ErrorResponse)?.RetryAfterMs is { } ms)
                return TimeSpan.FromMilliseconds(Math.Max(0, ms));
        }
        catch (JsonException)
        {
        }
        catch (HttpRequestException)
        {
        }
        return null;
    }

    private static TimeSpan? RetryAfterFromHeader(HttpResponseMessage response, TimeProvider? time = null)
    {
        var header = response.Headers.RetryAfter;
        if (header?.Delta is { } delta)
            return delta < TimeSpan.Zero ? TimeSpan.Zero : delta;
        if (header?.Date is { } date)
        {
            var now = (time ?? TimeProvider.System).GetUtcNow();
            return date > now ? date - now : TimeSpan.Zero;
        }
        // Some servers send fractional seconds, which the typed header rejects.
        if (response.Headers.TryGetValues("Retry-After", out var values)
            && double.TryParse(values.FirstOrDefault(), NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds >= 0)
            return TimeSpan.FromSeconds(seconds);
        return null;
    }
}
