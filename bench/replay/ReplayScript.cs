using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Doorman.Tests.Fixtures;

namespace Doorman.Replay;

/// <summary>What the replay serves and expects: the batches, in order, and the commands among them.</summary>
/// <param name="Batches">Batch <c>i</c> (0-based) answers <c>since=t{i+1}</c> and names <c>t{i+2}</c> as its <c>next_batch</c>.</param>
/// <param name="Commands">Each command's event id, with its room and the index of the batch that carries it.</param>
public sealed record ReplayScript(
    IReadOnlyList<byte[]> Batches,
    IReadOnlyDictionary<string, (string RoomId, int Batch)> Commands,
    IReadOnlyList<string> RoomIds,
    int EventCount,
    byte[] Initial)
{
    public const string UserId = "@doorman:localhost";

    /// <summary>The token that follows the last batch: asking for it means the bot has handled everything.</summary>
    public string EndToken => Token(Batches.Count + 1);

    public static string Token(int n) => "t" + n.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// <paramref name="batches"/> synthetic batches (tests/Doorman.Tests/Fixtures/SyntheticSync.cs) of
    /// <paramref name="eventsPerBatch"/> events each, one seed per batch so every event id is new, all in the same
    /// rooms (the first batch's), compact as a homeserver sends them. With <paramref name="commands"/> false the
    /// <c>!gate</c> bodies become <c>?gate</c>: the same bytes, and nothing to answer.
    /// </summary>
    public static ReplayScript Generate(int batches, int eventsPerBatch, int rooms, int seed, bool commands)
    {
        var made = new (byte[] Bytes, List<(string EventId, string RoomId)> Commands)[batches];
        string[]? roomIds = null;
        var first = JsonNode.Parse(SyntheticSync.Generate(eventsPerBatch, rooms, seed))!;
        roomIds = [.. first["rooms"]!["join"]!.AsObject().Select(p => p.Key)];
        Parallel.For(0, batches, i =>
        {
            var sync = i == 0 ? first : JsonNode.Parse(SyntheticSync.Generate(eventsPerBatch, rooms, seed + i))!;
            made[i] = Prepare(sync, roomIds, Token(i + 2), commands);
        });

        var history = JsonNode.Parse(SyntheticSync.Generate(eventsPerBatch, rooms, seed + batches))!;
        Prepare(history, roomIds, Token(1), commands: false);
        foreach (var (_, room) in history["rooms"]!["join"]!.AsObject())
        {
            var timeline = room!["timeline"]!.AsObject();
            var events = timeline["events"]!.AsArray();
            while (events.Count > HistoryPerRoom)
                events.RemoveAt(0);
            timeline["limited"] = true;
        }

        var all = new Dictionary<string, (string, int)>(StringComparer.Ordinal);
        for (var i = 0; i < batches; i++)
        {
            foreach (var (eventId, roomId) in made[i].Commands)
                all.Add(eventId, (roomId, i));
        }
        return new ReplayScript([.. made.Select(m => m.Bytes)], all, roomIds, batches * eventsPerBatch, CompactSync.ToUtf8(history));
    }

    private static (byte[], List<(string, string)>) Prepare(JsonNode sync, string[] roomIds, string nextBatch, bool commands)
    {
        var join = sync["rooms"]!["join"]!.AsObject();
        var renamed = new JsonObject();
        var found = new List<(string, string)>();
        var rooms = join.Select(p => p.Value!).ToList();
        join.Clear(); // detaches the rooms, to be added again under the shared ids
        for (var r = 0; r < rooms.Count; r++)
        {
            var room = rooms[r];
            var roomId = roomIds[r];
            foreach (var e in room!["timeline"]!["events"]!.AsArray())
            {
                if ((string?)e!["type"] != "m.room.message" || e["content"]!["body"] is not { } body)
                    continue;
                var text = body.GetValue<string>();
                if (!text.StartsWith("!gate", StringComparison.Ordinal))
                    continue;
                if (commands)
                    found.Add(((string)e["event_id"]!, roomId));
                else
                    e["content"]!["body"] = "?" + text[1..];
            }
            renamed[roomId] = room;
        }
        sync["rooms"]!["join"] = renamed;
        sync["next_batch"] = nextBatch;
        return (CompactSync.ToUtf8(sync), found);
    }

    /// <summary>
    /// The first sync of the session, as a homeserver answers it: every room with its recent history (the last
    /// <see cref="HistoryPerRoom"/> events, <c>limited</c>, from a batch of its own, without commands). Bots parse
    /// it and take nothing in it for a command: Doorman.Matrix's loop marks it initial, and no command is in it.
    /// </summary>
    public const int HistoryPerRoom = 10;

    /// <summary>What a long-poll that timed out answers: nothing new, the same token.</summary>
    public byte[] Empty(string since) => Encoding.UTF8.GetBytes($$"""{"next_batch":"{{since}}"}""");
}
