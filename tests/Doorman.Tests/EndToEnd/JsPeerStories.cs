using System.Diagnostics;
using System.Text.Json.Nodes;
using Doorman.Sandbox.Players;
using Doorman.Tests.Peers;

namespace Doorman.Tests.EndToEnd;

/// <summary>
/// The bot's stories with the owner and the member played by matrix-js-sdk, an independent client: what the
/// bot does must be what another implementation of the spec understands.
/// </summary>
public static class JsPeerStories
{
    private static readonly TimeSpan Patience = Scenario.Patience;

    private static async Task<(JsPeer Owner, JsPeer Member)> PeersAsync(Scenario s)
    {
        var owner = await JsPeer.StartAsync("owner", s.Log);
        await owner.LoginAsync(s.Homeserver.Url, s.Owner.UserId, s.OwnerToken);
        var member = await JsPeer.StartAsync("member", s.Log);
        await member.LoginAsync(s.Homeserver.Url, s.Member.UserId, s.MemberToken);
        return (owner, member);
    }

    /// <summary>The owner (js-sdk) makes a knock room with the bot at power level 50 and gates it.</summary>
    private static async Task<(string RoomId, string Alias)> GatedKnockRoomAsync(Scenario s, JsPeer owner, string roomVersion, string price)
    {
        var localpart = "knock-" + Guid.NewGuid().ToString("N")[..8];
        // Synapse wants the creator in an override's users before v12, and refuses it there from v12 on.
        var users = new JsonObject { [s.BotUserId] = 50 };
        if (int.Parse(roomVersion, System.Globalization.CultureInfo.InvariantCulture) < 12)
            users[s.Owner.UserId] = 100;
        var roomId = await owner.CreateRoomAsync(new JsonObject
        {
            ["room_version"] = roomVersion,
            ["room_alias_name"] = localpart,
            ["name"] = "Knock lounge",
            ["power_level_content_override"] = new JsonObject { ["users"] = users },
        }, joinRule: "knock");
        await owner.InviteAsync(roomId, s.BotUserId);
        await owner.WaitForMembershipAsync(roomId, "join", s.BotUserId, Patience);
        await owner.SendAsync(roomId, "!gate set " + price);
        await owner.WaitForMessageAsync(roomId, contains: "now costs", sender: s.BotUserId, timeout: Patience);
        s.Log($"owner (js-sdk) made knock room {roomId} (v{roomVersion}) and gated it at {price}");
        return (roomId, $"#{localpart}:{s.Homeserver.ServerName}");
    }

    /// <summary>
    /// A knock is a join request: the bot opens a DM with the knocker (is_direct, which js-sdk recognises), sends the
    /// invoice and its QR code (downloaded through authenticated media), and the invite after payment accepts the
    /// knock; when the paid time is over the member is removed and told how to return.
    /// </summary>
    public static async Task KnockPayJoinExpireAsync(Scenario s, string roomVersion)
    {
        await s.StartBotAsync();
        var (owner, member) = await PeersAsync(s);
        await using var _ = owner;
        await using var __ = member;
        var (roomId, alias) = await GatedKnockRoomAsync(s, owner, roomVersion, "10 sats per 8s");

        await member.KnockAsync(roomId, "I'd like to join");
        var dm = await member.WaitForInviteAsync(inviter: s.BotUserId, timeout: Patience);
        Assert.Equal(s.BotUserId, dm.DmInviter);
        await member.JoinAsync(dm.RoomId);
        var invoice = await member.WaitForMessageAsync(dm.RoomId, contains: "lnbcrt", sender: s.BotUserId, timeout: Patience);
        Assert.Equal("m.notice", invoice.MsgType);
        Assert.Contains("lightning:", invoice.Body, StringComparison.Ordinal);
        var qr = await member.WaitForMessageAsync(dm.RoomId, contains: "Invoice QR code", sender: s.BotUserId, timeout: Patience);
        Assert.Equal("m.image", qr.MsgType);
        var image = await member.DownloadAsync(qr.Content["url"]!.GetValue<string>());
        Assert.Equal("image/png", image.ContentType);
        Assert.Equal(qr.Content["info"]!["size"]!.GetValue<long>(), image.Length);
        s.Log($"member (js-sdk) knocked, got a DM with the invoice and a {image.Length}-byte QR code");

        var paid = Stopwatch.StartNew();
        await s.Payments.PayAsync(Player.FindInvoice(invoice.Body)!);
        await member.WaitForMembershipAsync(roomId, "invite", timeout: Patience);
        s.Log($"member paid; the knock was accepted by an invite after {paid.ElapsedMilliseconds} ms");
        await member.JoinAsync(roomId);
        await member.WaitForMessageAsync(dm.RoomId, contains: "welcome", sender: s.BotUserId, timeout: Patience);

        var removal = await member.WaitForMembershipAsync(roomId, "leave", timeout: TimeSpan.FromSeconds(40));
        Assert.Equal(s.BotUserId, removal.Event?["sender"]?.GetValue<string>());
        await member.WaitForMessageAsync(dm.RoomId, contains: "renew " + alias, sender: s.BotUserId, timeout: Patience);
        s.Log("member removed when the time ran out, and told how to come back");
    }

