using System.Text.Json;
using System.Text.RegularExpressions;
using System.Text.Json.Nodes;
using Doorman.Matrix.Events;
using Doorman.Sandbox.Players;
using Doorman.Storage;
using Xunit.Abstractions;

namespace Doorman.Tests.EndToEnd;

/// <summary>
/// Abuse is bounded (issue "core and hardening"): an open invoice is sent again rather than made again, a member
/// holds few open orders, no invoice is issued that could not lead to an invite, and a flood of commands is
/// answered once and then ignored, while owners configuring their own rooms are never slowed down.
/// </summary>
public sealed class SandboxAbuseTests(ITestOutputHelper output) : SandboxScenarioTests(output)
{
    private Task<T> QueryAsync<T>(Func<Tx, Task<T>> query) => new Database(S.DatabasePath).ReadAsync(query, default);

    private Task<long> OrdersAsync() => QueryAsync(tx => tx.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM orders"));

    /// <summary>Invoices the Lightning node was asked for: every call of the bot to the payment backend.</summary>
    private int InvoicesMade => S.Lightning.Invoices.Count;

    private static async Task<string> AskAsync(Player who, string room, string say, string answer)
    {
        var mark = who.Mark;
        await who.SayAsync(room, say);
        return Player.BodyOf(await who.WaitForMessageAsync(room, b => b.Contains(answer, StringComparison.Ordinal), Scenario.Patience, mark));
    }

    [Fact]
    public async Task Asking_twice_gets_the_same_invoice_again_and_one_order()
    {
        await S.StartBotAsync();
        var (roomId, alias) = await S.OwnerMakesRoomAsync();
        await S.OwnerGatesAsync(roomId, "10 sats per 30d");
        var dm = await S.MemberOpensDmAsync();
        var first = await S.MemberAsksToJoinAsync(dm, alias);

        var mark = S.Member.Mark;
        await S.Member.SayAsync(dm, "join " + alias);
        var again = Player.BodyOf(await S.Member.WaitForMessageAsync(dm, b => b.Contains("same invoice", StringComparison.Ordinal), Scenario.Patience, mark));
        await S.Member.WaitForAsync(dm, e => e.Sender == S.BotUserId && e.ContentString("msgtype") == "m.image", Scenario.Patience, "the QR code, again", mark);

        Assert.Equal(first, Player.FindInvoice(again));
        Assert.Equal(1, await OrdersAsync());
        Assert.Equal(1, InvoicesMade);
    }

    [Fact]
    public async Task A_fourth_open_order_is_refused_naming_the_three_open()
    {
        await S.StartBotAsync();
        var aliases = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            var (roomId, alias) = await S.OwnerMakesRoomAsync();
            await S.OwnerGatesAsync(roomId, "10 sats per 30d");
            aliases.Add(alias);
        }
        var dm = await S.MemberOpensDmAsync();
        foreach (var alias in aliases.Take(3))
            await S.MemberAsksToJoinAsync(dm, alias);

        var refusal = await AskAsync(S.Member, dm, "join " + aliases[3], "unpaid invoices open");

        Assert.Null(Player.FindInvoice(refusal));
        foreach (var alias in aliases.Take(3))
            Assert.Contains(alias, refusal, StringComparison.Ordinal);
        Assert.Contains("expire", refusal, StringComparison.Ordinal);
        Assert.Equal(3, await OrdersAsync());
        Assert.Equal(3, InvoicesMade);
    }

    [Fact]
    public async Task A_banned_member_gets_no_invoice()
    {
        await S.StartBotAsync();
        var (roomId, alias) = await S.OwnerMakesRoomAsync();
        await S.OwnerGatesAsync(roomId, "10 sats per 30d");
        await S.Owner.Client.BanAsync(roomId, S.Member.UserId, "spam", default);
        var dm = await S.MemberOpensDmAsync();

        var reply = await AskAsync(S.Member, dm, "join " + alias, "You are banned from");

        Assert.Null(Player.FindInvoice(reply));
        Assert.Equal(0, await OrdersAsync());
        Assert.Equal(0, InvoicesMade);
    }

    [Fact]
    public async Task A_bot_without_the_power_to_invite_issues_no_invoice()
    {
        await S.StartBotAsync();
        var (roomId, alias) = await S.OwnerMakesRoomAsync(botLevel: 0);
        await SetPowerLevelsFieldAsync(roomId, "invite", 50);
        await S.OwnerGatesAsync(roomId, "10 sats per 30d");
        var dm = await S.MemberOpensDmAsync();

        var reply = await AskAsync(S.Member, dm, "join " + alias, "I don't have the power to invite there");

        Assert.Contains("I need power level 50, I have 0", reply, StringComparison.Ordinal);
        Assert.Null(Player.FindInvoice(reply));
        Assert.Equal(0, await OrdersAsync());
        Assert.Equal(0, InvoicesMade);
    }

