using System.Net;
using System.Text;
using Doorman.Matrix;
using Doorman.Matrix.Events;
using Doorman.Matrix.Http;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Polly;

namespace Doorman.Tests.Matrix;

/// <summary>
/// <see cref="PriorityGate"/> in the client's real pipeline (the gate's outer handler, <see cref="MatrixResilience"/>,
/// the gate's inner handler) in front of a scripted server that answers 429 with <c>Retry-After</c>. Time is fake:
/// the tests advance it and assert the order in which requests reached the server, never how long anything took.
/// </summary>
public sealed class PriorityGateTests : IDisposable
{
    private const string Room = "!room:hs.test";
    private const string Member = "@member:hs.test";

    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-11-25T12:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
    private readonly ScriptedServer _server = new();
    private readonly Arrivals _atGate = new();
    private readonly HttpClient _http;
    private readonly MatrixClient _client;

    public PriorityGateTests()
    {
        Gate = new PriorityGate(_time);
        var options = new MatrixClientOptions();
        var builder = new ResiliencePipelineBuilder<HttpResponseMessage> { TimeProvider = _time };
        MatrixResilience.Configure(builder, options, _time, NullLogger.Instance);
        // As MatrixClient.Create and HomeserverSetup build it, with a recorder in front of the inner gate.
        _http = new HttpClient(new UrgentRequestHandler(Gate)
        {
            InnerHandler = new ResilienceHandler(builder.Build())
            {
                InnerHandler = new Recorder(_atGate) { InnerHandler = new PriorityGateHandler(Gate) { InnerHandler = _server } },
            },
        }) { Timeout = Timeout.InfiniteTimeSpan };
        _client = new MatrixClient(_http, _http, new HomeserverAddress(new Uri("http://hs.test/")), options, _time);
    }

    private PriorityGate Gate { get; }

    public void Dispose()
    {
        _http.Dispose(); // cancels requests the server still holds
        _client.Dispose();
    }

    private Task<string> SendAsync(string txn, CancellationToken cancellationToken = default) =>
        _client.SendMessageAsync(Room, txn, new MessageContent { MsgType = MessageContent.Notice, Body = txn }, cancellationToken);

    [Fact]
    public async Task While_an_invite_waits_out_a_429_no_message_reaches_the_server_until_the_invite_has_gone_through()
    {
        _server.Script("invite", 1, Answer.RateLimited(seconds: 2));
        var invite = _client.InviteAsync(Room, Member, null, default);
        await _server.WaitForAsync("invite 429");

        var sends = new[] { SendAsync("a"), SendAsync("b"), SendAsync("c") };
        await _atGate.WaitForAsync("send", 3);
        await AdvanceUntilAsync(() => invite.IsCompleted);
        await invite;
        await Task.WhenAll(sends);

        Assert.Equal(["invite 429", "invite 200", "send 200", "send 200", "send 200"], _server.Log);
    }

    [Fact]
    public async Task A_message_waiting_out_its_own_429_waits_again_behind_an_invite_that_started_meanwhile()
    {
        _server.Script("send", 1, Answer.RateLimited(seconds: 1));
        _server.Script("invite", 1, Answer.RateLimited(seconds: 5));
        var send = SendAsync("a");
        await _server.WaitForAsync("send 429");
        var invite = _client.InviteAsync(Room, Member, null, default);
        await _server.WaitForAsync("invite 429");

        // The message's retry comes first (1 s) and is held at the gate; the invite's (5 s) then goes through.
        await AdvanceUntilAsync(() => _atGate.Count("send") == 2);
        await AdvanceUntilAsync(() => invite.IsCompleted);
        await invite;
        await send;

        Assert.Equal(["send 429", "invite 429", "invite 200", "send 200"], _server.Log);
    }

    [Fact]
    public async Task A_held_message_goes_ahead_after_MaxHold_even_while_the_invite_is_still_pending()
    {
        _server.Script("invite", 1, Answer.Never);
        var invite = _client.InviteAsync(Room, Member, null, default);
        await _server.WaitForArrivalAsync("invite");

        var send = SendAsync("a");
        await _atGate.WaitForAsync("send", 1);
        var advanced = await AdvanceUntilAsync(() => send.IsCompleted);
        await send;

        Assert.True(advanced >= Gate.MaxHold, $"sent after {advanced} of fake time; MaxHold is {Gate.MaxHold}");
        Assert.False(invite.IsCompleted);
        Assert.Equal(["send 200"], _server.Log);
    }

