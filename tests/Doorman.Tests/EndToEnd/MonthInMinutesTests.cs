using System.Text.Json;
using Doorman.Access;
using Doorman.Matrix.Events;
using Doorman.Sandbox.Players;
using Doorman.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace Doorman.Tests.EndToEnd;

/// <summary>
/// A month in the life of a paid room, in minutes: the bot and its Lightning node share a clock the test moves forward
/// (days at a time); timers still run in real time, and each jump is followed by the deadline sweep the scheduler would
/// run at that instant. Two plans, a trial, a renewal paid early, a renewal paid during grace, a grant, an exempt member,
/// a revoke, an expiry with removal, a knock paid, a knock left unpaid — then <c>members</c>, <c>stats</c> and
/// <c>export</c> checked against the figures the story implies.
/// </summary>
public sealed class MonthInMinutesTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly SkewedClock _clock = new();
    private SandboxTestHomeserver _hs = null!;
    private Scenario _s = null!;

    public async Task InitializeAsync()
    {
        _hs = await SandboxTestHomeserver.StartAsync();
        _s = await Scenario.StartAsync(_hs, output, async dir => await LndTestPayments.StartAsync(Path.Combine(dir, "lnd"), _clock));
    }

    public async Task DisposeAsync()
    {
        await _s.DisposeAsync();
        await _hs.DisposeAsync();
    }

    /// <summary>Moves the bot's and the node's clock to <paramref name="day"/> days after the start, then sweeps as the scheduler would.</summary>
    private async Task DayAsync(double day)
    {
        _clock.Ahead = TimeSpan.FromDays(day);
        _s.BotClock.Ahead = TimeSpan.FromDays(day);
        await _s.Bot!.Services.GetRequiredService<Sweeper>().SweepAsync(default);
        _s.Log($"day {day}");
    }

    private async Task<ClientEvent> SayAsync(Player who, string room, string text, string expect)
    {
        var mark = who.Mark;
        await who.SayAsync(room, text);
        var reply = await who.WaitForMessageAsync(room, b => b.Contains(expect, StringComparison.Ordinal), Scenario.Patience, mark);
        _s.Log($"{who.UserId}: {text} → {Player.BodyOf(reply)}");
        return reply;
    }

    /// <summary>Asks in a DM, pays the invoice and waits for the invite (or, for someone in the room, the renewal message).</summary>
    private async Task<string> BuyAsync(Player who, string dm, string command, string roomId, bool inRoom = false)
    {
        var reply = await SayAsync(who, dm, command, "lightning:");
        var bolt11 = Player.FindInvoice(Player.BodyOf(reply))!;
        var mark = who.Mark;
        await _s.Payments.PayAsync(bolt11);
        if (inRoom)
            await who.WaitForMessageAsync(dm, b => b.Contains("until", StringComparison.Ordinal), Scenario.Patience, mark);
        else
        {
            await who.WaitForInviteAsync(roomId, Scenario.Patience);
            await who.Client.JoinAsync(roomId, null, null, default);
        }
        return bolt11;
    }

    private Task<Player> PersonAsync(string name) => _s.AddPlayerAsync(name);

    private async Task<string> DmAsync(Player who)
    {
        var dm = await who.OpenDirectMessageAsync(_s.BotUserId);
        await who.WaitForMembershipAsync(dm, _s.BotUserId, Membership.Join, Scenario.Patience);
        return dm;
    }

    [Fact]
    public async Task A_month_of_plans_trials_grants_grace_knocks_and_revokes_adds_up_in_members_stats_and_export()
    {
        await _s.StartBotAsync(settings => settings["Limits:CommandBurst"] = "50");
        var owner = _s.Owner;
        var (roomId, alias) = await _s.OwnerMakesRoomAsync();
        await owner.Client.SetStateAsync(roomId, EventTypes.JoinRules, "", JsonSerializer.SerializeToElement(new { join_rule = "knock" }), default);
        var ownerDm = await owner.OpenDirectMessageAsync(_s.BotUserId);
        await owner.WaitForMembershipAsync(ownerDm, _s.BotUserId, Membership.Join, Scenario.Patience);

        // Day 0: the owner gates the room (they are in it: exempt), adds a yearly plan, a 3-day trial and 2 days of grace.
        var gated = await SayAsync(owner, roomId, "!gate set 1000 sats per 30d", "now costs");
        Assert.Contains("1 person already in the room is exempt", Player.BodyOf(gated), StringComparison.Ordinal);
        await SayAsync(owner, roomId, "!gate plan add yearly 10000 sats per 365d", "Added the plan");
        await SayAsync(owner, ownerDm, $"trial {alias} 3d", "free trial of 3 days");
        await SayAsync(owner, ownerDm, $"grace {alias} 2d", "2 days more");

        var ann = _s.Member;
        var annDm = await DmAsync(ann);
        var bob = await PersonAsync("bob");
        var bobDm = await DmAsync(bob);
        var cat = await PersonAsync("cat");
        var catDm = await DmAsync(cat);
        var dan = await PersonAsync("dan");
        var danDm = await DmAsync(dan);
        var eve = await PersonAsync("eve");
        var kim = await PersonAsync("kim");
        var lou = await PersonAsync("lou");

        // Ann pays the default plan, Bob the yearly one, Cat takes the trial; Dan is granted 30 days; Eve is exempt.
        await BuyAsync(ann, annDm, $"join {alias}", roomId);
        await BuyAsync(bob, bobDm, $"join {alias} yearly", roomId);
        await SayAsync(cat, catDm, $"join {alias} trial", "free trial");
        await cat.WaitForInviteAsync(roomId, Scenario.Patience);
        await cat.Client.JoinAsync(roomId, null, null, default);
        await SayAsync(cat, catDm, $"join {alias} trial", "you have had it");
        await SayAsync(owner, roomId, $"!gate grant {dan.UserId} 30d", "Granted");
        await dan.WaitForInviteAsync(roomId, Scenario.Patience);
        await dan.Client.JoinAsync(roomId, null, null, default);
        await SayAsync(owner, ownerDm, $"exempt {alias} {eve.UserId}", "is exempt");

        // Kim knocks and pays; Lou knocks and lets the invoice expire: declined.
        var kimDm = await KnockAsync(kim, roomId);
        var kimInvoice = await kim.WaitForAsync(kimDm, e => e.Sender == _s.BotUserId && Player.FindInvoice(Player.BodyOf(e)) is not null, Scenario.Patience, "the knock's invoice");
        await _s.Payments.PayAsync(Player.FindInvoice(Player.BodyOf(kimInvoice))!);
        await kim.WaitForInviteAsync(roomId, Scenario.Patience);
        await kim.Client.JoinAsync(roomId, null, null, default);
        var louDm = await KnockAsync(lou, roomId);
        await lou.WaitForAsync(louDm, e => e.Sender == _s.BotUserId && Player.FindInvoice(Player.BodyOf(e)) is not null, Scenario.Patience, "the knock's invoice");

        // Hour 1: Lou's invoice has expired unpaid; the reconciler finds it, and the knock is declined (a kick).
        _clock.Ahead = TimeSpan.FromHours(1);
        _s.BotClock.Ahead = TimeSpan.FromHours(1);
        await _s.Bot!.Services.GetRequiredService<Doorman.Payments.Reconciler>().ReconcileAsync(onlyOverdue: true, default);
        await owner.WaitForMembershipAsync(roomId, lou.UserId, Membership.Leave, Scenario.Patience);
        await lou.WaitForAsync(louDm, e => Player.BodyOf(e).Contains("was declined", StringComparison.Ordinal), Scenario.Patience, "the decline");

        // Day 3: Cat's trial ends; with grace she is told, with an invoice; day 5 she is removed.
        await DayAsync(3.01);
        await cat.WaitForMessageAsync(catDm, b => b.Contains("free trial of", StringComparison.Ordinal) && b.Contains("has ended", StringComparison.Ordinal), Scenario.Patience);
        await DayAsync(5.01);
        await owner.WaitForMembershipAsync(roomId, cat.UserId, Membership.Leave, Scenario.Patience);

        // Day 20: Ann renews early (her time runs to day 60); day 31: Dan, whose grant ended on day 30, pays during grace.
        await DayAsync(20);
        await BuyAsync(ann, annDm, $"renew {alias}", roomId, inRoom: true);
        await DayAsync(30.01);
        await dan.WaitForMessageAsync(danDm, b => b.Contains("has ended", StringComparison.Ordinal), Scenario.Patience);
        await DayAsync(31);
        await BuyAsync(dan, danDm, $"renew {alias}", roomId, inRoom: true);
        // Day 32: the owner revokes Bob, who is removed and told; day 33 Kim's month (from day 0) is over, grace too.
        await DayAsync(32);
        var revoked = await SayAsync(owner, ownerDm, $"revoke {alias} {bob.UserId}", "removing them now");
        await owner.WaitForMembershipAsync(roomId, bob.UserId, Membership.Leave, Scenario.Patience);
        await DayAsync(32.5);
        await owner.WaitForMembershipAsync(roomId, kim.UserId, Membership.Leave, Scenario.Patience);

        // What the owner sees: Ann (paid, to day 60), Dan (paid, to day 60: from his original end, day 30), Eve and the
        // owner (exempt).
        var members = Player.BodyOf(await SayAsync(owner, ownerDm, $"members {alias}", "Everyone with access"));
        Assert.Contains("4 people", members, StringComparison.Ordinal);
        Assert.Contains($"{ann.UserId} — paid, default", members, StringComparison.Ordinal);
        Assert.Contains($"{dan.UserId} — paid, default", members, StringComparison.Ordinal);
        Assert.Contains($"{eve.UserId} — exempt", members, StringComparison.Ordinal);
        Assert.DoesNotContain(bob.UserId, members, StringComparison.Ordinal);
        Assert.DoesNotContain(cat.UserId, members, StringComparison.Ordinal);

        // Paid: Ann twice, Bob (yearly), Dan, Kim — 5 orders, 14,000 sats; churned: Cat, Bob, Kim.
        var stats = Player.BodyOf(await SayAsync(owner, ownerDm, $"stats {alias}", "Paid orders"));
        Assert.Contains("Paid orders: 5 (14,000 sats)", stats, StringComparison.Ordinal);
        Assert.Contains("Members now: 4 (2 paid, 0 grant, 0 trial, 2 exempt)", stats, StringComparison.Ordinal);
        Assert.Contains("Left in the last 30 days: 3", stats, StringComparison.Ordinal);

        var mark = owner.Mark;
        await owner.SayAsync(roomId, "!gate export");
        await owner.WaitForMessageAsync(roomId, b => b.Contains("the export", StringComparison.Ordinal), Scenario.Patience, mark);
        var file = await owner.WaitForAsync(ownerDm, e => e.ContentString("msgtype") == MessageContent.File, Scenario.Patience, "the export file", mark);
        var csv = await DownloadAsync(owner, file.ContentString("url")!);
        var lines = csv.Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("user_id,source,plan,started_at,expires_at,paid_sats_total,last_payment_at", lines[0]);
        var start = TimeProvider.System.GetUtcNow();
        Assert.Equal(4, lines.Length - 1);
        var annRow = Assert.Single(lines, l => l.StartsWith($"'{ann.UserId},", StringComparison.Ordinal)).Split(',');
        Assert.Equal(["paid", "default"], annRow[1..3]);
        Assert.Equal("2000", annRow[5]);
        AssertDay(start, 60, annRow[4]);
        var danRow = Assert.Single(lines, l => l.StartsWith($"'{dan.UserId},", StringComparison.Ordinal)).Split(',');
        Assert.Equal("1000", danRow[5]);
        AssertDay(start, 60, danRow[4]);
        _ = revoked;
    }

    /// <summary>The ISO time in the export is <paramref name="days"/> after the story's start (give or take the minutes it took).</summary>
    private static void AssertDay(DateTimeOffset start, int days, string iso)
    {
        var at = DateTimeOffset.Parse(iso, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(at, start + TimeSpan.FromDays(days) - TimeSpan.FromMinutes(15), start + TimeSpan.FromDays(days) + TimeSpan.FromMinutes(15));
    }

    private static async Task<string> DownloadAsync(Player who, string mxc)
    {
        var (bytes, _) = await who.Client.DownloadAsync(mxc, default);
        return System.Text.Encoding.UTF8.GetString(bytes);
    }

    /// <summary>Knocks, then joins the DM the bot opens to send the invoice; returns the DM.</summary>
    private static async Task<string> KnockAsync(Player who, string roomId)
    {
        // A real client has published its device keys long before it knocks; so must this one (its first sync does),
        // or the bot's encrypted invoice, sent at once, has no device of theirs to go to.
        await who.PumpAsync(TimeSpan.Zero);
        await who.Client.KnockAsync(roomId, null, default);
        var dm = await who.WaitForNewInviteAsync([roomId], Scenario.Patience);
        await who.Client.JoinAsync(dm, null, null, default);
        return dm;
    }
}
