using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace Doorman.Matrix.Sync;

/// <summary>One batch of a sync, for the handler.</summary>
/// <param name="IsInitial">
/// The first sync of a fresh session (no stored token, or the token was refused): it carries history and the
/// current state. Handlers take invites and state from it but never treat its timeline as new commands.
/// </param>
public sealed record SyncBatch(SyncResponse Response, bool IsInitial);

/// <summary>Handles a batch. When it returns, the batch's effects must be durable: the loop then stores the token.</summary>
public interface ISyncHandler
{
    Task HandleAsync(SyncBatch batch, CancellationToken cancellationToken);
}

/// <summary>Where the loop keeps its place: the <c>next_batch</c> token and the uploaded filter.</summary>
public interface ISyncStateStore
{
    Task<SyncState> LoadAsync(CancellationToken cancellationToken);

    Task SaveSinceAsync(string? since, CancellationToken cancellationToken);

    Task SaveFilterAsync(string filterId, string filterJson, CancellationToken cancellationToken);
}

public sealed record SyncState(string? Since, string? FilterId, string? FilterJson);

public sealed class SyncLoopOptions
{
    /// <summary>The filter to sync with (CS API §"Filtering"); re-uploaded when it changes.</summary>
    public string FilterJson { get; set; } =
        """{"presence":{"types":[]},"account_data":{"types":["m.direct"]},"room":{"timeline":{"limit":50},"ephemeral":{"types":[]},"account_data":{"types":[]},"state":{"lazy_load_members":true}}}""";

    public TimeSpan LongPollTimeout { get; set; } = TimeSpan.FromSeconds(30);

    public TimeSpan MinBackoff { get; set; } = TimeSpan.FromSeconds(1);

    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// How long a batch already fetched may still take when the loop is asked to stop: it is handled to the end and
    /// its token stored, unless this runs out first (then it is cancelled, and comes again after a restart).
    /// </summary>
    public TimeSpan StopGrace { get; set; } = TimeSpan.FromSeconds(10);
}

