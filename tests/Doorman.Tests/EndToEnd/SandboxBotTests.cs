using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Doorman.Hosting;
using Doorman.Matrix.Events;
using Doorman.Sandbox.Players;
using Doorman.Storage;
using Microsoft.Extensions.Options;
using Xunit.Abstractions;

namespace Doorman.Tests.EndToEnd;

/// <summary>The bot on the sandbox: restarts, start-up checks, health, and what it must not answer.</summary>
public sealed class SandboxBotTests(ITestOutputHelper output) : IAsyncLifetime
{
    private SandboxTestHomeserver _hs = null!;
    private Scenario _s = null!;

    public async Task InitializeAsync()
    {
        _hs = await SandboxTestHomeserver.StartAsync();
        _s = await Scenario.StartAsync(_hs, output);
    }

    public async Task DisposeAsync()
    {
        await _s.DisposeAsync();
        await _hs.DisposeAsync();
    }

    private Task<T> QueryAsync<T>(Func<Tx, Task<T>> query) => new Database(_s.DatabasePath).ReadAsync(query, default);

    [Fact]
    public async Task An_invite_that_failed_before_a_restart_is_carried_out_after_it_once()
    {
        await _s.StartBotAsync();
        var (roomId, alias) = await _s.OwnerMakesRoomAsync();
        await _s.OwnerGatesAsync(roomId, "50 sats per 30d");
        var dm = await _s.MemberOpensDmAsync();
        var bolt11 = await _s.MemberAsksToJoinAsync(dm, alias);

        // The homeserver fails every invite attempt for now: the bot decided (the invite is in its outbox) but cannot act.
        _hs.Server.FailNext("/invite", 503, 1000);
        await _s.Lightning.PayAsync(bolt11);
        for (var i = 0; i < 100 && await QueryAsync(tx => tx.ExecuteScalarAsync<long>(
                 "SELECT COUNT(*) FROM membership_actions WHERE action = 'invite' AND status = 'pending' AND attempts >= 1")) == 0; i++)
            await Task.Delay(100);
        await _s.StopBotAsync();
        Assert.Null(_hs.Server.GetMembership(roomId, _s.Member.UserId));

        _hs.Server.ClearFaults();
        await _s.StartBotAsync();
        await _s.Member.WaitForInviteAsync(roomId, Scenario.Patience);
        await _s.Member.WaitForMessageAsync(dm, b => b.Contains("welcome", StringComparison.OrdinalIgnoreCase), Scenario.Patience);
        var invites = _hs.Server.GetTimeline(roomId).Count(e => e.GetProperty("type").GetString() == EventTypes.Member
            && e.GetProperty("state_key").GetString() == _s.Member.UserId && e.GetProperty("content").GetProperty("membership").GetString() == Membership.Invite);
        Assert.Equal(1, invites);
    }

