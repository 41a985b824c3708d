using System.Globalization;
using System.Text;
using System.Text.Json;
using CsCheck;
using Doorman.Matrix;
using Doorman.Matrix.Events;
using Doorman.Matrix.Sync;

namespace Doorman.Tests.Matrix;

/// <summary>
/// Generated /sync responses (CsCheck): 1,000 of them, 10 events each, spread over every place a response carries
/// events. Each event has each of its fields absent, of the right JSON type, or any JSON value at all, in any order,
/// sometimes repeated, among unknown fields; some elements are not objects. The generator knows, from the JSON it
/// wrote, which events are well formed (CS API v1.12 §"Room Event Format" types: <c>type</c>, <c>sender</c> strings;
/// <c>event_id</c>, <c>state_key</c> strings or null; <c>origin_server_ts</c> an integer; <c>content</c> an object;
/// <c>unsigned</c> an object or null with <c>age</c> an integer or null and <c>transaction_id</c> a string or null).
/// Reading never throws, every well-formed event arrives with its last value of each field and in order, and
/// every other one is counted.
/// </summary>
public sealed class MalformedEventPropertyTests
{
    private const int Syncs = 1_000;
    private const int EventsPerSync = 10;

    /// <summary>Where events go: (room section, room id, list), global account data first.</summary>
    private static readonly (string Section, string? Room, string List)[] Places =
    [
        ("", null, "account_data"),
        ("join", "!a:localhost", "timeline"),
        ("join", "!a:localhost", "state"),
        ("join", "!a:localhost", "account_data"),
        ("join", "!b:localhost", "timeline"),
        ("invite", "!c:localhost", "invite_state"),
        ("knock", "!d:localhost", "knock_state"),
        ("leave", "!e:localhost", "timeline"),
        ("leave", "!e:localhost", "state"),
    ];

    [Fact]
    public void Reading_never_throws_and_every_well_formed_event_arrives_in_order()
    {
        var generated = 0;
        Check.Sample(GenSync, sync =>
        {
            Interlocked.Add(ref generated, sync.Events.Length);
            var response = JsonSerializer.Deserialize(Encoding.UTF8.GetBytes(sync.Text), MatrixJson.SyncResponse)!;

            for (var place = 0; place < Places.Length; place++)
            {
                var (list, skipped) = Read(response, Places[place]);
                var sent = sync.Events.Where(e => e.Place == place).Select(e => e.Element).ToList();
                var wellFormed = sent.Where(IsWellFormed).ToList();
                Assert.Equal(wellFormed.Count, list.Count);
                for (var i = 0; i < list.Count; i++)
                    AssertDelivered(wellFormed[i], list[i]);
                Assert.Equal(sent.Count - wellFormed.Count, skipped);
            }

            var timeline = response.Rooms!.Join!["!b:localhost"].Timeline!;
            Assert.Equal(sync.Limited is { Kind: Kind.Bool, Text: "true" }, timeline.Limited);
            Assert.Equal(sync.PrevBatch.Kind == Kind.String ? sync.PrevBatch.Str : null, timeline.PrevBatch);
            Assert.Equal(sync.Events.Count(e => !IsWellFormed(e.Element)), response.CountSkippedEvents().Count);
        }, iter: Syncs, threads: 1, print: sync => sync.Text);

        Assert.Equal(Syncs * EventsPerSync, generated);
    }

    // ---- What a reader must make of the generated JSON ----

