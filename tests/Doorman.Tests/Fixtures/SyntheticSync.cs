using System.Globalization;
using System.Text.Json.Nodes;

namespace Doorman.Tests.Fixtures;

/// <summary>
/// Big, realistic <c>/sync</c> batches for parsing and dispatch benchmarks, built from the shapes Synapse sent in
/// the recorded fixtures: the joined-room skeleton and message events of <c>timeline.json</c> (Synapse's key order,
/// <c>unsigned.age</c>, <c>unsigned.membership</c>), member events of <c>leave.json</c> and <c>knock-seen-by-member.json</c>.
/// Deterministic for a given size and seed. Exactly 1 % of the events are <c>m.room.message</c> bodies starting with
/// <c>!gate</c>; nothing else starts with it (near misses such as "gate status?" and "!help" do occur).
/// <c>synthetic-1k.json</c> is committed; bigger batches are made on demand (10,000 events is about 5 MB).
/// Busy rooms hold more events than the bot's filter limit (50) with <c>limited: false</c>, as a sync with a larger
/// limit would: these batches stress parsing and dispatch, not the filter.
/// </summary>
public static class SyntheticSync
{
    public const string OneThousandFile = "synthetic-1k";

    private static readonly string[] Commands =
    [
        "!gate status", "!gate show", "!gate help", "!gate members", "!gate stats", "!gate set 1000 sats per 30d",
        "!gate plan add week 300 sats per 7d", "!gate grace 2d", "!gate grant @user0007:localhost 30d", "!gate off", "!gate on",
    ];

    private static readonly string[] Chatter =
    [
        "hello everyone", "good morning", "has anyone tried the new release?", "brb", "lol", "that makes sense",
        "can someone invite me to the other room?", "gate status?", "!help", "the invoice expired, what now?",
        "thanks!", "I paid but nothing happened yet", "see you tomorrow", "+1", "which node do you run?",
        "is the lightning channel open?", "how long is a subscription?", "welcome 👋", "<b>not html</b> & friends",
    ];

    /// <summary>The synthetic batch for this many timeline events across <paramref name="roomCount"/> joined rooms, as indented JSON.</summary>
    /// <param name="recordings">Where the recorded fixtures are read; by default the copy beside the test assembly.</param>
    public static string Generate(int eventCount, int roomCount = 50, int seed = 1, string? recordings = null)
    {
        recordings ??= SyncFixtures.Directory;
        ArgumentOutOfRangeException.ThrowIfLessThan(eventCount, 100);
        ArgumentOutOfRangeException.ThrowIfLessThan(roomCount, 1);
        var random = new Random(seed);

        // Templates from the recording: one ordinary message, one notice, one member event, and the room around them.
        var timelineFixture = JsonNode.Parse(SyncFixtures.Text("timeline", recordings))!;
        var recordedRoom = FirstRoom(timelineFixture);
        var recordedEvents = recordedRoom["timeline"]!["events"]!.AsArray();
        var textTemplate = recordedEvents.First(e => e!["content"]!["msgtype"]!.GetValue<string>() == "m.text")!;
        var noticeTemplate = recordedEvents.First(e => e!["content"]!["msgtype"]!.GetValue<string>() == "m.notice")!;
        var memberTemplate = FirstRoom(JsonNode.Parse(SyncFixtures.Text("leave", recordings))!)["timeline"]!["events"]![0]!;
        var knockTemplate = FirstRoom(JsonNode.Parse(SyncFixtures.Text("knock-seen-by-member", recordings))!)["timeline"]!["events"]![0]!;

        var rooms = Enumerable.Range(0, roomCount).Select(i => RoomId(random, i)).ToArray();
        var users = Enumerable.Range(0, 200).Select(i => $"@user{i.ToString("D4", CultureInfo.InvariantCulture)}:localhost").ToArray();
        const string bot = "@doorman:localhost";

        // Which positions hold a command: exactly 1 %, spread at random.
        var commandCount = eventCount / 100;
        var commandAt = new HashSet<int>();
        while (commandAt.Count < commandCount)
        {
            commandAt.Add(random.Next(eventCount));
        }

        // Busy rooms and quiet ones: room r gets weight 1/(r+1) (Zipf-like), every room at least one event.
        var weights = Enumerable.Range(0, roomCount).Select(r => 1.0 / (r + 1)).ToArray();
        var total = weights.Sum();
        var timelines = rooms.Select(_ => new JsonArray()).ToArray();
        var now = 1_795_600_000_000L;
        var ts = now - (eventCount * 1_500L);
        for (var i = 0; i < eventCount; i++)
        {
            var room = i < roomCount ? i : Pick(random, weights, total);
            ts += random.Next(1, 3_000);
            var sender = users[random.Next(users.Length)];
            JsonObject ev;
            if (commandAt.Contains(i))
            {
                ev = Message(textTemplate, random, sender, ts, now, Commands[random.Next(Commands.Length)]);
            }
            else
            {
                var kind = random.Next(100);
                ev = kind switch
                {
                    < 85 => Message(textTemplate, random, sender, ts, now, Chatter[random.Next(Chatter.Length)]),
                    < 91 => Notice(noticeTemplate, random, bot, ts, now, i),
                    < 99 => Member(memberTemplate, random, sender, ts, now, random.Next(3) == 0 ? "leave" : "join"),
                    _ => Member(knockTemplate, random, sender, ts, now, "knock"),
                };
            }

            timelines[room].Add(ev);
        }

        var join = new JsonObject();
        for (var r = 0; r < roomCount; r++)
        {
            var room = recordedRoom.DeepClone().AsObject();
            var timeline = room["timeline"]!.AsObject();
            timeline["events"] = timelines[r];
            timeline["prev_batch"] = StreamToken(random);
            timeline["limited"] = false;
            room["unread_notifications"] = new JsonObject { ["notification_count"] = timelines[r].Count, ["highlight_count"] = 0 };
            join[rooms[r]] = room;
        }

        var sync = new JsonObject
        {
            ["next_batch"] = StreamToken(random),
            ["device_one_time_keys_count"] = timelineFixture["device_one_time_keys_count"]?.DeepClone(),
            ["device_unused_fallback_key_types"] = new JsonArray(),
            ["rooms"] = new JsonObject { ["join"] = join },
        };
        return sync.ToJsonString(SyncFixtures.WriteOptions) + "\n";
    }