    [Fact]
    public async Task Reads_and_other_membership_changes_are_not_held()
    {
        _server.Script("invite", 1, Answer.Never);
        var invite = _client.InviteAsync(Room, Member, null, default);
        await _server.WaitForArrivalAsync("invite");

        // Neither needs the clock: they complete while the invite is still pending.
        await _client.GetMembershipAsync(Room, Member, default).WaitAsync(Liveness);
        await _client.KickAsync(Room, "@other:hs.test", null, default).WaitAsync(Liveness);

        Assert.False(invite.IsCompleted);
        Assert.Equal(["get 200", "kick 200"], _server.Log);
    }

    [Fact]
    public async Task The_gate_opens_when_the_last_pending_membership_change_completes()
    {
        var releaseInvite = _server.Script("invite", 1, Answer.Held);
        var releaseKick = _server.Script("kick", 1, Answer.Held);
        var invite = _client.InviteAsync(Room, Member, null, default);
        var kick = _client.KickAsync(Room, "@other:hs.test", null, default);
        await _server.WaitForArrivalAsync("invite");
        await _server.WaitForArrivalAsync("kick");
        var send = SendAsync("a");
        await _atGate.WaitForAsync("send", 1);

        releaseInvite.SetResult();
        await invite.WaitAsync(Liveness);
        // A control that must be answered, so a message let through too early would have had its chance to arrive.
        await _client.GetMembershipAsync(Room, Member, default).WaitAsync(Liveness);
        releaseKick.SetResult();
        await kick.WaitAsync(Liveness);
        await send.WaitAsync(Liveness);

        Assert.Equal(["invite 200", "get 200", "kick 200", "send 200"], _server.Log);
    }

