using System.Text;
using System.Text.RegularExpressions;
using Doorman.Matrix.Events;
using Doorman.Sandbox.Players;

namespace Doorman.Tests.EndToEnd;

/// <summary>
/// Records a conversation with the real bot as Markdown for docs/owners.md and docs/members.md: each flow a heading,
/// a sentence and a fenced block of who said what where. What changes from run to run (invoices, times, room ids) is
/// replaced by placeholders, so the same conversation always gives the same text.
/// </summary>
public sealed partial class DocsTranscript(Scenario scenario)
{
    /// <summary>A room as one person sees it.</summary>
    /// <param name="Label">How a line names it: "in #vip", "DM".</param>
    public sealed record Channel(Player Player, string RoomId, string Label);

    private readonly List<Channel> _channels = [];
    private readonly StringBuilder _markdown = new();
    private readonly List<string> _flow = [];

    /// <summary>Messages the bot sends here are recorded; the first channel of a player is where its own lines are said.</summary>
    public Channel Watch(Player player, string roomId, string label)
    {
        var channel = new Channel(player, roomId, label);
        _channels.Add(channel);
        return channel;
    }

    /// <summary>Starts a flow: a heading and a sentence saying what it shows.</summary>
    public void Flow(string heading, string sentence)
    {
        EndFlow();
        _markdown.Append("### ").Append(heading).Append("\n\n").Append(sentence).Append("\n\n");
    }

    /// <summary>
    /// Someone says <paramref name="text"/> in a channel, and the bot answers with <paramref name="replies"/> messages
    /// across the watched channels (a reply in the room, a DM, a QR code, a note to someone else).
    /// </summary>
    public async Task SayAsync(Channel where, string text, int replies = 1)
    {
        var marks = Marks();
        await where.Player.SayAsync(where.RoomId, text);
        _flow.Add($"{Who(where.Player)} ({where.Label}): {text}");
        await RecordRepliesAsync(where, marks, replies, text);
    }

    /// <summary>Something that is not a message (paying an invoice), described in parentheses, and what the bot says after it.</summary>
    public async Task DoAsync(Channel where, string what, Func<Task> action, int replies)
    {
        var marks = Marks();
        await action();
        _flow.Add($"({what})");
        await RecordRepliesAsync(where, marks, replies, what);
    }

    /// <summary>The Markdown of every flow so far.</summary>
    public string Markdown
    {
        get
        {
            EndFlow();
            return _markdown.ToString().TrimEnd() + "\n";
        }
    }

    private void EndFlow()
    {
        if (_flow.Count == 0)
            return;
        _markdown.Append("```text\n");
        foreach (var line in _flow)
            _markdown.Append(line).Append('\n');
        _markdown.Append("```\n\n");
        _flow.Clear();
    }

    private Dictionary<Player, int> Marks() => _channels.Select(c => c.Player).Distinct().ToDictionary(p => p, p => p.Mark);

    private async Task RecordRepliesAsync(Channel where, Dictionary<Player, int> marks, int expected, string after)
    {
        var deadline = TimeProvider.System.GetUtcNow() + Scenario.Patience;
        while (true)
        {
            var seen = Replies(where, marks);
            if (seen.Count >= expected)
            {
                foreach (var (channel, e) in seen)
                    _flow.Add(Line(where, channel, e));
                scenario.Log($"transcript: {after} → {seen.Count} replies");
                return;
            }
            if (TimeProvider.System.GetUtcNow() > deadline)
                throw new TimeoutException($"after “{after}” the bot sent {seen.Count} of the {expected} messages expected:\n"
                    + string.Join('\n', seen.Select(r => Line(where, r.Channel, r.Event))));
            foreach (var player in marks.Keys)
                await player.PumpAsync(TimeSpan.FromMilliseconds(200));
        }
    }

    /// <summary>The bot's new messages: first those where the line was said, then each other channel in the order watched.</summary>
    private List<(Channel Channel, ClientEvent Event)> Replies(Channel where, Dictionary<Player, int> marks) =>
        [.. _channels.OrderBy(c => c == where ? 0 : 1).SelectMany(c => c.Player.Seen.Skip(marks[c.Player])
            .Where(s => s.RoomId == c.RoomId && s.Event.Type == EventTypes.Message && s.Event.Sender == scenario.BotUserId)
            .Select(s => (c, s.Event)))];

    private static string Line(Channel where, Channel channel, ClientEvent e)
    {
        var body = e.ContentString("msgtype") switch
        {
            MessageContent.Image => $"[image: {Player.BodyOf(e)}]",
            MessageContent.File => $"[file: {Player.BodyOf(e)}]",
            _ => Player.BodyOf(e),
        };
        var speaker = channel == where ? "bot" : $"bot ({channel.Label} to {Who(channel.Player)})";
        var lines = Normalise(body).Split('\n');
        return $"{speaker}: {lines[0]}" + string.Concat(lines.Skip(1).Select(l => "\n    " + l));
    }

    private static string Who(Player player) => "@" + player.Name;

    /// <summary>Invoices, times, dates and room ids as placeholders; the rest exactly as the bot said it.</summary>
    public static string Normalise(string text)
    {
        text = Bolt11().Replace(text, "lnbcrt…");
        text = RoomId().Replace(text, "!room");
        text = Time().Replace(text, "2026-… UTC");
        text = Date().Replace(text, "2026-…");
        text = MomentsAgo().Replace(text, "(moments ago)");
        text = MinutesAhead().Replace(text, "(… minutes from now)");
        return text;
    }

    [GeneratedRegex(@"\bln(?:bcrt|bc|tbs|tb)[0-9a-z]{20,}", RegexOptions.IgnoreCase)]
    private static partial Regex Bolt11();

    [GeneratedRegex(@"![A-Za-z0-9._=/+\-]+:[A-Za-z0-9.\-]+(?::\d+)?")]
    private static partial Regex RoomId();

    [GeneratedRegex(@"\b\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC\b")]
    private static partial Regex Time();

    [GeneratedRegex(@"\b\d{4}-\d{2}-\d{2}\b")]
    private static partial Regex Date();

    /// <summary>Humanizer's words for a moment ago, which depend on how fast the test ran.</summary>
    [GeneratedRegex(@"\((?:now|(?:\d+|one|an?) (?:second|minute)s? ago)\)")]
    private static partial Regex MomentsAgo();

    [GeneratedRegex(@"\((?:\d+|one|an?) (?:second|minute)s? from now\)")]
    private static partial Regex MinutesAhead();
}
