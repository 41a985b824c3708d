using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Http;

namespace Doorman.Settle;

/// <summary>
/// The bot's innermost HTTP handler, next to the socket: stamps each <c>POST …/rooms/{roomId}/invite</c> as it leaves
/// (after the bot's token, priority gate and resilience handlers) and as its answer comes back, by invitee.
/// </summary>
internal sealed class InviteStamp
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource<(long Sent, long Answered)>> _waiting = new();

    public Task<(long Sent, long Answered)> ExpectAsync(string userId) =>
        _waiting.GetOrAdd(userId, _ => new(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    public IHttpMessageHandlerBuilderFilter Filter() => new StampFilter(this);

    private void Seen(string body, long sent, long answered)
    {
        foreach (var (userId, waiting) in _waiting)
            if (body.Contains(userId, StringComparison.Ordinal))
                waiting.TrySetResult((sent, answered));
    }

    private sealed class StampFilter(InviteStamp stamp) : IHttpMessageHandlerBuilderFilter
    {
        public Action<HttpMessageHandlerBuilder> Configure(Action<HttpMessageHandlerBuilder> next) => builder =>
        {
            next(builder);
            builder.AdditionalHandlers.Add(new StampHandler(stamp));
        };
    }

    private sealed class StampHandler(InviteStamp stamp) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request.Method != HttpMethod.Post || request.RequestUri?.AbsolutePath.EndsWith("/invite", StringComparison.Ordinal) != true
                || request.Content is null)
                return await base.SendAsync(request, cancellationToken);
            var sent = Stopwatch.GetTimestamp();
            // Buffered before it is sent, so it can be read after (the invitee is in the body).
            await request.Content.LoadIntoBufferAsync(cancellationToken);
            var response = await base.SendAsync(request, cancellationToken);
            var answered = Stopwatch.GetTimestamp();
            stamp.Seen(await request.Content.ReadAsStringAsync(cancellationToken), sent, answered);
            return response;
        }
    }
}
