using Doorman.Matrix.Events;
using Doorman.Tests.Peers;
using Doorman.Sandbox.Players;
using Xunit.Abstractions;

namespace Doorman.Tests.EndToEnd;

/// <summary>
/// docs/owners.md and docs/members.md show real conversations with the bot, recorded here on the sandbox homeserver
/// and Lightning node. With <c>DOORMAN_WRITE_DOCS=1</c> the test writes them between the transcript markers; otherwise
/// it fails when what the bot says has drifted from what the docs show.
/// </summary>
public sealed class DocsTranscriptTests(ITestOutputHelper output) : SandboxScenarioTests(output)
{
    public const string WriteVariable = "DOORMAN_WRITE_DOCS";
    public const string Begin = "<!-- transcript:begin -->";
    public const string End = "<!-- transcript:end -->";

    [Fact]
    public async Task The_owners_guide_shows_what_the_bot_says()
    {
        var (roomId, alias) = await StartAsync();
        using var ann = await S.AddPlayerAsync("ann");
        var ownerDm = await OpenDmAsync(S.Owner);
        var memberDm = await OpenDmAsync(S.Member);

        var t = new DocsTranscript(S);
        var room = t.Watch(S.Owner, roomId, "in #vip");
        var dm = t.Watch(S.Owner, ownerDm, "DM");
        t.Watch(S.Member, memberDm, "DM");

        t.Flow("Inviting the bot", "The owner invites the bot into the room and gives it power level 50, to invite and remove members.");
        await t.DoAsync(room, "@owner invites the bot into #vip and gives it power level 50", () => BotJoinsAsync(roomId), replies: 1);

        t.Flow("Gating a room", "The owner sets the price in the room. Everyone already in the room is exempt: the bot never removes them.");
        await t.SayAsync(room, "!gate set 1000 sats per 30d");

        t.Flow("Plans, a free trial, grace and reminders", "A second plan, a trial, two days' grace after the end, reminders five days ahead, and what the room looks like now.");
        await t.SayAsync(room, "!gate plan add yearly 10000 sats per 365d");
        await t.SayAsync(room, "!gate trial 3d");
        await t.SayAsync(room, "!gate grace 2d");
        await t.SayAsync(room, "!gate remind 5d");
        await t.SayAsync(room, "!gate show");

        t.Flow("Help, and a mistake", "Help on one command; a command the bot cannot read gets the right form back.");
        await t.SayAsync(room, "!gate help set");
        await t.SayAsync(room, "!gate trial 3 days");

        t.Flow("Stopping and resuming sales", "Members keep their time while the room is off.");
        await t.SayAsync(room, "!gate off");
        await t.SayAsync(room, "!gate on");

        t.Flow("Granting, revoking, exempting",
            "A grant invites the person and tells them in their DM; a revoke ends their time and removes them; an exempt person is never removed.");
        await t.SayAsync(room, $"!gate grant {S.Member.UserId} 30d", replies: 3);
        await t.SayAsync(room, $"!gate revoke {S.Member.UserId}", replies: 2);
        await t.SayAsync(room, $"!gate exempt {ann.UserId}");

        t.Flow("From a direct message", "In a DM with the bot, an owner command names the room first.");
        await t.SayAsync(dm, $"members {alias}");

        t.Flow("Members, figures and the log go to your DM", "Given in the room, these answer in the owner's DM and leave a pointer in the room.");
        await t.SayAsync(room, "!gate members", replies: 2);
        await t.SayAsync(room, "!gate stats", replies: 2);
        await t.SayAsync(room, "!gate log", replies: 2);

        CheckOrWrite("owners.md", t.Markdown);
    }