    private static (List<ClientEvent> Events, int Skipped) Read(SyncResponse response, (string Section, string? Room, string List) place)
    {
        var rooms = response.Rooms!;
        return place switch
        {
            ("", _, _) => (response.AccountData!.Events!, response.AccountData.Skipped),
            ("join", { } r, "timeline") => (rooms.Join![r].Timeline!.Events!, rooms.Join[r].Timeline!.Skipped),
            ("join", { } r, "state") => (rooms.Join![r].State!.Events!, rooms.Join[r].State!.Skipped),
            ("join", { } r, "account_data") => (rooms.Join![r].AccountData!.Events!, rooms.Join[r].AccountData!.Skipped),
            ("invite", { } r, _) => (rooms.Invite![r].InviteState!.Events!, rooms.Invite[r].InviteState!.Skipped),
            ("knock", { } r, _) => (rooms.Knock![r].KnockState!.Events!, rooms.Knock[r].KnockState!.Skipped),
            ("leave", { } r, "timeline") => (rooms.Leave![r].Timeline!.Events!, rooms.Leave[r].Timeline!.Skipped),
            ("leave", { } r, "state") => (rooms.Leave![r].State!.Events!, rooms.Leave[r].State!.Skipped),
            _ => throw new InvalidOperationException(place.ToString()),
        };
    }

    private static bool IsWellFormed(Json element) =>
        element.Kind == Kind.Object && element.Members!.All(m => m.Key switch
        {
            "type" or "sender" => m.Value.Kind == Kind.String,
            "event_id" or "state_key" => m.Value.Kind is Kind.String or Kind.Null,
            "origin_server_ts" => m.Value.Kind == Kind.Integer,
            "content" => m.Value.Kind == Kind.Object,
            "unsigned" => m.Value.Kind == Kind.Null || (m.Value.Kind == Kind.Object && m.Value.Members!.All(u => u.Key switch
            {
                "age" => u.Value.Kind is Kind.Integer or Kind.Null,
                "transaction_id" => u.Value.Kind is Kind.String or Kind.Null,
                _ => true,
            })),
            _ => true,
        });

    private static void AssertDelivered(Json sent, ClientEvent e)
    {
        // The last of a repeated field wins.
        Json? Last(Json obj, string key) => obj.Members!.LastOrDefault(m => m.Key == key).Value;
        Assert.Equal(Last(sent, "event_id")?.Str, e.EventId);
        Assert.Equal(Last(sent, "type")?.Str ?? "", e.Type);
        Assert.Equal(Last(sent, "sender")?.Str ?? "", e.Sender);
        Assert.Equal(Last(sent, "state_key")?.Str, e.StateKey);
        Assert.Equal(Last(sent, "origin_server_ts")?.Int ?? 0, e.OriginServerTs);
        Assert.Equal(Last(sent, "content")?.Text, e.Content.ValueKind == JsonValueKind.Undefined ? null : e.Content.GetRawText());
        var unsigned = Last(sent, "unsigned");
        if (unsigned is null || unsigned.Kind == Kind.Null)
        {
            Assert.Null(e.UnsignedData);
            return;
        }
        Assert.NotNull(e.UnsignedData);
        var age = Last(unsigned, "age");
        Assert.Equal(age is { Kind: Kind.Integer } ? age.Int : null, e.UnsignedData.Age);
        Assert.Equal(Last(unsigned, "transaction_id")?.Str, e.UnsignedData.TransactionId);
    }

    // ---- Generators ----

    private enum Kind { Null, Bool, Integer, NotInteger, String, NotText, Array, Object }

    /// <summary>A JSON value as text, with what a reader makes of it: the string or integer, or the members of an object.</summary>
    private sealed record Json(string Text, Kind Kind, string? Str = null, long? Int = null, IReadOnlyList<KeyValuePair<string, Json>>? Members = null);

    private sealed record PlacedEvent(int Place, Json Element);

    private sealed record Sync(string Text, PlacedEvent[] Events, Json Limited, Json PrevBatch);

    /// <summary>A string as the serializer writes it (a lone surrogate becomes U+FFFD; the escapes below keep theirs).</summary>
    private static Json StringValue(string s)
    {
        var text = JsonSerializer.Serialize(s);
        return new(text, Kind.String, JsonSerializer.Deserialize<string>(text));
    }

    private static Json ObjectValue(IEnumerable<KeyValuePair<string, Json>> members)
    {
        var list = members.ToList();
        return new Json("{" + string.Join(",", list.Select(m => JsonSerializer.Serialize(m.Key) + ":" + m.Value.Text)) + "}", Kind.Object, Members: list);
    }