    /// <summary>The bot's messages in a room that <paramref name="who"/> has seen since <paramref name="mark"/>, in order.</summary>
    private List<string> BotSaid(Player who, string roomId, int mark) =>
        [.. who.Seen.Skip(mark).Where(e => e.RoomId == roomId && e.Event.Sender == S.BotUserId && e.Event.Type == EventTypes.Message
            && e.Event.ContentString("msgtype") == MessageContent.Notice).Select(e => Player.BodyOf(e.Event))];

    /// <summary>
    /// With the default limit (10 a minute, 5 in a row), twelve commands at once get five answers and one notice
    /// saying when to try again; the rest are marked handled and never answered, while others are answered as usual.
    /// </summary>
    [Fact]
    public async Task A_flood_from_one_member_gets_one_notice_then_silence_while_others_are_answered()
    {
        await S.StartBotAsync();
        var (roomId, _) = await S.OwnerMakesRoomAsync();
        var dm = await S.MemberOpensDmAsync();

        var mark = S.Member.Mark;
        var flood = new List<string>();
        for (var i = 0; i < 12; i++)
            flood.Add(await S.Member.SayAsync(dm, "status"));
        var notice = Player.BodyOf(await S.Member.WaitForMessageAsync(dm, b => b.Contains("too fast", StringComparison.Ordinal), Scenario.Patience, mark));
        Assert.Contains("at most 10 a minute from one person, 5 in a row", notice, StringComparison.Ordinal);

        // Someone else is answered meanwhile.
        await AskAsync(S.Owner, roomId, "!gate show", "is not gated");

        // The control: once a token is back, the member's next command is answered. The bot handles a room's events
        // in order, so by then it has handled every command of the flood.
        var wait = int.Parse(Regex.Match(notice, @"wait (\d+) seconds?").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        await Task.Delay(TimeSpan.FromSeconds(wait) + TimeSpan.FromMilliseconds(200));
        await AskAsync(S.Member, dm, "help", "I sell access");

        var said = BotSaid(S.Member, dm, mark);
        Assert.Equal(5, said.Count(b => b.StartsWith("You have no paid rooms", StringComparison.Ordinal)));
        Assert.Single(said, b => b.Contains("too fast", StringComparison.Ordinal));
        Assert.Equal(7, said.Count);
        Assert.StartsWith("I sell access", said[^1], StringComparison.Ordinal);
        // Nothing of the flood is left to be retried.
        Assert.Equal(12, await QueryAsync(tx => tx.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM handled_events WHERE event_id IN @flood", new { flood })));
    }

    /// <summary>An owner configuring their own room in a burst gets every answer, in order; a member doing the same is limited.</summary>
    [Fact]
    public async Task An_owner_configuring_their_room_in_a_burst_gets_every_answer_in_order()
    {
        await S.StartBotAsync();
        var (roomId, _) = await S.OwnerMakesRoomAsync();

        var mark = S.Owner.Mark;
        for (var i = 1; i <= 12; i++)
            await S.Owner.SayAsync(roomId, $"!gate set {i} sats per 1d");
        await S.Owner.WaitForMessageAsync(roomId, b => b.Contains("now costs 12 sats", StringComparison.Ordinal), Scenario.Patience, mark);

        Assert.Equal([.. Enumerable.Range(1, 12).Select(i => i == 1 ? "1 sat" : $"{i} sats")],
            BotSaid(S.Owner, roomId, mark).Where(b => !b.StartsWith("Hello!", StringComparison.Ordinal)) // the greeting on joining may come late
                .Select(b => Regex.Match(b, @"now costs (\d+ sats?) per").Groups[1].Value));
        Assert.Equal(12_000, await QueryAsync(tx => tx.ExecuteScalarAsync<long>(
            "SELECT price_msat FROM plans WHERE room_id = @roomId AND is_default = 1", new { roomId })));

        // The same burst from a member of the room, who is not an owner, meets the limit.
        await S.Owner.Client.InviteAsync(roomId, S.Member.UserId, null, default);
        await S.Member.WaitForInviteAsync(roomId, Scenario.Patience);
        await S.Member.Client.JoinAsync(roomId, null, null, default);
        var memberMark = S.Member.Mark;
        for (var i = 1; i <= 12; i++)
            await S.Member.SayAsync(roomId, "!gate show");
        await S.Member.WaitForMessageAsync(roomId, b => b.Contains("too fast", StringComparison.Ordinal), Scenario.Patience, memberMark);
    }

    /// <summary>The owner changes one field of <c>m.room.power_levels</c> (read-modify-write).</summary>
    private async Task SetPowerLevelsFieldAsync(string roomId, string field, long level)
    {
        var current = await S.Owner.Client.GetStateAsync(roomId, EventTypes.PowerLevels, "", default);
        var content = JsonNode.Parse(current.GetRawText())!.AsObject();
        content[field] = level;
        await S.Owner.Client.SetStateAsync(roomId, EventTypes.PowerLevels, "", JsonSerializer.SerializeToElement(content), default);
    }
}
