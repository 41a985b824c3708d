using System.Text;
using System.Text.Json;
using Doorman.Matrix;
using Doorman.Matrix.Events;
using Doorman.Matrix.Http;
using Doorman.Matrix.Sync;
using Doorman.Tests.Fixtures;
using Doorman.Tests.Support;
using Microsoft.Extensions.Logging;

namespace Doorman.Tests.Matrix;

/// <summary>
/// Events come from other servers, so one with a field of the wrong JSON type must cost only itself, never the batch.
/// <c>Fixtures/malformed/sync.json</c> (written by hand, one event per line) holds, in every place a /sync response
/// carries events — global account data; a joined room's timeline, state and account data; an invited room's
/// invite_state; a knocked room's knock_state; a left room's timeline and state — a well-formed event, then one
/// malformed event of each kind, each followed by another well-formed one. The well-formed ones are labelled
/// <c>section#goodN</c> (in <c>content.body</c> or <c>content.label</c>); a room <c>!lenient</c> has room-level
/// fields of the wrong type.
/// </summary>
public sealed class MalformedEventTests
{
    /// <summary>The kinds of malformed event in each section of the fixture (see its account_data for the list).</summary>
    private const int Kinds = 16;

    private const string Joined = "!room:localhost";

    private static string FixtureText => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "malformed", "sync.json"));

    private static SyncResponse Parse(string json) => JsonSerializer.Deserialize(json, MatrixJson.SyncResponse)!;

    [Fact]
    public void Every_section_delivers_its_well_formed_events_in_order_and_counts_the_malformed_ones()
    {
        var sync = Parse(FixtureText);
        var rooms = sync.Rooms!;
        var sections = new (string Name, List<ClientEvent>? Events, int Skipped)[]
        {
            ("account_data", sync.AccountData!.Events, sync.AccountData.Skipped),
            ("join/timeline", rooms.Join![Joined].Timeline!.Events, rooms.Join[Joined].Timeline!.Skipped),
            ("join/state", rooms.Join[Joined].State!.Events, rooms.Join[Joined].State!.Skipped),
            ("join/account_data", rooms.Join[Joined].AccountData!.Events, rooms.Join[Joined].AccountData!.Skipped),
            ("invite/invite_state", rooms.Invite!["!invited:localhost"].InviteState!.Events, rooms.Invite["!invited:localhost"].InviteState!.Skipped),
            ("knock/knock_state", rooms.Knock!["!knocked:localhost"].KnockState!.Events, rooms.Knock["!knocked:localhost"].KnockState!.Skipped),
            ("leave/timeline", rooms.Leave!["!left:localhost"].Timeline!.Events, rooms.Leave["!left:localhost"].Timeline!.Skipped),
            ("leave/state", rooms.Leave["!left:localhost"].State!.Events, rooms.Leave["!left:localhost"].State!.Skipped),
        };

        foreach (var (name, events, skipped) in sections)
        {
            Assert.Equal(Enumerable.Range(0, Kinds + 1).Select(i => $"{name}#good{i}"), events!.Select(Label));
            Assert.True(Kinds == skipped, $"{name}: {skipped} skipped");
        }

        // The well-formed events are read whole, not merely kept.
        var first = rooms.Join[Joined].Timeline!.Events![0];
        Assert.Equal(("$join-timeline-good0", "@alice:localhost", EventTypes.Message, 1795635740000L, 10L),
            (first.EventId, first.Sender, first.Type, first.OriginServerTs, first.UnsignedData!.Age!.Value));
        Assert.True(rooms.Join[Joined].Timeline!.Limited);
        Assert.Equal("s40", rooms.Join[Joined].Timeline!.PrevBatch);
        Assert.All(rooms.Join[Joined].State!.Events!, e => Assert.Equal("@alice:localhost", e.StateKey));
        Assert.Equal("s100", sync.NextBatch);
    }

    [Fact]
    public void The_batch_counts_its_skipped_events_by_room_and_names_no_content()
    {
        var skipped = Parse(FixtureText).CountSkippedEvents();

        Assert.Equal(8 * Kinds, skipped.Count);
        Assert.Equal(Kinds, skipped.AccountData);
        Assert.Equal(new Dictionary<string, int>
        {
            [Joined] = 3 * Kinds,
            ["!invited:localhost"] = Kinds,
            ["!knocked:localhost"] = Kinds,
            ["!left:localhost"] = 2 * Kinds,
        }, skipped.Rooms);
        var where = skipped.ToString();
        Assert.Contains("!invited:localhost: 16", where, StringComparison.Ordinal);
        Assert.Contains("account data: 16", where, StringComparison.Ordinal);
        Assert.DoesNotContain("bad", where, StringComparison.Ordinal);
    }

    [Fact]
    public void Room_fields_of_the_wrong_type_read_as_absent_and_the_rest_of_the_room_arrives()
    {
        var room = Parse(FixtureText).Rooms!.Join!["!lenient:localhost"];

        var timeline = room.Timeline!;
        Assert.Equal(["lenient/timeline#good0"], timeline.Events!.Select(Label));
        Assert.False(timeline.Limited); // "limited": "yes"
        Assert.Null(timeline.PrevBatch); // "prev_batch": 5
        Assert.Null(room.State); // "state": 5
        Assert.Null(room.AccountData!.Events); // "events": {}
        Assert.Null(room.Summary!.JoinedMemberCount); // "x"
        Assert.Equal(2, room.Summary.InvitedMemberCount);
    }

    [Fact]
    public async Task Streamed_in_small_pieces_the_fixture_reads_the_same()
    {
        var bytes = Encoding.UTF8.GetBytes(FixtureText);
        await using var trickle = new TrickleStream(bytes, chunk: 5);
        var streamed = (await JsonSerializer.DeserializeAsync(trickle, MatrixJson.SyncResponse))!;
        var whole = Parse(FixtureText);

        Assert.Equal(whole.CountSkippedEvents().Rooms, streamed.CountSkippedEvents().Rooms);
        Assert.Equal(whole.Rooms!.Join![Joined].Timeline!.Events!.Select(Label), streamed.Rooms!.Join![Joined].Timeline!.Events!.Select(Label));
    }

    [Fact]
    public void A_recorded_sync_skips_nothing()
    {
        foreach (var name in Directory.GetFiles(SyncFixtures.Directory, "*.json").Select(Path.GetFileNameWithoutExtension).Where(n => n != "manifest"))
            Assert.Same(SkippedEvents.None, SyncFixtures.Parse(name!).CountSkippedEvents());
    }

    [Fact]
    public void Writing_a_timeline_and_reading_it_back_gives_the_same_events()
    {
        var timeline = Parse(FixtureText).Rooms!.Join![Joined].Timeline!;
        var json = JsonSerializer.Serialize(timeline, MatrixJsonContext.Default.Timeline);
        var back = JsonSerializer.Deserialize(json, MatrixJsonContext.Default.Timeline)!;

        Assert.StartsWith("""{"events":[{"event_id":"$join-timeline-good0",""", json, StringComparison.Ordinal);
        Assert.EndsWith("""],"limited":true,"prev_batch":"s40"}""", json, StringComparison.Ordinal);
        Assert.Equal(timeline.Events!.Select(Label), back.Events!.Select(Label));
        Assert.Equal(0, back.Skipped);
        Assert.Equal("""{"events":null}""", JsonSerializer.Serialize(new EventList(), MatrixJsonContext.Default.EventList));
        Assert.Equal("""{"m.joined_member_count":3,"m.invited_member_count":null}""",
            JsonSerializer.Serialize(new RoomSummary { JoinedMemberCount = 3 }, MatrixJsonContext.Default.RoomSummary));
    }

    [Fact]
    public async Task The_sync_loop_hands_on_the_batch_and_logs_one_line_naming_the_rooms()
    {
        using var homeserver = new CannedHomeserver(FixtureText);
        using var api = new HttpClient(homeserver, disposeHandler: false);
        using var longPoll = new HttpClient(homeserver, disposeHandler: false);
        using var client = new MatrixClient(api, longPoll, new HomeserverAddress(new Uri("http://hs.invalid/")), new MatrixClientOptions(), TimeProvider.System);
        var lines = new LogLineCollection();
        using var logging = LoggerFactory.Create(b => b.AddProvider(new RecordingLoggerProvider(lines)));
        var handled = new TaskCompletionSource<SyncBatch>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var stop = new CancellationTokenSource();
        var loop = new SyncLoop(client, new MemorySyncStateStore(), new Handler(handled), new SyncLoopOptions(), TimeProvider.System, logging.CreateLogger<SyncLoop>());

        var running = loop.RunAsync("@bot:localhost", stop.Token);
        var batch = await handled.Task.WaitAsync(TimeSpan.FromSeconds(15));
        await stop.CancelAsync();
        await running;

        Assert.Equal(Kinds + 1, batch.Response.Rooms!.Join![Joined].Timeline!.Events!.Count);
        string[] logged = [.. lines.Where(l => l.Contains("malformed", StringComparison.Ordinal))];
        var line = Assert.Single(logged);
        Assert.StartsWith($"Warning Doorman.Matrix.Sync.SyncLoop: Skipped {8 * Kinds} malformed events", line, StringComparison.Ordinal);
        Assert.Contains("!knocked:localhost: 16", line, StringComparison.Ordinal);
        Assert.DoesNotContain("bad", line, StringComparison.Ordinal);
    }

    private static string? Label(ClientEvent e) => e.ContentString("body") ?? e.ContentString("label");

    private sealed class Handler(TaskCompletionSource<SyncBatch> handled) : ISyncHandler
    {
        public Task HandleAsync(SyncBatch batch, CancellationToken cancellationToken)
        {
            handled.TrySetResult(batch);
            return Task.CompletedTask;
        }
    }

    /// <summary>A homeserver that takes any filter, answers the first /sync with one body, and holds every later one.</summary>
    private sealed class CannedHomeserver(string firstSync) : HttpMessageHandler
    {
        private int _syncs;

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var path = request.RequestUri!.AbsolutePath;
            if (path.EndsWith("/filter", StringComparison.Ordinal))
                return Json("""{"filter_id":"0"}""");
            if (path.EndsWith("/sync", StringComparison.Ordinal))
            {
                if (Interlocked.Increment(ref _syncs) == 1)
                    return Json(firstSync);
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }
            return new HttpResponseMessage(System.Net.HttpStatusCode.NotFound) { Content = new StringContent("""{"errcode":"M_UNRECOGNIZED","error":"no"}""") };
        }

        private static HttpResponseMessage Json(string body) => new(System.Net.HttpStatusCode.OK) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
    }
}
