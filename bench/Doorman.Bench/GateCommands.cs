using Doorman.Matrix.Events;
using Doorman.Matrix.Sync;

namespace Doorman.Bench;

/// <summary>A <c>!gate</c> command seen in a room's timeline: what a reply needs.</summary>
public readonly record struct GateCommand(string RoomId, string EventId, string Body);

/// <summary>
/// The dispatch a bot's handler does on each batch: walk the joined rooms' timelines and pick the
/// <c>m.room.message</c> events of others whose <c>m.text</c> body starts with the prefix. Notices are never
/// commands (CS API §"m.notice": bots must not answer them), and neither are the bot's own messages.
/// </summary>
public static class GateCommands
{
    public const string Prefix = "!gate";

    public static void Collect(SyncResponse response, string ownUserId, List<GateCommand> into)
    {
        if (response.Rooms?.Join is not { } joined)
            return;
        foreach (var (roomId, room) in joined)
        {
            if (room.Timeline?.Events is not { } events)
                continue;
            foreach (var e in events)
            {
                if (e.Type != EventTypes.Message || e.IsState || e.EventId is null || e.Sender == ownUserId)
                    continue;
                if (e.ContentString("msgtype") != MessageContent.Text || e.ContentString("body") is not { } body
                    || !body.StartsWith(Prefix, StringComparison.Ordinal))
                    continue;
                into.Add(new GateCommand(roomId, e.EventId, body));
            }
        }
    }
}