    [Fact]
    public async Task Messages_from_before_the_bot_joined_are_never_commands()
    {
        await _s.StartBotAsync();
        var roomId = await _s.Owner.CreateRoomAsync("old-" + Guid.NewGuid().ToString("N")[..6]);
        await _s.Owner.SayAsync(roomId, "!gate set 5 sats per 1d");
        await _s.Owner.Client.InviteAsync(roomId, _s.BotUserId, null, default);
        await _s.Owner.WaitForMembershipAsync(roomId, _s.BotUserId, Membership.Join, Scenario.Patience);
        await _s.Owner.WaitForMessageAsync(roomId, b => b.StartsWith("Hello!", StringComparison.Ordinal), Scenario.Patience);
        await Task.Delay(1500);
        await _s.Owner.PumpAsync(TimeSpan.FromSeconds(1));
        Assert.DoesNotContain(_s.Owner.Seen, e => e.RoomId == roomId && e.Event.Sender == _s.BotUserId && Player.BodyOf(e.Event).Contains("now costs", StringComparison.Ordinal));
        Assert.Equal(0, await QueryAsync(tx => tx.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM gates")));
    }

    [Fact]
    public async Task Messages_sent_while_the_bot_was_down_are_answered_once_after_restart()
    {
        await _s.StartBotAsync();
        var (roomId, _) = await _s.OwnerMakesRoomAsync();
        await _s.StopBotAsync();
        await _s.Owner.SayAsync(roomId, "!gate set 7 sats per 7d");
        await _s.StartBotAsync();
        await _s.Owner.WaitForMessageAsync(roomId, b => b.Contains("now costs 7 sats", StringComparison.Ordinal), Scenario.Patience);
        await _s.StopBotAsync();
        await _s.StartBotAsync();
        await Task.Delay(1500);
        await _s.Owner.PumpAsync(TimeSpan.FromSeconds(1));
        Assert.Single(_s.Owner.Seen, e => e.RoomId == roomId && Player.BodyOf(e.Event).Contains("now costs 7 sats", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Healthz_is_200_once_syncing_and_503_when_the_homeserver_fails()
    {
        await _s.StartBotAsync();
        var (roomId, _) = await _s.OwnerMakesRoomAsync();
        using var http = new HttpClient();
        var url = new Uri(_s.Bot!.HttpUrl, "/healthz");

        var healthy = await PollAsync(http, url, HttpStatusCode.OK);
        Assert.Equal("healthy", healthy.GetProperty("status").GetString());
        Assert.Equal("ok", healthy.GetProperty("payments").GetString());

        // From now on every sync fails; a message ends the current long-poll, and the next one fails.
        _hs.Server.FailNext("/sync", 502, 100_000);
        await _s.Owner.SayAsync(roomId, "hello");
        var unhealthy = await PollAsync(http, url, HttpStatusCode.ServiceUnavailable);
        Assert.Equal("unhealthy", unhealthy.GetProperty("status").GetString());
        Assert.Equal("ok", unhealthy.GetProperty("database").GetString());
        Assert.StartsWith("failing since", unhealthy.GetProperty("sync").GetString(), StringComparison.Ordinal);

        _hs.Server.ClearFaults();
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
        var e = await Assert.ThrowsAsync<StartupException>(() => _s.StartBotAsync(settings => settings["Matrix:AccessToken"] = "syt_wrong_secret_token"));
        Assert.Contains("does not accept Matrix:AccessToken", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("syt_wrong_secret_token", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_token_of_another_account_stops_the_bot_naming_both()
    {
        var e = await Assert.ThrowsAsync<StartupException>(() => _s.StartBotAsync(settings => settings["Matrix:UserId"] = _s.Member.UserId));
        Assert.Contains($"belongs to {_s.BotUserId}", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bad_configuration_lists_every_problem_by_key_without_secrets()
    {
        var e = await Assert.ThrowsAsync<OptionsValidationException>(() => _s.StartBotAsync(settings =>
        {
            settings["Matrix:HomeserverUrl"] = "matrix.example.org";
            settings["Matrix:UserId"] = "doorman";
            settings["Matrix:AccessToken"] = "";
            settings["Matrix:AllowedInviters:0"] = "example.org";
            settings["Payments:InvoiceExpiry"] = "00:00:10";
        }));
        var all = string.Join("\n", e.Failures);
        foreach (var key in new[] { "Matrix:HomeserverUrl", "Matrix:UserId", "Matrix:AccessToken", "Matrix:AllowedInviters:0", "Payments:InvoiceExpiry" })
            Assert.Contains(key, all, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_wrong_macaroon_stops_the_bot_at_start_without_printing_it()
    {
        var hex = Convert.ToHexString(new byte[32]);
        var e = await Assert.ThrowsAsync<StartupException>(() => _s.StartBotAsync(settings =>
        {
            settings["Payments:Lnd:MacaroonPath"] = null;
            settings["Payments:Lnd:MacaroonHex"] = hex;
        }));
        Assert.Contains("lnd", e.Message, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(hex, e.Message, StringComparison.OrdinalIgnoreCase);
    }
}
