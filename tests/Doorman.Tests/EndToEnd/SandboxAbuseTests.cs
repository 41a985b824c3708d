using System.Text.Json;
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

    /// <summary>The owner changes one field of <c>m.room.power_levels</c> (read-modify-write).</summary>
    private async Task SetPowerLevelsFieldAsync(string roomId, string field, long level)
    {
        var current = await S.Owner.Client.GetStateAsync(roomId, EventTypes.PowerLevels, "", default);
        var content = JsonNode.Parse(current.GetRawText())!.AsObject();
        content[field] = level;
        await S.Owner.Client.SetStateAsync(roomId, EventTypes.PowerLevels, "", JsonSerializer.SerializeToElement(content), default);
    }
}
