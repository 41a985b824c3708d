using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Doorman.Access;
using Doorman.Matrix.Events;
using Doorman.Sandbox.Players;
using Doorman.Storage;
using Microsoft.Extensions.Options;
using Xunit.Abstractions;

namespace Doorman.Tests.EndToEnd;

/// <summary>The bot on the sandbox: restarts, start-up checks, health, and what it must not answer.</summary>
public sealed class SandboxBotTests(ITestOutputHelper output) : SandboxScenarioTests(output)
{
    private Task<T> QueryAsync<T>(Func<Tx, Task<T>> query) => new Database(S.DatabasePath).ReadAsync(query, default);

    [Fact]
    public async Task An_invite_that_failed_before_a_restart_is_carried_out_after_it_once()
    {
        await S.StartBotAsync();
        var (roomId, alias) = await S.OwnerMakesRoomAsync();
        await S.OwnerGatesAsync(roomId, "50 sats per 30d");
        var dm = await S.MemberOpensDmAsync();
        var bolt11 = await S.MemberAsksToJoinAsync(dm, alias);

        // The homeserver fails every invite attempt for now: the bot decided (the invite is in its outbox) but cannot act.
        Hs.Server.FailNext("/invite", 503, 1000);
        await S.Lightning.PayAsync(bolt11);
        for (var i = 0; i < 100 && await QueryAsync(tx => tx.ExecuteScalarAsync<long>(
                 "SELECT COUNT(*) FROM membership_actions WHERE action = 'invite' AND status = 'pending' AND attempts >= 1")) == 0; i++)
            await Task.Delay(100);
        await S.StopBotAsync();
        Assert.Null(Hs.Server.GetMembership(roomId, S.Member.UserId));

        Hs.Server.ClearFaults();
        await S.StartBotAsync();
        await S.Member.WaitForInviteAsync(roomId, Scenario.Patience);
        await S.Member.WaitForMessageAsync(dm, b => b.Contains("welcome", StringComparison.OrdinalIgnoreCase), Scenario.Patience);
        var invites = Hs.Server.GetTimeline(roomId).Count(e => e.GetProperty("type").GetString() == EventTypes.Member
            && e.GetProperty("state_key").GetString() == S.Member.UserId && e.GetProperty("content").GetProperty("membership").GetString() == Membership.Invite);
        Assert.Equal(1, invites);
    }