    /// <summary>The member (js-sdk) opens the DM; the bot accepts it as a DM and answers there.</summary>
    public static async Task MemberOpensDmAsync(Scenario s)
    {
        await s.StartBotAsync();
        var (owner, member) = await PeersAsync(s);
        await using var _ = owner;
        await using var __ = member;
        var (roomId, alias) = await GatedKnockRoomAsync(s, owner, "11", "21 sats per 30d");

        var dm = await member.CreateDmAsync(s.BotUserId);
        await member.WaitForMembershipAsync(dm, "join", s.BotUserId, Patience);
        await member.SendAsync(dm, "status");
        await member.WaitForMessageAsync(dm, contains: "no paid rooms", sender: s.BotUserId, timeout: Patience);
        await member.SendAsync(dm, "join " + alias);
        var invoice = await member.WaitForMessageAsync(dm, contains: "lnbcrt", sender: s.BotUserId, timeout: Patience);
        await s.Payments.PayAsync(Player.FindInvoice(invoice.Body)!);
        await member.WaitForMembershipAsync(roomId, "invite", timeout: Patience);
        var direct = await member.GetAccountDataAsync("m.direct");
        Assert.Contains(dm, direct?[s.BotUserId]?.AsArray().Select(n => n!.GetValue<string>()) ?? []);
    }

    /// <summary>
    /// The homeserver rate-limits the bot (Synapse's rc_message; the sandbox when told to): the owner and the member
    /// send commands at once, so the bot must answer faster than it may. Every reply still goes out, each room's
    /// replies in the order of its commands, and the bot's log shows it waited.
    /// </summary>
    public static async Task RateLimitedRepliesArriveInOrderAsync(Scenario s, Action? squeeze = null, int commands = 8)
    {
        // The homeserver's limit on the bot is under test here, not the bot's own limit on each person's commands.
        await s.StartBotAsync(settings => settings["Limits:CommandBurst"] = (2 * commands).ToString(System.Globalization.CultureInfo.InvariantCulture));
        var (owner, member) = await PeersAsync(s);
        await using var _ = owner;
        await using var __ = member;
        var (roomId, _) = await GatedKnockRoomAsync(s, owner, "11", "7 sats per 7d");
        var dm = await member.CreateDmAsync(s.BotUserId);
        await member.WaitForMembershipAsync(dm, "join", s.BotUserId, Patience);
        await s.Owner.PumpAsync(TimeSpan.Zero);
        await s.Member.PumpAsync(TimeSpan.Zero);
        squeeze?.Invoke();

        async Task<List<string>> SendAllAsync(JsPeer who, string room, string text)
        {
            var ids = new List<string>();
            for (var i = 0; i < commands; i++)
                ids.Add(await who.SendAsync(room, text));
            return ids;
        }
        var sent = await Task.WhenAll(SendAllAsync(owner, roomId, "!gate show"), SendAllAsync(member, dm, "status"));

        // Each reply names its command (m.in_reply_to); read them back in timeline order through our own clients.
        static async Task<List<string>> RepliesAsync(Player reader, string room, string bot, string marker, int count)
        {
            bool IsReply(string r, Doorman.Matrix.Events.ClientEvent e) =>
                r == room && e.Sender == bot && Player.BodyOf(e).Contains(marker, StringComparison.Ordinal)
                && !Player.BodyOf(e).StartsWith("Done:", StringComparison.Ordinal)
                && e.Content.TryGetProperty("m.relates_to", out var relates) && relates.ValueKind == System.Text.Json.JsonValueKind.Object;
            for (var attempt = 0; attempt < 60 && reader.Seen.Count(x => IsReply(x.RoomId, x.Event)) < count; attempt++)
                await reader.PumpAsync(TimeSpan.FromSeconds(2));
            return reader.Seen.Where(x => IsReply(x.RoomId, x.Event))
                .Select(x => x.Event.Content.GetProperty("m.relates_to").GetProperty("m.in_reply_to").GetProperty("event_id").GetString()!)
                .ToList();
        }
        Assert.Equal(sent[0], await RepliesAsync(s.Owner, roomId, s.BotUserId, " costs 7 sats per", commands));
        Assert.Equal(sent[1], await RepliesAsync(s.Member, dm, s.BotUserId, "no paid rooms", commands));
        var waits = s.BotLog.Count(line => line.Contains("Rate-limited on", StringComparison.Ordinal));
        s.Log($"the bot waited out {waits} rate limits; all {2 * commands} replies arrived in order");
        Assert.True(waits > 0, "the bot was never rate-limited: the test did not test anything");
    }
}