    private static readonly Gen<Json> GenString = Gen.Frequency(
        (3, Gen.OneOf("", "m.room.message", "m.room.member", "m.room.encrypted", "m.room.create", "@alice:localhost", "$e:localhost", "s72",
            "caf\u00e9 \"q\" <b>\\", "\U0001F44B", "\uD800", "a\uDC00b").Select(StringValue)),
        (2, Gen.String[0, 10].Select(StringValue)),
        // The same text escaped: the reader must unescape, and still know the common types.
        (1, Gen.OneOf(("\"m.room.mess\\u0061ge\"", "m.room.message"), ("\"@a\\/b\"", "@a/b"), ("\"\\ud83d\\udc4b\"", "\U0001F44B"))
            .Select(p => new Json(p.Item1, Kind.String, p.Item2))),
        // Not text: the reader accepts these and fails only when the value is taken.
        (1, Gen.OneOf("\"\\uDFFF\"", "\"x\\uD800\"", "\"\\uDC00\\uD800\"").Select(t => new Json(t, Kind.NotText))));

    private static readonly Gen<Json> GenNumber = Gen.Frequency(
        (4, Gen.Long.Select(n => new Json(n.ToString(CultureInfo.InvariantCulture), Kind.Integer, Int: n))),
        (2, Gen.Long[0, 1L << 42].Select(n => new Json(n.ToString(CultureInfo.InvariantCulture), Kind.Integer, Int: n))),
        (2, Gen.Select(Gen.Int[-1000, 1000], Gen.Int[0, 99], (i, f) => new Json($"{i}.{f}", Kind.NotInteger))),
        (1, Gen.OneOf("1e3", "-2E+5", "9223372036854775808", "-9223372036854775809", "100000000000000000000000000", "0.0", "-0")
            .Select(t => new Json(t, t == "-0" ? Kind.Integer : Kind.NotInteger, Int: t == "-0" ? 0 : null))));

    private static readonly Gen<Json> GenScalar = Gen.Frequency(
        (1, Gen.Const(new Json("null", Kind.Null))),
        (1, Gen.Bool.Select(b => new Json(b ? "true" : "false", Kind.Bool))),
        (3, GenNumber),
        (3, GenString));

    private static readonly Gen<string> GenKey = Gen.Frequency(
        (4, Gen.OneOf("type", "sender", "event_id", "state_key", "origin_server_ts", "content", "unsigned", "age", "transaction_id",
            "redacted_because", "body", "msgtype", "membership", "room_id", "Type", "events", "")),
        (1, Gen.String[0, 6]));

    private static Gen<Json> GenValue(int depth) => depth == 0
        ? GenScalar
        : Gen.Frequency(
            (6, GenScalar),
            (1, GenValue(depth - 1).Array[0, 4].Select(items => new Json("[" + string.Join(",", items.Select(i => i.Text)) + "]", Kind.Array))),
            (2, Gen.Select(GenKey, GenValue(depth - 1), (k, v) => KeyValuePair.Create(k, v)).Array[0, 4].Select(ObjectValue)));

    private static readonly Gen<Json> GenAny = GenValue(3);

    /// <summary>A field's value: usually of its type, sometimes anything at all.</summary>
    private static Gen<Json> Field(Gen<Json> good) => Gen.Frequency((12, good), (1, GenAny));

    private static readonly Gen<Json> GenUnsigned = Gen.Frequency(
        (1, Gen.Const(new Json("null", Kind.Null))),
        (4, Gen.Select(
            Field(Gen.Frequency((4, GenNumber.Where(n => n.Kind == Kind.Integer)), (1, Gen.Const(new Json("null", Kind.Null))))).Array[0, 1],
            Field(GenString.Where(s => s.Kind == Kind.String)).Array[0, 1],
            GenAny.Array[0, 1],
            (age, txn, redacted) => ObjectValue(age.Select(v => KeyValuePair.Create("age", v))
                .Concat(txn.Select(v => KeyValuePair.Create("transaction_id", v)))
                .Concat(redacted.Select(v => KeyValuePair.Create("redacted_because", v)))))));

