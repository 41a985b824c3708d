using System.Diagnostics;
using System.Text.Json.Nodes;
using Doorman.Sandbox.Players;
using Doorman.Tests.Peers;
using Doorman.Tests.Support;

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
        // The bot's DM is encrypted, as Element makes DMs: the QR image is an encrypted attachment the member decrypts.
        Assert.Null(qr.Content["url"]);
        var image = await member.DownloadAttachmentAsync(qr.Content);
        Assert.Equal("image/png", image.ContentType);
        Assert.Equal(qr.Content["info"]!["size"]!.GetValue<long>(), image.Length);
        Assert.Equal("LIGHTNING:" + Player.FindInvoice(invoice.Body)!.ToUpperInvariant(), QrScanner.Scan(image.Data!));
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

    /// <summary>
    /// Element's defaults: encrypted rooms and encrypted DMs, both people on matrix-js-sdk's Rust crypto. The owner gates
    /// an encrypted room with a command the SDK encrypts, and reads the bot's encrypted answer; the member opens an
    /// encrypted DM and asks to join there, and gets the invoice and its QR code as an encrypted attachment. The bot
    /// restarts between the invoice and the payment and still reads the DM and is read there (its device and its
    /// Olm and Megolm sessions are in its database). The member signs in on a second device, which reads the bot's
    /// next answer; when the paid time ends the member is removed and told, encrypted, on both devices.
    /// </summary>
    public static async Task EncryptedRoomsAsync(Scenario s)
    {
        await s.StartBotAsync();
        var (owner, member) = await PeersAsync(s);
        await using var _ = owner;
        await using var __ = member;
        var bot = s.BotUserId;
        var clock = Stopwatch.StartNew();

        // The owner's encrypted knock room, the bot at 50 (invite and kick), gated by a command typed in the room.
        var localpart = "sealed-" + Guid.NewGuid().ToString("N")[..8];
        var alias = $"#{localpart}:{s.Homeserver.ServerName}";
        var roomId = await owner.CreateRoomAsync(new JsonObject
        {
            ["room_version"] = "12",
            ["room_alias_name"] = localpart,
            ["name"] = "Sealed lounge",
            ["power_level_content_override"] = new JsonObject { ["users"] = new JsonObject { [bot] = 50 } },
            ["initial_state"] = new JsonArray(new JsonObject
            {
                ["type"] = "m.room.encryption", ["state_key"] = "", ["content"] = new JsonObject { ["algorithm"] = "m.megolm.v1.aes-sha2" },
            }),
        }, joinRule: "knock");
        await owner.InviteAsync(roomId, bot);
        await owner.WaitForMembershipAsync(roomId, "join", bot, Patience);
        clock.Restart();
        var command = await owner.SendAsync(roomId, "!gate set 10 sats per 30s");
        var gated = await owner.WaitForMessageAsync(roomId, contains: "now costs", sender: bot, timeout: Patience);
        var answerMs = clock.ElapsedMilliseconds;
        Assert.Contains($"{alias} now costs 10 sats per 30 seconds", gated.Body, StringComparison.Ordinal);
        Assert.True(gated.Encrypted, "the bot answered the encrypted room in clear text");
        Assert.True((await owner.MessagesAsync(roomId, owner.UserId)).First(m => m.EventId == command).Encrypted, "the SDK sent the command in clear text");
        s.Log($"owner (js-sdk) gated the encrypted room {roomId} by an encrypted command; the encrypted answer was read after {answerMs} ms");

        // The member's encrypted DM: the invoice, and its QR code as an encrypted attachment.
        var dm = await member.CreateDmAsync(bot, encrypted: true);
        await member.WaitForMembershipAsync(dm, "join", bot, Patience);
        clock.Restart();
        await member.SendAsync(dm, "join " + alias);
        var invoice = await member.WaitForMessageAsync(dm, contains: "lnbcrt", sender: bot, timeout: Patience);
        var qr = await member.WaitForMessageAsync(dm, contains: "Invoice QR code", sender: bot, timeout: Patience, msgType: "m.image");
        var invoiceMs = clock.ElapsedMilliseconds;
        Assert.True(invoice.Encrypted && qr.Encrypted, "the bot answered the encrypted DM in clear text");
        Assert.Null(qr.Content["url"]);
        Assert.NotNull(qr.Content["file"]);
        var image = await member.DownloadAttachmentAsync(qr.Content);
        var bolt11 = Player.FindInvoice(invoice.Body)!;
        Assert.Equal("LIGHTNING:" + bolt11.ToUpperInvariant(), QrScanner.Scan(image.Data!));
        s.Log($"member (js-sdk) asked in an encrypted DM; the encrypted invoice and a {image.Length}-byte encrypted QR code (it scans as the invoice) after {invoiceMs} ms");

        // The bot restarts with its database: it decrypts the member's next command and is read.
        clock.Restart();
        await s.StopBotAsync();
        await s.StartBotAsync();
        var restartMs = clock.ElapsedMilliseconds;
        clock.Restart();
        // The answer is told by its m.in_reply_to: the invoice itself says "can be paid until" too.
        var status = await member.SendAsync(dm, "status");
        var pending = await member.WaitForMessageAsync(dm, contains: "can be paid until", sender: bot, timeout: Patience, replyTo: status);
        Assert.True(pending.Encrypted);
        Assert.Contains(alias, pending.Body, StringComparison.Ordinal);
        var devices = s.BotLog.Where(l => l.Contains("End-to-end encryption is on for device", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, devices.Count);
        Assert.Equal(devices[0], devices[1]); // the same device and fingerprint: the keys came from the database
        s.Log($"bot restarted in {restartMs} ms; the member's next command in the DM was answered readably after {clock.ElapsedMilliseconds} ms");

        var paid = Stopwatch.StartNew();
        await s.Payments.PayAsync(bolt11);
        await member.WaitForMembershipAsync(roomId, "invite", timeout: Patience);
        s.Log($"member paid; invited after {paid.ElapsedMilliseconds} ms");
        await member.JoinAsync(roomId);
        await member.WaitForMessageAsync(dm, contains: "welcome", sender: bot, timeout: Patience);

        // A second device of the member reads the bot's next answer in the DM.
        clock.Restart();
        var token = await s.Homeserver.LoginNewDeviceAsync(member.UserId!, "member's second device");
        var phone = await JsPeer.StartAsync("member-2", s.Log);
        await using var ___ = phone;
        await phone.LoginAsync(s.Homeserver.Url, member.UserId!, token);
        Assert.NotEqual(member.DeviceId, phone.DeviceId);
        // As when someone opens a new client and then talks from the old one: the new device's keys are published.
        await member.WaitForDeviceAsync(phone.DeviceId!, timeout: Patience);
        var loginMs = clock.ElapsedMilliseconds;
        clock.Restart();
        status = await member.SendAsync(dm, "status");
        var onFirst = await member.WaitForMessageAsync(dm, contains: "member until", sender: bot, timeout: Patience, replyTo: status);
        var onSecond = await phone.WaitForMessageAsync(dm, contains: "member until", sender: bot, timeout: Patience, replyTo: status);
        Assert.Equal(onFirst.EventId, onSecond.EventId);
        Assert.True(onSecond.Encrypted);
        Assert.Contains(alias, onSecond.Body, StringComparison.Ordinal);
        s.Log($"member's second device {phone.DeviceId} signed in ({loginMs} ms with its keys published); it read the bot's answer to the first device's status after {clock.ElapsedMilliseconds} ms");

        // The paid 30 s end: removed by the bot, and told in the DM, encrypted, on both devices.
        var removal = await member.WaitForMembershipAsync(roomId, "leave", timeout: TimeSpan.FromSeconds(60));
        Assert.Equal(bot, removal.Event?["sender"]?.GetValue<string>());
        var told = await member.WaitForMessageAsync(dm, contains: "renew " + alias, sender: bot, timeout: Patience);
        var toldSecond = await phone.WaitForMessageAsync(dm, contains: "renew " + alias, sender: bot, timeout: Patience);
        Assert.True(told.Encrypted && toldSecond.Encrypted);
        s.Log($"member removed {paid.Elapsed.TotalSeconds:F1} s after paying for 30 s, and told in the encrypted DM (read on both devices)");
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
    /// The owners' and members' commands with short real periods. The owner (js-sdk) makes a room, gives the bot power,
    /// gates it and adds a plan there, then sets the trial and grace and lists the members from a DM; the member (js-sdk)
    /// reads the plans, takes the trial, and pays for the longer plan, which extends the trial's end; the owner grants a
    /// minute from the DM, lists and exports the members from the room (both answered in the owner's DM), and revokes the
    /// member, who is removed and told. Nothing waits for a period to run out: each step would fail if one had.
    /// </summary>
    public static async Task OwnersAndMembersCommandsAsync(Scenario s)
    {
        // The owner gives nine commands and the member three within seconds: the bot's per-person limit is not under test.
        await s.StartBotAsync(settings => settings["Limits:CommandBurst"] = "20");
        // Nor is the homeserver's (other stories test it): the bot is exempt as the README advises, and so are the people.
        foreach (var user in new[] { s.BotUserId, s.Owner.UserId, s.Member.UserId })
            await s.Homeserver.ExemptFromRateLimitsAsync(user);
        var (owner, member) = await PeersAsync(s);
        await using var _ = owner;
        await using var __ = member;
        var bot = s.BotUserId;

        // In the room: the owner makes it, invites the bot, gives it power, gates it and adds a plan.
        var localpart = "club-" + Guid.NewGuid().ToString("N")[..8];
        var alias = $"#{localpart}:{s.Homeserver.ServerName}";
        var roomId = await owner.CreateRoomAsync(new JsonObject { ["room_alias_name"] = localpart, ["name"] = "Members' club" });
        await owner.InviteAsync(roomId, bot);
        await owner.WaitForMembershipAsync(roomId, "join", bot, Patience);
        await owner.SetPowerLevelAsync(roomId, bot, 50);
        var gated = await AskAsync(owner, roomId, "!gate set 10 sats per 1m", "now costs", bot);
        Assert.Contains($"{alias} now costs 10 sats per 1 minute", gated.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("I need more power", gated.Body, StringComparison.Ordinal);
        var plan = await AskAsync(owner, roomId, "!gate plan add long 20 sats per 2m", "Added the plan", bot);
        Assert.Contains("long to " + alias + ": 20 sats per 2 minutes", plan.Body, StringComparison.Ordinal);
        s.Log($"owner (js-sdk) gated {roomId} ({alias}) at 10 sats per minute and added the plan long, 20 sats per 2 minutes");

        // From a DM, naming the room: trial, grace, members.
        var ownerDm = await owner.CreateDmAsync(bot);
        await owner.WaitForMembershipAsync(ownerDm, "join", bot, Patience);
        var trial = await AskAsync(owner, ownerDm, $"trial {alias} 30s", "free trial", bot);
        Assert.Contains("free trial of 30 seconds", trial.Body, StringComparison.Ordinal);
        var grace = await AskAsync(owner, ownerDm, $"grace {alias} 10s", "stay 10 seconds more", bot);
        Assert.Contains(alias, grace.Body, StringComparison.Ordinal);
        var before = await AskAsync(owner, ownerDm, $"members {alias}", "access to " + alias, bot);
        Assert.Contains(owner.UserId + " — exempt", before.Body, StringComparison.Ordinal); // in the room when it was gated
        Assert.DoesNotContain(member.UserId!, before.Body, StringComparison.Ordinal);
        s.Log($"owner from DM: trial 30 s, grace 10 s; members → {before.Body.ReplaceLineEndings(" ")}");

        // The member: plans, the trial (invited, joins), then the long plan, paid.
        var dm = await member.CreateDmAsync(bot);
        await member.WaitForMembershipAsync(dm, "join", bot, Patience);
        var plans = await AskAsync(member, dm, $"plans {alias}", "Plans of", bot);
        Assert.Contains("default: 10 sats per 1 minute (default)", plans.Body, StringComparison.Ordinal);
        Assert.Contains("long: 20 sats per 2 minutes", plans.Body, StringComparison.Ordinal);
        Assert.Contains("free trial: 30 seconds", plans.Body, StringComparison.Ordinal);
        var started = await AskAsync(member, dm, $"join {alias} trial", "Your free trial", bot);
        var trialEnd = TimeIn(started.Body);
        await member.WaitForMembershipAsync(roomId, "invite", timeout: Patience);
        await member.JoinAsync(roomId);
        s.Log($"member (js-sdk) took the trial (until {trialEnd:HH:mm} UTC), was invited and joined");

        // "pay 20 sats for 2 minutes": not the trial's reminder, which would carry an invoice for the default plan.
        var invoice = await AskAsync(member, dm, $"join {alias} long", "pay 20 sats for 2 minutes", bot);
        await s.Payments.PayAsync(Player.FindInvoice(invoice.Body)!);
        var renewed = await member.WaitForMessageAsync(dm, contains: "now lasts until", sender: bot, timeout: Patience);
        var paidUntil = TimeIn(renewed.Body);
        // From the trial's end, not from now (times are shown to the minute; the trial ends less than a minute ahead).
        Assert.Equal(trialEnd.AddMinutes(2), paidUntil);
        s.Log($"member paid for the long plan: until {paidUntil:HH:mm} UTC");

        // The owner grants a minute from the DM.
        var granted = await AskAsync(owner, ownerDm, $"grant {alias} {member.UserId} 1m", "Granted:", bot);
        Assert.Equal(paidUntil.AddMinutes(1), TimeIn(granted.Body));
        var told = await member.WaitForMessageAsync(dm, contains: "complimentary access until", sender: bot, timeout: Patience);
        Assert.Equal(paidUntil.AddMinutes(1), TimeIn(told.Body));

        // members and export in the room: a pointer there, the list and the file in the owner's DM.
        await AskAsync(owner, roomId, "!gate members", "sent you the member list in a direct message", bot);
        var list = await owner.WaitForMessageAsync(ownerDm, contains: member.UserId + " — grant, long, until", sender: bot, timeout: Patience);
        Assert.Contains("2 people", list.Body, StringComparison.Ordinal);
        await AskAsync(owner, roomId, "!gate export", "sent you the export in a direct message", bot);
        var file = await owner.WaitForMessageAsync(ownerDm, contains: "Members of", sender: bot, timeout: Patience, msgType: "m.file");
        var csv = await owner.DownloadWithDataAsync(file.Content["url"]!.GetValue<string>());
        var lines = System.Text.Encoding.UTF8.GetString(csv.Data!).ReplaceLineEndings("\n").TrimEnd('\n').Split('\n');
        Assert.Equal("user_id,source,plan,started_at,expires_at,paid_sats_total,last_payment_at", lines[0]);
        // Every user id begins with @, which a spreadsheet reads as a formula: src/Doorman/Messaging/Csv.cs writes it as text, '@….
        var row = Assert.Single(lines, l => l.StartsWith("'" + member.UserId + ",", StringComparison.Ordinal)).Split(',');
        Assert.Equal(["grant", "long", "20"], [row[1], row[2], row[5]]);
        Assert.NotEmpty(row[6]);
        s.Log($"owner: members and export from the room; the CSV has {lines.Length - 1} rows: {string.Join(" | ", lines.Skip(1))}");

        // The owner revokes the member from the DM: removed by the bot, and told.
        await AskAsync(owner, ownerDm, $"revoke {alias} {member.UserId}", "removing them now", bot);
        var removal = await member.WaitForMembershipAsync(roomId, "leave", timeout: Patience);
        Assert.Equal(bot, removal.Event?["sender"]?.GetValue<string>());
        await member.WaitForMessageAsync(dm, contains: "ended your access", sender: bot, timeout: Patience);
        s.Log("owner revoked the member: removed, and told");

        // The revoke's message came after everything the trial, the payment and the grant made the bot say: only the
        // payment was one.
        var said = (await member.MessagesAsync(dm, bot)).Select(m => m.Body).ToList();
        s.Log("the bot told the member: " + string.Join(" / ", said.Select(b => b.ReplaceLineEndings(" "))));
        Assert.Single(said, b => b.StartsWith("Payment received", StringComparison.Ordinal));
    }

    /// <summary>Sends a command and waits for the bot's answer, the first message from it containing <paramref name="answer"/>.</summary>
    private static async Task<PeerMessage> AskAsync(JsPeer who, string roomId, string command, string answer, string bot)
    {
        await who.SendAsync(roomId, command);
        return await who.WaitForMessageAsync(roomId, contains: answer, sender: bot, timeout: Patience);
    }

    /// <summary>The instant a reply names, to the minute ("… until 2026-05-01 12:34 UTC (in 2 minutes)").</summary>
    private static DateTimeOffset TimeIn(string body)
    {
        var match = System.Text.RegularExpressions.Regex.Match(body, @"\d{4}-\d{2}-\d{2} \d{2}:\d{2}(?= UTC)");
        Assert.True(match.Success, $"no time in: {body}");
        return DateTimeOffset.ParseExact(match.Value, "yyyy-MM-dd HH:mm", System.Globalization.CultureInfo.InvariantCulture,
            System.Globalization.DateTimeStyles.AssumeUniversal);
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