    [Fact]
    public async Task The_members_guide_shows_what_the_bot_says()
    {
        var (roomId, alias) = await StartAsync();
        var greeted = S.Owner.Mark;
        await BotJoinsAsync(roomId);
        await S.Owner.WaitForAsync(roomId, e => e.Type == EventTypes.Message && e.Sender == S.BotUserId, Scenario.Patience, "the bot's greeting", greeted);
        foreach (var command in new[] { "!gate set 1000 sats per 30d", "!gate plan add yearly 10000 sats per 365d", "!gate trial 3d" })
        {
            var mark = S.Owner.Mark;
            await S.Owner.SayAsync(roomId, command);
            await S.Owner.WaitForAsync(roomId, e => e.Type == EventTypes.Message && e.Sender == S.BotUserId, Scenario.Patience, "the bot's answer to " + command, mark);
        }
        var memberDm = await OpenDmAsync(S.Member);

        var t = new DocsTranscript(S);
        var dm = t.Watch(S.Member, memberDm, "DM");

        t.Flow("Plans", "What the room sells, and where the member stands.");
        await t.SayAsync(dm, $"plans {alias}");

        t.Flow("Joining", "An invoice for the default plan, then for a named plan; each comes with its QR code.");
        var invoices = S.Member.Mark;
        await t.SayAsync(dm, $"join {alias}", replies: 2);
        await t.SayAsync(dm, $"join {alias} yearly", replies: 2);
        var yearly = S.Member.Seen.Skip(invoices).Select(e => Player.FindInvoice(Player.BodyOf(e.Event))).Last(i => i is not null)!;

        t.Flow("The free trial", "Once per person, and never for anyone who has paid for the room.");
        await t.SayAsync(dm, $"join {alias} trial", replies: 2);

        t.Flow("Paying", "The member pays the yearly invoice in their wallet; the bot lets them in within seconds.");
        await t.DoAsync(dm, "@member pays the yearly invoice", () => S.Payments.PayAsync(yearly), replies: 1);

        t.Flow("Status and reminders", "The member's rooms and times; reminders before the end can be turned off per room.");
        await t.SayAsync(dm, "status");
        await t.SayAsync(dm, $"reminders off {alias}");

        t.Flow("Help", "Every command, as the bot lists them in a DM.");
        await t.SayAsync(dm, "help");

        CheckOrWrite("members.md", t.Markdown);
    }

    /// <summary>The bot, with room for a whole conversation's commands, and the owner's room #vip.</summary>
    private async Task<(string RoomId, string Alias)> StartAsync()
    {
        await S.StartBotAsync(settings => settings["Limits:CommandBurst"] = "100");
        var roomId = await S.Owner.CreateRoomAsync("vip", name: "VIP lounge");
        return (roomId, "#vip:" + Hs.ServerName);
    }

    /// <summary>The owner invites the bot, waits until it has joined, and gives it the power to invite and remove.</summary>
    private async Task BotJoinsAsync(string roomId)
    {
        await S.Owner.Client.InviteAsync(roomId, S.BotUserId, null, default);
        await S.Owner.WaitForMembershipAsync(roomId, S.BotUserId, Membership.Join, Scenario.Patience);
        await S.Owner.SetPowerLevelAsync(roomId, S.BotUserId, 50);
    }

    private async Task<string> OpenDmAsync(Player player)
    {
        var dm = await player.OpenDirectMessageAsync(S.BotUserId);
        await player.WaitForMembershipAsync(dm, S.BotUserId, Membership.Join, Scenario.Patience);
        return dm;
    }

    /// <summary>Writes the transcript into docs/<paramref name="file"/> between the markers, or checks it is there as written.</summary>
    private static void CheckOrWrite(string file, string transcript)
    {
        var path = Path.Combine(JsPeerEnvironment.RepoRoot, "docs", file);
        var document = File.ReadAllText(path).ReplaceLineEndings("\n");
        var begin = document.IndexOf(Begin, StringComparison.Ordinal);
        var end = document.IndexOf(End, StringComparison.Ordinal);
        Assert.True(begin >= 0 && end > begin, $"docs/{file} has no {Begin} … {End} markers");
        var start = begin + Begin.Length;
        var committed = document[start..end].Trim('\n') + "\n";
        if (Environment.GetEnvironmentVariable(WriteVariable) == "1")
        {
            File.WriteAllText(path, document[..start] + "\n\n" + transcript + "\n" + document[end..]);
            return;
        }
        if (committed == transcript)
            return;
        var want = transcript.Split('\n');
        var have = committed.Split('\n');
        var line = Enumerable.Range(0, Math.Max(want.Length, have.Length))
            .First(i => i >= want.Length || i >= have.Length || want[i] != have[i]);
        Assert.Fail($"docs/{file} no longer shows what the bot says. First difference, at line {line + 1} of the transcript:\n"
            + $"  docs: {(line < have.Length ? have[line] : "(end)")}\n  bot:  {(line < want.Length ? want[line] : "(end)")}\n"
            + $"Run {WriteVariable}=1 dotnet test --filter DocsTranscript to update it, and review the diff.");
    }
}