/// <summary>
/// The sync loop (CS API §"Syncing"): upload the filter once, sync with timeout 0 first in each run and after errors and 30 s
/// otherwise, hand each batch to the handler, and store <c>next_batch</c> only after the handler returns — so a
/// crash repeats a batch (the handler deduplicates by event id) instead of losing it. Failures back off with
/// full jitter from 1 s to 5 min, logged once per outage and once on recovery. An invalid token ends the loop
/// with <see cref="MatrixException"/>; a refused <c>since</c> starts a fresh session that replays nothing.
/// Malformed events a batch left out (<see cref="SyncResponse.CountSkippedEvents"/>) are logged in one line per batch,
/// with the rooms they were in and never their contents.
/// </summary>
public sealed partial class SyncLoop(MatrixClient client, ISyncStateStore store, ISyncHandler handler, SyncLoopOptions options,
    TimeProvider time, ILogger<SyncLoop> logger)
{
    private long _lastSuccessTicks;
    private volatile bool _failing;

    /// <summary>When the last sync batch was fetched and handled; null before the first.</summary>
    public DateTimeOffset? LastSuccess => Interlocked.Read(ref _lastSuccessTicks) is var t and > 0 ? new DateTimeOffset(t, TimeSpan.Zero) : null;

    /// <summary>True while the loop is in an outage (between a failure and the next success).</summary>
    public bool IsFailing => _failing;

    public async Task RunAsync(string userId, CancellationToken cancellationToken)
    {
        var state = await store.LoadAsync(cancellationToken);
        var filterId = state.FilterJson == options.FilterJson ? state.FilterId : null;
        var since = state.Since;
        var failures = 0;
        var caughtUp = false;
        var refusedFilter = false;
        DateTimeOffset? outageStarted = null;

        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                if (filterId is null)
                {
                    using var filter = JsonDocument.Parse(options.FilterJson);
                    filterId = await client.UploadFilterAsync(userId, filter.RootElement, cancellationToken);
                    await store.SaveFilterAsync(filterId, options.FilterJson, cancellationToken);
                }

                var initial = since is null;
                // The first request of a run catches up at once, so /healthz soon says so. A long-poll with the stored
                // token would wait for news, and on Synapse could join the poll the previous run left open with the same
                // token and timeout (identical requests share one computation, SyncRestServlet's request key), which
                // answers only at its timeout: the first command after a restart waited 27 s that way.
                var timeout = !caughtUp || failures > 0 ? TimeSpan.Zero : options.LongPollTimeout;
                SyncResponse response;
                try
                {
                    response = await client.SyncAsync(since, filterId, timeout, cancellationToken);
                }
                catch (MatrixException e) when (IsRefusedFilter(e) && !refusedFilter)
                {
                    // Synapse: 400 M_INVALID_PARAM "No such filter" (its database was replaced). Upload the filter
                    // again, once, and keep our place: the token is not the problem.
                    LogFilterRefused(e.Error);
                    refusedFilter = true;
                    filterId = null;
                    continue;
                }
                catch (MatrixException e) when (e.Status == HttpStatusCode.BadRequest && e.ErrorCode == ErrorCodes.Unknown && since is not null)
                {
                    // Synapse: 400 M_UNKNOWN "Invalid stream token" (e.g. the server's database was reset). Start a
                    // fresh session; its first batch is initial, so no old message is taken for a new command.
                    LogSinceRefused(e.Error);
                    since = null;
                    await store.SaveSinceAsync(null, cancellationToken);
                    continue;
                }

                if (response.CountSkippedEvents() is { Count: > 0 } skipped)
                    LogSkippedEvents(skipped.Count, skipped.ToString());
                await HandleToTheEndAsync(new SyncBatch(response, initial), cancellationToken);
                caughtUp = true;
                since = response.NextBatch;
                refusedFilter = false;

                Interlocked.Exchange(ref _lastSuccessTicks, time.GetUtcNow().UtcTicks);
                if (outageStarted is { } started)
                    LogRecovered(time.GetUtcNow() - started, failures);
                failures = 0;
                outageStarted = null;
                _failing = false;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (MatrixException e) when (e.IsUnknownToken || e.ErrorCode == ErrorCodes.MissingToken)
            {
                _failing = true;
                throw; // The bot cannot go on with this token; the host stops with a clear message.
            }
            catch (Exception e)
            {
                _failing = true;
                failures++;
                if (outageStarted is null)
                {
                    outageStarted = time.GetUtcNow();
                    LogOutage(e, e.Message);
                }
                var wait = e is MatrixException { RetryAfter: { } asked } ? asked : Backoff(failures);
                try
                {
                    await Task.Delay(wait, time, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    /// <summary>
    /// Hands the batch to the handler and stores its token. A stop asked for meanwhile does not cut the batch short
    /// (it would come again, and a session's first batch comes again as a fresh session, which treats nothing in it
    /// as a command, so a message sent while the bot is down would go unanswered); it only starts the
    /// <see cref="SyncLoopOptions.StopGrace"/> countdown.
    /// </summary>
    private async Task HandleToTheEndAsync(SyncBatch batch, CancellationToken stopping)
    {
        using var finishing = new CancellationTokenSource();
        using var countdown = stopping.Register(() => finishing.CancelAfter(options.StopGrace));
        try
        {
            await handler.HandleAsync(batch, finishing.Token);
            await store.SaveSinceAsync(batch.Response.NextBatch, finishing.Token);
        }
        catch (OperationCanceledException) when (finishing.IsCancellationRequested)
        {
            throw new OperationCanceledException("the batch did not finish within the stop grace", stopping);
        }
    }

    private static bool IsRefusedFilter(MatrixException e) =>
        e.Status is HttpStatusCode.BadRequest or HttpStatusCode.NotFound && e.ErrorCode is ErrorCodes.InvalidParam or ErrorCodes.NotFound;

    /// <summary>Full jitter (AWS architecture blog, "Exponential Backoff And Jitter"): uniform in [0, min(cap, base·2ⁿ)].</summary>
    private TimeSpan Backoff(int failures)
    {
        var ceiling = Math.Min(options.MaxBackoff.TotalMilliseconds, options.MinBackoff.TotalMilliseconds * Math.Pow(2, Math.Min(failures - 1, 30)));
        return TimeSpan.FromMilliseconds(Math.Max(options.MinBackoff.TotalMilliseconds / 2, Random.Shared.NextDouble() * ceiling));
    }

    [LoggerMessage(LogLevel.Warning, "Sync is failing ({Reason}); retrying with backoff until the homeserver answers")]
    private partial void LogOutage(Exception exception, string reason);

    [LoggerMessage(LogLevel.Information, "Sync recovered after {Duration} and {Failures} failed attempts")]
    private partial void LogRecovered(TimeSpan duration, int failures);

    [LoggerMessage(LogLevel.Warning, "The homeserver refused our sync token ({Reason}); starting a fresh sync that replays nothing")]
    private partial void LogSinceRefused(string reason);

    [LoggerMessage(LogLevel.Warning, "Skipped {Count} malformed events in a sync batch ({Where}); the rest of the batch is handled")]
    private partial void LogSkippedEvents(int count, string where);

    [LoggerMessage(LogLevel.Warning, "The homeserver refused our filter ({Reason}); uploading it again")]
    private partial void LogFilterRefused(string reason);
}