    [Fact]
    public async Task A_held_message_can_be_cancelled_and_never_reaches_the_server()
    {
        _server.Script("invite", 1, Answer.Never);
        _ = _client.InviteAsync(Room, Member, null, default);
        await _server.WaitForArrivalAsync("invite");
        using var cancel = new CancellationTokenSource();
        var send = SendAsync("a", cancel.Token);
        await _atGate.WaitForAsync("send", 1);

        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => send.WaitAsync(Liveness));
        Assert.Empty(_server.Log);
    }

    [Theory]
    [InlineData("POST", "_matrix/client/v3/rooms/!r%3Ahs/invite", true)]
    [InlineData("POST", "_matrix/client/v3/rooms/!r%3Ahs/kick", true)]
    [InlineData("POST", "_matrix/client/v3/rooms/!r%3Ahs/ban", true)]
    [InlineData("POST", "_matrix/client/v3/rooms/!r%3Ahs/unban", true)]
    [InlineData("POST", "_matrix/client/r0/rooms/!r%3Ahs/invite", true)]
    [InlineData("POST", "_matrix/client/v3/rooms/!abcdefghijklmnopqrstuvwxyz0123456789-_ABCDEFG/kick", true)] // a v12 room id
    [InlineData("POST", "_matrix/client/v3/rooms/!r%3Ahs/leave", false)]
    [InlineData("POST", "_matrix/client/v3/join/!r%3Ahs", false)]
    [InlineData("POST", "_matrix/client/v3/createRoom", false)]
    [InlineData("POST", "_matrix/client/v3/rooms/!r%3Ahs/receipt/m.read/$e", false)]
    [InlineData("PUT", "_matrix/client/v3/rooms/!r%3Ahs/send/m.room.message/txn", false)]
    [InlineData("PUT", "_matrix/client/v3/rooms/!r%3Ahs/state/m.room.member/@u%3Ahs", false)]
    [InlineData("GET", "_matrix/client/v3/rooms/!r%3Ahs/invite", false)]
    [InlineData("POST", "_matrix/client/v3/rooms/!r%3Ahs/send/invite", false)]
    public void Membership_changes_are_told_apart_by_method_and_path(string method, string path, bool urgent)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), new Uri(new Uri("https://hs.example/"), path));
        Assert.Equal(urgent, PriorityGate.IsUrgent(request));
    }

    private static readonly TimeSpan Liveness = TimeSpan.FromSeconds(30);

    /// <summary>Advances fake time a second at a time until <paramref name="done"/>; returns how much it advanced.</summary>
    private async Task<TimeSpan> AdvanceUntilAsync(Func<bool> done)
    {
        var advanced = TimeSpan.Zero;
        for (var i = 0; i < 300 && !done(); i++)
        {
            _time.Advance(TimeSpan.FromSeconds(1));
            advanced += TimeSpan.FromSeconds(1);
            await Task.Delay(10); // let the requests the clock released run
        }
        Assert.True(done(), $"still waiting after advancing {advanced}; the server saw: {string.Join(", ", _server.Log)}");
        return advanced;
    }

    private enum Kind { Ok, RateLimited, Never, Held }

    private sealed record Answer(Kind Kind, int Seconds = 0)
    {
        public static Answer RateLimited(int seconds) => new(Kind.RateLimited, seconds);

        public static readonly Answer Never = new(Kind.Never);

        public static readonly Answer Held = new(Kind.Held);
    }

    /// <summary>What a request is, in the words of the logs: <c>invite</c>, <c>kick</c>, <c>send</c>, <c>get</c>.</summary>
    private static string What(HttpRequestMessage request) =>
        request.Method == HttpMethod.Get ? "get"
        : request.RequestUri!.AbsolutePath.Contains("/send/", StringComparison.Ordinal) ? "send"
        : request.RequestUri.AbsolutePath.Split('/')[^1];

    /// <summary>
    /// A homeserver that answers 200 unless scripted otherwise for the n-th attempt of a kind of request, and logs
    /// each answer ("invite 429") in the order given.
    /// </summary>
    private sealed class ScriptedServer : HttpMessageHandler
    {
        private readonly Dictionary<(string What, int Attempt), (Answer Answer, TaskCompletionSource Release)> _script = [];
        private readonly Arrivals _arrivals = new();
        private readonly Arrivals _answers = new();

        public IReadOnlyList<string> Log => _answers.All;

        public TaskCompletionSource Script(string what, int attempt, Answer answer)
        {
            var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (_script)
                _script[(what, attempt)] = (answer, release);
            return release;
        }

        public Task WaitForAsync(string answer) => _answers.WaitForAsync(answer, 1);

        public Task WaitForArrivalAsync(string what) => _arrivals.WaitForAsync(what, 1);

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var what = What(request);
            var attempt = _arrivals.Add(what);
            (Answer Answer, TaskCompletionSource Release) scripted;
            lock (_script)
                scripted = _script.GetValueOrDefault((what, attempt), (new Answer(Kind.Ok), new TaskCompletionSource()));

            switch (scripted.Answer.Kind)
            {
                case Kind.Never:
                    await Task.Delay(Timeout.Infinite, cancellationToken);
                    break;
                case Kind.Held:
                    await scripted.Release.Task.WaitAsync(cancellationToken);
                    break;
                case Kind.RateLimited:
                    _answers.Add($"{what} 429");
                    var limited = Json(HttpStatusCode.TooManyRequests,
                        $$"""{"errcode":"M_LIMIT_EXCEEDED","error":"Too Many Requests","retry_after_ms":{{scripted.Answer.Seconds * 1000}}}""");
                    limited.Headers.TryAddWithoutValidation("Retry-After", scripted.Answer.Seconds.ToString(System.Globalization.CultureInfo.InvariantCulture));
                    return limited;
                case Kind.Ok:
                default:
                    break;
            }
            _answers.Add($"{what} 200");
            return Json(HttpStatusCode.OK, what switch
            {
                "send" => """{"event_id":"$sent"}""",
                "get" => """{"membership":"join"}""",
                _ => "{}",
            });
        }

        private static HttpResponseMessage Json(HttpStatusCode status, string body) =>
            new(status) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
    }

    /// <summary>Records each request that passes, by kind: here, the requests about to meet the inner gate.</summary>
    private sealed class Recorder(Arrivals arrivals) : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            arrivals.Add(What(request));
            return base.SendAsync(request, cancellationToken);
        }
    }

    /// <summary>An ordered log that can be waited on.</summary>
    private sealed class Arrivals
    {
        private readonly List<string> _entries = [];
        private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public IReadOnlyList<string> All
        {
            get
            {
                lock (_entries)
                    return [.. _entries];
            }
        }

        public int Count(string entry)
        {
            lock (_entries)
                return _entries.Count(e => e == entry);
        }

        /// <summary>Adds the entry; returns how many times it has now been seen.</summary>
        public int Add(string entry)
        {
            TaskCompletionSource changed;
            int count;
            lock (_entries)
            {
                _entries.Add(entry);
                count = _entries.Count(e => e == entry);
                (changed, _changed) = (_changed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
            }
            changed.SetResult();
            return count;
        }

        public async Task WaitForAsync(string entry, int count)
        {
            while (true)
            {
                Task changed;
                lock (_entries)
                {
                    if (_entries.Count(e => e == entry) >= count)
                        return;
                    changed = _changed.Task;
                }
                await changed.WaitAsync(Liveness);
            }
        }
    }
}
