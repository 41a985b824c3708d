using System.Net;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Timeout;

namespace Doorman.Matrix.Http;

/// <summary>
/// How requests to the homeserver are retried. Two rules, outermost first:
/// 1. A 429 is waited out for as long as the server asks (a rate-limited request was not processed, so
///    repeating it is always safe), up to <see cref="MatrixClientOptions.MaxRateLimitWaits"/> times.
/// 2. Network errors, timeouts and 5xx are retried with full-jitter exponential backoff, but only for requests
///    that are harmless to repeat: GET, PUT (sends carry a transaction id), and requests marked idempotent.
///    <c>createRoom</c> and uploads are not: a retry after a lost response would make a second room.
/// The long-poll <c>/sync</c> does not come through here: its loop has its own backoff.
/// </summary>
public static class MatrixResilience
{
    /// <summary>Marks a POST as safe to repeat (join, leave, invite, kick...: repeating one has no further effect).</summary>
    public static readonly HttpRequestOptionsKey<bool> Idempotent = new("Doorman.Matrix.Idempotent");

    public static void Configure(ResiliencePipelineBuilder<HttpResponseMessage> builder, MatrixClientOptions options, TimeProvider time, ILogger logger)
    {
        builder.AddRetry(new HttpRetryStrategyOptions
        {
            Name = "rate-limit",
            ShouldHandle = args => ValueTask.FromResult(args.Outcome.Result?.StatusCode == HttpStatusCode.TooManyRequests),
            MaxRetryAttempts = options.MaxRateLimitWaits,
            ShouldRetryAfterHeader = false,
            DelayGenerator = async args =>
            {
                var asked = await MatrixErrors.RetryAfterAsync(args.Outcome.Result!, time, args.Context.CancellationToken);
                var wait = asked ?? options.DefaultRateLimitDelay;
                return wait > options.MaxRateLimitDelay ? options.MaxRateLimitDelay : wait;
            },
            OnRetry = args =>
            {
                if (logger.IsEnabled(LogLevel.Debug))
                    Log.RateLimited(logger, args.Context.GetRequestMessage()?.RequestUri?.AbsolutePath, args.RetryDelay);
                return default;
            },
        });

        builder.AddRetry(new HttpRetryStrategyOptions
        {
            Name = "transient",
            ShouldHandle = args => ValueTask.FromResult(IsTransient(args.Outcome) && IsSafeToRepeat(args.Context.GetRequestMessage())),
            MaxRetryAttempts = options.MaxTransientRetries,
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            Delay = options.TransientRetryDelay,
            ShouldRetryAfterHeader = false,
            OnRetry = args =>
            {
                if (logger.IsEnabled(LogLevel.Debug))
                    Log.Retrying(logger, args.Context.GetRequestMessage()?.RequestUri?.AbsolutePath,
                        args.Outcome.Exception?.GetType().Name ?? ((int?)args.Outcome.Result?.StatusCode)?.ToString(System.Globalization.CultureInfo.InvariantCulture));
                return default;
            },
        });

        builder.AddTimeout(options.RequestTimeout);
    }

    private static bool IsTransient(Outcome<HttpResponseMessage> outcome) =>
        outcome.Exception is HttpRequestException or TimeoutRejectedException
        || outcome.Result?.StatusCode is HttpStatusCode.InternalServerError or HttpStatusCode.BadGateway
            or HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout or HttpStatusCode.RequestTimeout;

    private static bool IsSafeToRepeat(HttpRequestMessage? request) =>
        request is not null
        && (request.Method == HttpMethod.Get || request.Method == HttpMethod.Put
            || (request.Options.TryGetValue(Idempotent, out var idempotent) && idempotent));
}

internal static partial class Log
{
    [LoggerMessage(LogLevel.Debug, "Rate-limited on {Path}; waiting {Delay} as the homeserver asks")]
    public static partial void RateLimited(ILogger logger, string? path, TimeSpan delay);

    [LoggerMessage(LogLevel.Debug, "Retrying {Path} after {Outcome}")]
    public static partial void Retrying(ILogger logger, string? path, string? outcome);
}

/// <summary>Client tuning. Defaults suit a bot on a stock Synapse.</summary>
public sealed class MatrixClientOptions
{
    /// <summary>Per-attempt timeout of ordinary requests.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Extra time past a long-poll's own timeout (<c>SyncLoopOptions.LongPollTimeout</c>) before we give up on it.</summary>
    public TimeSpan SyncGrace { get; set; } = TimeSpan.FromSeconds(30);

    public int MaxRateLimitWaits { get; set; } = 100;

    /// <summary>When a 429 names no delay.</summary>
    public TimeSpan DefaultRateLimitDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>A single wait never exceeds this, whatever the server says.</summary>
    public TimeSpan MaxRateLimitDelay { get; set; } = TimeSpan.FromMinutes(10);

    public int MaxTransientRetries { get; set; } = 4;

    public TimeSpan TransientRetryDelay { get; set; } = TimeSpan.FromSeconds(1);
}
