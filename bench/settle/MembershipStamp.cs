using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.Http;

namespace Doorman.Settle;

/// <summary>
/// The bot's innermost HTTP handler, next to the socket: stamps each <c>POST …/rooms/{roomId}/invite</c> (or
/// <c>…/kick</c>, by <c>verb</c>) as it leaves (after the bot's token, priority gate and resilience handlers) and as
/// its answer comes back, by the <c>user_id</c> of its body. Shared by bench/settle and bench/load.
/// </summary>
internal sealed class MembershipStamp(string verb = "invite")
{
    private readonly string _suffix = "/" + verb;
    private readonly ConcurrentDictionary<string, TaskCompletionSource<(long Sent, long Answered)>> _waiting = new(StringComparer.Ordinal);
    private int _count;

    /// <summary>How many requests were stamped (answered).</summary>
    public int Count => Volatile.Read(ref _count);

    public Task<(long Sent, long Answered)> ExpectAsync(string userId) => Slot(userId).Task;

    private TaskCompletionSource<(long Sent, long Answered)> Slot(string userId) =>
        _waiting.GetOrAdd(userId, _ => new(TaskCreationOptions.RunContinuationsAsynchronously));

    public IHttpMessageHandlerBuilderFilter Filter() => new StampFilter(this);

    private void Seen(string body, long sent, long answered)
    {
        using var json = JsonDocument.Parse(body);
        if (json.RootElement.TryGetProperty("user_id", out var userId) && userId.GetString() is { } id)
            Slot(id).TrySetResult((sent, answered));
        Interlocked.Increment(ref _count);
    }

    private sealed class StampFilter(MembershipStamp stamp) : IHttpMessageHandlerBuilderFilter
    {
        public Action<HttpMessageHandlerBuilder> Configure(Action<HttpMessageHandlerBuilder> next) => builder =>
        {
            next(builder);
            builder.AdditionalHandlers.Add(new StampHandler(stamp));
        };
    }

    private sealed class StampHandler(MembershipStamp stamp) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request.Method != HttpMethod.Post || request.RequestUri?.AbsolutePath.EndsWith(stamp._suffix, StringComparison.Ordinal) != true
                || request.Content is null)
                return await base.SendAsync(request, cancellationToken);
            var sent = Stopwatch.GetTimestamp();
            // Buffered before it is sent, so it can be read after (the user is in the body).
            await request.Content.LoadIntoBufferAsync(cancellationToken);
            var response = await base.SendAsync(request, cancellationToken);
            var answered = Stopwatch.GetTimestamp();
            stamp.Seen(await request.Content.ReadAsStringAsync(cancellationToken), sent, answered);
            return response;
        }
    }
}