    [Fact]
    public async Task Bad_requests_get_a_clear_answer_and_change_nothing()
    {
        // The member sends seven commands in a row, more than the default burst (Limits:CommandBurst).
        await S.StartBotAsync(settings => settings["Limits:CommandBurst"] = "7");
        var (roomId, _) = await S.OwnerMakesRoomAsync();
        var ungated = await S.Owner.CreateRoomAsync("free-" + Guid.NewGuid().ToString("N")[..6]);
        var dm = await S.MemberOpensDmAsync();

        async Task ExpectAsync(Doorman.Sandbox.Players.Player who, string room, string say, string answer)
        {
            var mark = who.Mark;
            await who.SayAsync(room, say);
            await who.WaitForMessageAsync(room, b => b.Contains(answer, StringComparison.Ordinal), Scenario.Patience, mark);
        }

        await ExpectAsync(S.Member, dm, "join #nowhere:localhost", "I don't know the room");
        await ExpectAsync(S.Member, dm, "join", "Which room?");
        await ExpectAsync(S.Member, dm, "join " + ungated, "is not a paid room");
        await ExpectAsync(S.Member, dm, "join vip", "is not a room alias or id");
        await ExpectAsync(S.Member, dm, "frobnicate", "I don't know “frobnicate”");
        await ExpectAsync(S.Member, dm, "set 5 sats per 1d", "name the room first");
        await ExpectAsync(S.Member, dm, "set #nowhere:localhost 5 sats per 1d", "I don't know the room");
        await ExpectAsync(S.Owner, roomId, "!gate set -5 sats per 1d", "negative");
        await ExpectAsync(S.Owner, roomId, "!gate set 5 sats per 30y", "not a duration");
        await ExpectAsync(S.Owner, roomId, "!gate set 99999999999999999 sats per 1d", "21 million bitcoin");
        await ExpectAsync(S.Owner, roomId, "!gate show", "is not gated");

        Assert.Equal(0, await QueryAsync(tx => tx.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM gates")));
        Assert.Equal(0, await QueryAsync(tx => tx.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM orders")));
    }

    [Fact]
    public async Task Messages_from_before_the_bot_joined_are_never_commands()
    {
        await S.StartBotAsync();
        var roomId = await S.Owner.CreateRoomAsync("old-" + Guid.NewGuid().ToString("N")[..6]);
        await S.Owner.SayAsync(roomId, "!gate set 5 sats per 1d");
        await S.Owner.Client.InviteAsync(roomId, S.BotUserId, null, default);
        await S.Owner.WaitForMembershipAsync(roomId, S.BotUserId, Membership.Join, Scenario.Patience);
        await S.Owner.WaitForMessageAsync(roomId, b => b.StartsWith("Hello!", StringComparison.Ordinal), Scenario.Patience);
        // A control the bot must answer, after its join: by then an answer to the old command would have come first.
        var control = S.Owner.Mark;
        await S.Owner.SayAsync(roomId, "!gate show");
        await S.Owner.WaitForMessageAsync(roomId, b => b.Contains("is not gated", StringComparison.Ordinal), Scenario.Patience, control);
        Assert.DoesNotContain(S.Owner.Seen, e => e.RoomId == roomId && e.Event.Sender == S.BotUserId && Player.BodyOf(e.Event).Contains("now costs", StringComparison.Ordinal));
        Assert.Equal(0, await QueryAsync(tx => tx.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM gates")));
    }

    [Fact]
    public async Task Messages_sent_while_the_bot_was_down_are_answered_once_after_restart()
    {
        await S.StartBotAsync();
        var (roomId, _) = await S.OwnerMakesRoomAsync();
        await S.StopBotAsync();
        await S.Owner.SayAsync(roomId, "!gate set 7 sats per 7d");
        await S.StartBotAsync();
        await S.Owner.WaitForMessageAsync(roomId, b => b.Contains("now costs 7 sats", StringComparison.Ordinal), Scenario.Patience);
        await S.StopBotAsync();
        await S.StartBotAsync();
        // A control after the second restart: once it is answered, a repeated answer to the first command would be there.
        var control = S.Owner.Mark;
        await S.Owner.SayAsync(roomId, "!gate show");
        await S.Owner.WaitForMessageAsync(roomId, b => b.Contains("costs 7 sats", StringComparison.Ordinal) && !b.Contains("now costs", StringComparison.Ordinal),
            Scenario.Patience, control);
        Assert.Single(S.Owner.Seen, e => e.RoomId == roomId && Player.BodyOf(e.Event).Contains("now costs 7 sats", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Healthz_is_200_once_syncing_and_503_when_the_homeserver_fails()
    {
        await S.StartBotAsync();
        var (roomId, _) = await S.OwnerMakesRoomAsync();
        using var http = new HttpClient();
        var url = new Uri(S.Bot!.HttpUrl, "/healthz");

        var healthy = await PollAsync(http, url, HttpStatusCode.OK);
        Assert.Equal("healthy", healthy.GetProperty("status").GetString());
        Assert.Equal("ok", healthy.GetProperty("payments").GetString());

        // From now on every sync fails; a message ends the current long-poll, and the next one fails.
        Hs.Server.FailNext("/sync", 502, 100_000);
        await S.Owner.SayAsync(roomId, "hello");
        var unhealthy = await PollAsync(http, url, HttpStatusCode.ServiceUnavailable);
        Assert.Equal("unhealthy", unhealthy.GetProperty("status").GetString());
        Assert.Equal("ok", unhealthy.GetProperty("database").GetString());
        Assert.StartsWith("failing since", unhealthy.GetProperty("sync").GetString(), StringComparison.Ordinal);

        Hs.Server.ClearFaults();
        Assert.Equal("healthy", (await PollAsync(http, url, HttpStatusCode.OK)).GetProperty("status").GetString());
    }

    private static async Task<JsonElement> PollAsync(HttpClient http, Uri url, HttpStatusCode wanted)
    {
        for (var i = 0; i < 300; i++)
        {
            using var response = await http.GetAsync(url);
            if (response.StatusCode == wanted)
                return await response.Content.ReadFromJsonAsync<JsonElement>();
            await Task.Delay(100);
        }
        throw new TimeoutException($"/healthz did not answer {wanted} within 30 s");
    }

    [Fact]
    public async Task A_wrong_access_token_stops_the_bot_at_start_with_a_clear_message()
    {
        var e = await Assert.ThrowsAsync<Doorman.Homeserver.StartupException>(() => S.StartBotAsync(settings => settings["Matrix:AccessToken"] = "syt_wrong_secret_token"));
        Assert.Contains("does not accept Matrix:AccessToken", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("syt_wrong_secret_token", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_token_of_another_account_stops_the_bot_naming_both()
    {
        var e = await Assert.ThrowsAsync<Doorman.Homeserver.StartupException>(() => S.StartBotAsync(settings => settings["Matrix:UserId"] = S.Member.UserId));
        Assert.Contains($"belongs to {S.BotUserId}", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bad_configuration_lists_every_problem_by_key_without_secrets()
    {
        var e = await Assert.ThrowsAsync<OptionsValidationException>(() => S.StartBotAsync(settings =>
        {
            settings["Matrix:HomeserverUrl"] = "matrix.example.org";
            settings["Matrix:UserId"] = "doorman";
            settings["Matrix:AccessToken"] = "";
            settings["Matrix:AllowedInviters:0"] = "example.org";
            settings["Payments:InvoiceExpiry"] = "00:00:10";
            settings["Payments:Lnd:Address"] = "http://plain-text.example:10009";
        }));
        var all = string.Join("\n", e.Failures);
        foreach (var key in new[] { "Matrix:HomeserverUrl", "Matrix:UserId", "Matrix:AccessToken", "Matrix:AllowedInviters:0", "Payments:InvoiceExpiry", "Payments:Lnd:Address" })
            Assert.Contains(key, all, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_wrong_macaroon_stops_the_bot_at_start_without_printing_it()
    {
        var hex = Convert.ToHexString(new byte[32]);
        var e = await Assert.ThrowsAsync<Doorman.Homeserver.StartupException>(() => S.StartBotAsync(settings =>
        {
            settings["Payments:Lnd:MacaroonPath"] = null;
            settings["Payments:Lnd:MacaroonHex"] = hex;
        }));
        Assert.Contains("lnd", e.Message, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(hex, e.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Orders_left_pending_with_another_backend_are_named_at_start_up()
    {
        await S.StartBotAsync();
        await S.StopBotAsync();
        // As if the operator had run on BTCPay before switching Payments:Backend to LND: two invoices never resolved.
        var expiries = new[] { DateTimeOffset.UnixEpoch.AddDays(20_000), DateTimeOffset.UnixEpoch.AddDays(20_001) };
        await new Database(S.DatabasePath).WriteAsync(async tx =>
        {
            var orders = new OrderStore();
            foreach (var (expiry, i) in expiries.Select((e, i) => (e, i)))
            {
                await orders.InsertAsync(tx, new Order($"old-{i}", "!room:localhost", S.Member.UserId, "default", 1_000, TimeSpan.FromDays(30),
                    "btcpay", $"invoice-{i}", "lnbc1", $"hash-{i}", OrderStatus.Pending, null, expiry.AddMinutes(-30), expiry, null, null));
            }
        }, default);

        await S.StartBotAsync();
        var warning = Assert.Single(S.BotLog, l => l.Contains("made with the btcpay backend", StringComparison.Ordinal));
        Assert.Contains("2 order(s)", warning, StringComparison.Ordinal);
        Assert.Contains(expiries[1].ToString("u", System.Globalization.CultureInfo.InvariantCulture), warning, StringComparison.Ordinal);
        Assert.Contains("Payments:Backend = btcpay", warning, StringComparison.Ordinal);
        Assert.DoesNotContain(S.BotLog, l => l.Contains("made with the lnd backend", StringComparison.Ordinal));
    }

    /// <summary>DESIGN §4 rule 6: owner commands are authorized against the room's power levels as they are now, not a cache.</summary>
    [Fact]
    public async Task A_change_of_power_counts_from_the_next_command()
    {
        await S.StartBotAsync();
        var (roomId, _) = await S.OwnerMakesRoomAsync();
        await S.Owner.Client.InviteAsync(roomId, S.Member.UserId, null, default);
        await S.Member.WaitForInviteAsync(roomId, Scenario.Patience);
        await S.Member.Client.JoinAsync(roomId, null, null, default);

        await S.Owner.SetPowerLevelAsync(roomId, S.Member.UserId, 100);
        var mark = S.Member.Mark;
        await S.Member.SayAsync(roomId, "!gate set 5 sats per 1d");
        await S.Member.WaitForMessageAsync(roomId, b => b.Contains("now costs 5 sats", StringComparison.Ordinal), Scenario.Patience, mark);

        // Stepping down: a peer at 100 cannot be demoted by the owner (also at 100), but may lower their own level.
        await S.Member.SetPowerLevelAsync(roomId, S.Member.UserId, 0);
        mark = S.Member.Mark;
        await S.Member.SayAsync(roomId, "!gate set 9 sats per 1d");
        await S.Member.WaitForMessageAsync(roomId, b => b.Contains("Only this room's owners", StringComparison.Ordinal), Scenario.Patience, mark);
        Assert.Equal(5_000, await QueryAsync(tx => tx.ExecuteScalarAsync<long>(
            "SELECT price_msat FROM plans WHERE room_id = @roomId AND is_default = 1", new { roomId })));
    }

    /// <summary>DESIGN §4 rule 7: a notice is never a command (bots must not answer bots), in a room or a DM.</summary>
    [Fact]
    public async Task A_notice_is_never_a_command()
    {
        await S.StartBotAsync();
        var (roomId, alias) = await S.OwnerMakesRoomAsync();
        await S.OwnerGatesAsync(roomId, "5 sats per 1d");
        var dm = await S.MemberOpensDmAsync();

        await S.Owner.Client.SendMessageAsync(roomId, Guid.NewGuid().ToString("N"),
            new MessageContent { MsgType = MessageContent.Notice, Body = "!gate set 9 sats per 1d" }, default);
        await S.Member.Client.SendMessageAsync(dm, Guid.NewGuid().ToString("N"),
            new MessageContent { MsgType = MessageContent.Notice, Body = "join " + alias }, default);
        // Commands after the notices are answered, so the bot has read past them.
        var ownerMark = S.Owner.Mark;
        await S.Owner.SayAsync(roomId, "!gate show");
        var shown = await S.Owner.WaitForMessageAsync(roomId, b => b.Contains(" costs ", StringComparison.Ordinal), Scenario.Patience, ownerMark);
        var memberMark = S.Member.Mark;
        await S.Member.SayAsync(dm, "status");
        await S.Member.WaitForAsync(dm, e => e.Sender == S.BotUserId, Scenario.Patience, "the answer to status", memberMark);

        Assert.Contains("5 sats per 1 day", Player.BodyOf(shown), StringComparison.Ordinal);
        Assert.Equal(0, await QueryAsync(tx => tx.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM orders")));
    }
}
