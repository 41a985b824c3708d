using System.Net;
using System.Text;
using Doorman.Matrix;
using Doorman.Matrix.Http;

namespace Doorman.Tests.Matrix;

/// <summary>
/// Response bodies are read whole, then parsed: with or without a Content-Length, in pieces as a network delivers
/// them, with a byte order mark, and bodies that are not what we asked for still come back as a Matrix error.
/// </summary>
public sealed class ResponseBodyTests
{
    private static readonly string BigSync = "{\"next_batch\":\"s2\",\"rooms\":{\"join\":{\"!r:b\":{\"timeline\":{\"events\":["
        + string.Join(",", Enumerable.Range(0, 3000).Select(i =>
            $$"""{"content":{"body":"message {{i}} é👋","msgtype":"m.text"},"event_id":"$e{{i}}","origin_server_ts":{{i}},"sender":"@u:b","type":"m.room.message"}"""))
        + "],\"limited\":false}}}}}";

    [Theory]
    [InlineData(true, 1 << 20)]
    [InlineData(false, 1 << 20)]
    [InlineData(false, 5)]
    [InlineData(true, 5)]
    public async Task A_sync_body_reads_the_same_with_or_without_a_length_and_in_any_pieces(bool withLength, int piece)
    {
        using var client = Client(() => Json(Encoding.UTF8.GetBytes(BigSync), withLength, piece));
        var sync = await client.SyncAsync("s1", null, TimeSpan.Zero, default);
        var events = sync.Rooms!.Join!["!r:b"].Timeline!.Events!;
        Assert.Equal("s2", sync.NextBatch);
        Assert.Equal(3000, events.Count);
        Assert.Equal("message 2999 é👋", events[^1].ContentString("body"));
        Assert.Equal(2999, events[^1].OriginServerTs);
    }

    [Fact]
    public async Task A_byte_order_mark_is_skipped()
    {
        using var client = Client(() => Json([0xEF, 0xBB, 0xBF, .. """{"user_id":"@a:b"}"""u8], withLength: false, piece: 2));
        Assert.Equal("@a:b", (await client.WhoAmIAsync(default)).UserId);
    }

    [Theory]
    [InlineData("")]
    [InlineData("null")]
    [InlineData("<html>502 Bad Gateway</html>")]
    [InlineData("""{"next_batch":"s2","rooms":{"join":[]}}""")]
    [InlineData("""{"next_batch":"s2","rooms":""")]
    public async Task A_body_that_is_not_the_answer_is_a_bad_json_error(string body)
    {
        using var client = Client(() => Json(Encoding.UTF8.GetBytes(body), withLength: true, piece: 1 << 20));
        var e = await Assert.ThrowsAsync<MatrixException>(() => client.SyncAsync("s1", null, TimeSpan.Zero, default));
        Assert.Equal(ErrorCodes.BadJson, e.ErrorCode);
        Assert.Equal(HttpStatusCode.OK, e.Status);
    }

    [Fact]
    public async Task A_malformed_event_in_the_body_costs_only_itself()
    {
        // Events come from other servers: one of the wrong shape is skipped and counted, the batch is not refused.
        const string body = """
            {"next_batch":"s2","rooms":{"join":{"!r:b":{"timeline":{"events":[{"type":"m.room.message","sender":5},{"type":"m.room.message","sender":"@a:b","event_id":"$ok"}]}}}}}
            """;
        using var client = Client(() => Json(Encoding.UTF8.GetBytes(body), withLength: true, piece: 7));
        var sync = await client.SyncAsync("s1", null, TimeSpan.Zero, default);
        Assert.Equal("$ok", Assert.Single(sync.Rooms!.Join!["!r:b"].Timeline!.Events!).EventId);
        Assert.Equal(1, sync.CountSkippedEvents().Count);
    }

    private static MatrixClient Client(Func<HttpResponseMessage> answer)
    {
        var handler = new Answering(answer);
        return new MatrixClient(new HttpClient(handler, disposeHandler: false), new HttpClient(handler, disposeHandler: false),
            new HomeserverAddress(new Uri("http://homeserver.invalid/")), new MatrixClientOptions(), TimeProvider.System);
    }

    private static HttpResponseMessage Json(byte[] body, bool withLength, int piece)
    {
        var content = new StreamContent(new Trickle(body, piece));
        content.Headers.ContentType = new("application/json");
        content.Headers.ContentLength = withLength ? body.Length : null;
        return new HttpResponseMessage(HttpStatusCode.OK) { Content = content };
    }

    private sealed class Answering(Func<HttpResponseMessage> answer) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            Task.FromResult(answer());
    }

    /// <summary>A body that arrives at most <paramref name="piece"/> bytes at a time.</summary>
    private sealed class Trickle(byte[] data, int piece) : MemoryStream(data, writable: false)
    {
        public override int Read(byte[] buffer, int offset, int count) => base.Read(buffer, offset, Math.Min(count, piece));

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            base.ReadAsync(buffer[..Math.Min(buffer.Length, piece)], cancellationToken);

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            base.ReadAsync(buffer, offset, Math.Min(count, piece), cancellationToken);
    }
}