    /// <summary>Writes <c>synthetic-1k.json</c> into the source tree from the recordings there.</summary>
    public static void RegenerateCommitted() =>
        File.WriteAllText(Path.Combine(SyncFixtures.SourceDirectory, OneThousandFile + ".json"), Generate(1_000, recordings: SyncFixtures.SourceDirectory));

    /// <summary>The committed 1,000-event batch, or a fresh one for any other size.</summary>
    public static string Load(int eventCount) => eventCount == 1_000 ? SyncFixtures.Text(OneThousandFile) : Generate(eventCount);

    private static JsonObject FirstRoom(JsonNode sync) => sync["rooms"]!["join"]!.AsObject().First().Value!.AsObject();

    private static int Pick(Random random, double[] weights, double total)
    {
        var x = random.NextDouble() * total;
        for (var r = 0; r < weights.Length; r++)
        {
            x -= weights[r];
            if (x <= 0)
            {
                return r;
            }
        }

        return weights.Length - 1;
    }

    private static JsonObject Message(JsonNode template, Random random, string sender, long ts, long now, string body)
    {
        var ev = Stamp(template, random, sender, ts, now);
        ev["content"] = new JsonObject { ["body"] = body, ["msgtype"] = "m.text" };
        return ev;
    }

    private static JsonObject Notice(JsonNode template, Random random, string bot, long ts, long now, int index)
    {
        var ev = Stamp(template, random, bot, ts, now);
        var text = $"Invoice {index.ToString(CultureInfo.InvariantCulture)}: pay lnbcrt10u1p{Token(random, 40).ToLowerInvariant()} within 10 minutes";
        ev["content"] = new JsonObject
        {
            ["msgtype"] = "m.notice", ["body"] = text, ["format"] = "org.matrix.custom.html",
            ["formatted_body"] = $"<p>{text}</p>", ["m.mentions"] = new JsonObject(),
        };
        ev["unsigned"]!["transaction_id"] = "doorman-" + index.ToString(CultureInfo.InvariantCulture);
        return ev;
    }

    private static JsonObject Member(JsonNode template, Random random, string user, long ts, long now, string membership)
    {
        var ev = Stamp(template, random, user, ts, now);
        ev["state_key"] = user;
        var content = new JsonObject { ["displayname"] = user[1..user.IndexOf(':', StringComparison.Ordinal)], ["membership"] = membership };
        if (membership == "knock")
        {
            content["reason"] = "I would like to subscribe";
        }

        ev["content"] = content;
        ev["unsigned"]!.AsObject().Remove("prev_content");
        ev["unsigned"]!.AsObject().Remove("prev_sender");
        ev["unsigned"]!.AsObject().Remove("replaces_state");
        return ev;
    }

    /// <summary>A copy of the template with a fresh event id, sender, timestamp and age; content is set by the caller.</summary>
    private static JsonObject Stamp(JsonNode template, Random random, string sender, long ts, long now)
    {
        var ev = template.DeepClone().AsObject();
        ev["event_id"] = "$" + Token(random, 43);
        ev["origin_server_ts"] = ts;
        ev["sender"] = sender;
        var unsigned = ev["unsigned"]?.AsObject() ?? [];
        unsigned.Remove("transaction_id");
        unsigned["age"] = now - ts;
        ev["unsigned"] = unsigned;
        return ev;
    }

    /// <summary>Room v11 ids (<c>!opaque:localhost</c>) for most rooms, room v12 ids (hash, no server) for every fifth.</summary>
    private static string RoomId(Random random, int index) =>
        index % 5 == 4 ? "!" + Token(random, 43) : "!" + Letters(random, 18) + ":localhost";

    private static string StreamToken(Random random) =>
        $"s{random.Next(1_000, 100_000).ToString(CultureInfo.InvariantCulture)}_174_6_4_14_1_1_315_0_1_1_1_1_1";

    private static string Token(Random random, int length)
    {
        const string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        return string.Create(length, random, (span, r) =>
        {
            for (var i = 0; i < span.Length; i++)
            {
                span[i] = alphabet[r.Next(alphabet.Length)];
            }
        });
    }

    private static string Letters(Random random, int length)
    {
        const string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        return string.Create(length, random, (span, r) =>
        {
            for (var i = 0; i < span.Length; i++)
            {
                span[i] = alphabet[r.Next(alphabet.Length)];
            }
        });
    }
}