    private static readonly Gen<Json> GoodString = GenString.Where(s => s.Kind == Kind.String);

    private static readonly Gen<Json> GoodOptionalString = Gen.Frequency((5, GoodString), (1, Gen.Const(new Json("null", Kind.Null))));

    /// <summary>An event: its fields, each present with some chance, in a random order, one sometimes repeated, among unknown fields.</summary>
    private static readonly Gen<Json> GenEvent =
        from type in Field(GoodString).Array[0, 1]
        from sender in Field(GoodString).Array[0, 1]
        from eventId in Field(GoodOptionalString).Array[0, 1]
        from stateKey in Field(GoodOptionalString).Array[0, 1]
        from ts in Field(GenNumber.Where(n => n.Kind == Kind.Integer)).Array[0, 1]
        from content in Field(GenValue(2).Where(v => v.Kind == Kind.Object)).Array[0, 1]
        from unsigned in Field(GenUnsigned).Array[0, 1]
        from unknown in Gen.Select(GenKey, GenAny, (k, v) => KeyValuePair.Create(k, v)).Array[0, 2]
        from repeat in Gen.Select(Gen.OneOf("type", "sender", "origin_server_ts", "content", "state_key"), GenAny, (k, v) => KeyValuePair.Create(k, v)).Array[0, 1]
        let fields = type.Select(v => KeyValuePair.Create("type", v))
            .Concat(sender.Select(v => KeyValuePair.Create("sender", v)))
            .Concat(eventId.Select(v => KeyValuePair.Create("event_id", v)))
            .Concat(stateKey.Select(v => KeyValuePair.Create("state_key", v)))
            .Concat(ts.Select(v => KeyValuePair.Create("origin_server_ts", v)))
            .Concat(content.Select(v => KeyValuePair.Create("content", v)))
            .Concat(unsigned.Select(v => KeyValuePair.Create("unsigned", v)))
            .Concat(unknown)
            .ToList()
        from order in Gen.Int.Array[fields.Count]
        select ObjectValue(fields.Zip(order).OrderBy(p => p.Second).Select(p => p.First).Concat(repeat));

    /// <summary>Mostly events; now and then a list element that is not an object at all.</summary>
    private static readonly Gen<Json> GenElement = Gen.Frequency((19, GenEvent), (1, GenAny.Where(v => v.Kind != Kind.Object)));

    private static readonly Gen<Sync> GenSync =
        from events in Gen.Select(Gen.Int[0, Places.Length - 1], GenElement, (place, element) => new PlacedEvent(place, element)).Array[EventsPerSync]
        from limited in GenScalar
        from prevBatch in GenScalar
        select new Sync(SyncText(events, limited, prevBatch), events, limited, prevBatch);

    private static string SyncText(PlacedEvent[] events, Json limited, Json prevBatch)
    {
        string List(int place, string extra = "") =>
            "{\"events\":[" + string.Join(",", events.Where(e => e.Place == place).Select(e => e.Element.Text)) + "]" + extra + "}";

        return "{\"next_batch\":\"s1\",\"account_data\":" + List(0) + ",\"rooms\":{"
            + "\"join\":{\"!a:localhost\":{\"timeline\":" + List(1, ",\"limited\":true,\"prev_batch\":\"s0\"") + ",\"state\":" + List(2)
            + ",\"account_data\":" + List(3) + ",\"summary\":{}},"
            + "\"!b:localhost\":{\"timeline\":" + List(4, ",\"limited\":" + limited.Text + ",\"prev_batch\":" + prevBatch.Text) + "}},"
            + "\"invite\":{\"!c:localhost\":{\"invite_state\":" + List(5) + "}},"
            + "\"knock\":{\"!d:localhost\":{\"knock_state\":" + List(6) + "}},"
            + "\"leave\":{\"!e:localhost\":{\"timeline\":" + List(7, ",\"limited\":false") + ",\"state\":" + List(8) + "}}}}";
    }
}
