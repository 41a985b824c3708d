using Doorman.Matrix.Events;
using Doorman.Sandbox.Players;
using Doorman.Storage;
using Xunit.Abstractions;

namespace Doorman.Tests.EndToEnd;

/// <summary>Invites and kicks that fail: who is told what, in which words, and what happens once the cause is fixed.</summary>
public sealed class MembershipFailureTests(ITestOutputHelper output) : SandboxScenarioTests(output)
{
    private Task<T> QueryAsync<T>(Func<Tx, Task<T>> query) => new Database(S.DatabasePath).ReadAsync(query, default);

    private Task<int> WriteAsync(string sql) => new Database(S.DatabasePath).WriteAsync(tx => tx.ExecuteAsync(sql), default);

    /// <summary>Every message the bot has sent in the room, as the homeserver stores it (content JSON: body and formatted_body).</summary>
    private IReadOnlyList<string> BotMessages(string roomId) =>
        [.. Hs.Server.GetTimeline(roomId)
            .Where(e => e.GetProperty("type").GetString() == EventTypes.Message && e.GetProperty("sender").GetString() == S.BotUserId)
            .Select(e => e.GetProperty("content").GetRawText())];

    [Fact]
    public async Task Failed_kicks_and_invites_are_told_in_plain_words_never_in_the_homeservers()
    {
        const string Marker = "FAULT-MARKER-4417";
        const string HostPort = "hs-internal.example.net:8448";
        const string Error = $"{Marker}: upstream {HostPort} said no";
        await S.StartBotAsync();
        var (roomId, alias) = await S.OwnerMakesRoomAsync();
        await S.OwnerGatesAsync(roomId, "10 sats per 8s");
        var dm = await S.MemberOpensDmAsync();

        // A kick the homeserver refuses in its own words, though the bot has the power.
        var first = await S.MemberAsksToJoinAsync(dm, alias);
        await S.Lightning.PayAsync(first);
        await S.Member.WaitForInviteAsync(roomId, Scenario.Patience);
        await S.Member.Client.JoinAsync(roomId, null, null, default);
        var ownerMark = S.Owner.Mark;
        Hs.Server.FailNext("/kick", 403, 2, "M_FORBIDDEN", Error); // twice: the first refusal with power is tried once more
        await S.Owner.WaitForMessageAsync(roomId, b => b.Contains("could not remove", StringComparison.Ordinal) && b.Contains("refused", StringComparison.Ordinal),
            Scenario.Patience, ownerMark);

        // An invite refused the same way.
        await S.Member.Client.LeaveAsync(roomId, null, default);
        var second = await S.MemberAsksToJoinAsync(dm, alias);
        Hs.Server.FailNext("/invite", 403, 2, "M_FORBIDDEN", Error);
        ownerMark = S.Owner.Mark;
        var memberMark = S.Member.Mark;
        await S.Lightning.PayAsync(second);
        await S.Owner.WaitForMessageAsync(roomId, b => b.Contains("could not invite", StringComparison.Ordinal) && b.Contains("refused", StringComparison.Ordinal),
            Scenario.Patience, ownerMark);
        await S.Member.WaitForMessageAsync(dm, b => b.Contains("could not invite you", StringComparison.Ordinal), Scenario.Patience, memberMark);

        // An invite the homeserver keeps failing (503s naming its upstream) until the bot gives up.
        var third = await S.MemberAsksToJoinAsync(dm, alias);
        Hs.Server.FailNext("/invite", 503, 100_000, "M_UNKNOWN", Error);
        ownerMark = S.Owner.Mark;
        memberMark = S.Member.Mark;
        await S.Lightning.PayAsync(third);
        for (var i = 0; i < 300 && await QueryAsync(tx => tx.ExecuteScalarAsync<long>(
                 "SELECT COUNT(*) FROM membership_actions WHERE action = 'invite' AND status = 'pending' AND attempts >= 1")) == 0; i++)
            await Task.Delay(100);
        // As if it had been failing for hours: the next attempt is the last one.
        await WriteAsync("UPDATE membership_actions SET attempts = 29, next_attempt_at = 0 WHERE action = 'invite' AND status = 'pending'");
        await S.Owner.WaitForMessageAsync(roomId, b => b.Contains("kept failing", StringComparison.Ordinal), Scenario.Patience, ownerMark);
        await S.Member.WaitForMessageAsync(dm, b => b.Contains("kept failing", StringComparison.Ordinal), Scenario.Patience, memberMark);
        Hs.Server.ClearFaults();

        // The three reports have arrived; none of them, nor anything else the bot said, carries the homeserver's words.
        var said = BotMessages(roomId).Concat(BotMessages(dm)).ToList();
        Assert.NotEmpty(said);
        Assert.DoesNotContain(said, m => m.Contains(Marker, StringComparison.Ordinal) || m.Contains(HostPort, StringComparison.Ordinal)
            || m.Contains("8448", StringComparison.Ordinal) || m.Contains("hs-internal", StringComparison.Ordinal));
        // The log has the detail.
        Assert.Contains(S.BotLog, line => line.Contains(Marker, StringComparison.Ordinal));
    }

    /// <summary>The owner sets the level that may invite (read-modify-write of <c>m.room.power_levels</c>).</summary>
    private async Task RequireToInviteAsync(string roomId, long level)
    {
        var current = await S.Owner.Client.GetStateAsync(roomId, EventTypes.PowerLevels, "", default);
        var content = System.Text.Json.Nodes.JsonNode.Parse(current.GetRawText())!.AsObject();
        content["invite"] = level;
        await S.Owner.Client.SetStateAsync(roomId, EventTypes.PowerLevels, "", System.Text.Json.JsonSerializer.SerializeToElement(content), default);
    }

    [Fact]
    public async Task An_invite_that_lacked_power_goes_through_once_the_owner_gives_the_bot_power_and_the_member_is_told()
    {
        await S.StartBotAsync();
        var (roomId, alias) = await S.OwnerMakesRoomAsync(); // the bot can invite when the member asks (no invoice otherwise)…
        await RequireToInviteAsync(roomId, 50); // …in a room where inviting takes a moderator
        await S.OwnerGatesAsync(roomId, "10 sats per 30d");
        var dm = await S.MemberOpensDmAsync();
        var bolt11 = await S.MemberAsksToJoinAsync(dm, alias);
        await S.Owner.SetPowerLevelAsync(roomId, S.BotUserId, 0); // …but the owner takes its power away before the member pays
        // The room's items are handled in order: once `show` (said after the change) is answered, the bot has seen the change,
        // and the failed invite below cannot be mistaken for one that raced it.
        var shownMark = S.Owner.Mark;
        await S.Owner.SayAsync(roomId, "!gate show");
        await S.Owner.WaitForMessageAsync(roomId, b => b.Contains("I cannot invite", StringComparison.Ordinal), Scenario.Patience, shownMark);

        var ownerMark = S.Owner.Mark;
        var memberMark = S.Member.Mark;
        await S.Lightning.PayAsync(bolt11);
        await S.Owner.WaitForMessageAsync(roomId, b => b.Contains("could not invite", StringComparison.Ordinal) && b.Contains("lack the power", StringComparison.Ordinal),
            Scenario.Patience, ownerMark);
        await S.Member.WaitForMessageAsync(dm, b => b.Contains("could not invite you", StringComparison.Ordinal) && b.Contains("as soon as", StringComparison.Ordinal),
            Scenario.Patience, memberMark);
        Assert.Equal("awaiting_power", await QueryAsync(tx => tx.ExecuteScalarAsync<string>("SELECT status FROM membership_actions WHERE action = 'invite'")));
        Assert.Null(Hs.Server.GetMembership(roomId, S.Member.UserId));

        // A change of power levels that does not help: the invite is tried again, still lacks power, and waits on.
        await S.Owner.SetPowerLevelAsync(roomId, "@someone:" + Hs.ServerName, 10);
        for (var i = 0; i < 300 && await QueryAsync(tx => tx.ExecuteScalarAsync<long>(
                 "SELECT COUNT(*) FROM membership_actions WHERE status = 'awaiting_power' AND power_changed_at IS NOT NULL")) == 0; i++)
            await Task.Delay(100);
        Assert.Equal(1, await QueryAsync(tx => tx.ExecuteScalarAsync<long>(
            "SELECT COUNT(*) FROM membership_actions WHERE status = 'awaiting_power' AND power_changed_at IS NOT NULL")));

        // The owner gives the bot power: the invite goes through, and the member is told.
        memberMark = S.Member.Mark;
        await S.Owner.SetPowerLevelAsync(roomId, S.BotUserId, 50);
        await S.Member.WaitForInviteAsync(roomId, Scenario.Patience);
        var told = await S.Member.WaitForMessageAsync(dm, b => b.Contains("Good news", StringComparison.Ordinal), Scenario.Patience, memberMark);
        Assert.Contains("invited you", Player.BodyOf(told), StringComparison.Ordinal);
        Assert.Equal("done", await QueryAsync(tx => tx.ExecuteScalarAsync<string>("SELECT status FROM membership_actions WHERE action = 'invite'")));

        // Nobody was told twice. In the DM the news came after the fruitless retry; in the room, a command's answer
        // must come after anything queued before it (each room's messages go out in order).
        ownerMark = S.Owner.Mark;
        await S.Owner.SayAsync(roomId, "!gate show");
        await S.Owner.WaitForMessageAsync(roomId, b => b.Contains("I can invite members", StringComparison.Ordinal), Scenario.Patience, ownerMark);
        Assert.Single(BotMessages(roomId), m => m.Contains("could not invite", StringComparison.Ordinal));
        Assert.Single(BotMessages(dm), m => m.Contains("could not invite you", StringComparison.Ordinal));
    }

    /// <summary>
    /// Issue "alerts to owners": what the bot could not do in a room is told to its owners by DM once per incident,
    /// however many members it hits, shown by <c>show</c> while it lasts, and told once more when it is over.
    /// </summary>
    [Fact]
    public async Task Owners_hear_of_failing_invites_once_per_incident_and_once_when_it_is_over()
    {
        await S.StartBotAsync(settings => settings["Limits:CommandBurst"] = "20");
        var (roomId, alias) = await S.OwnerMakesRoomAsync();
        await S.OwnerGatesAsync(roomId, "10 sats per 1d");
        var ownerDm = await S.Owner.OpenDirectMessageAsync(S.BotUserId);
        await S.Owner.WaitForMembershipAsync(ownerDm, S.BotUserId, Membership.Join, Scenario.Patience);
        var dm = await S.MemberOpensDmAsync();
        var ownerMark = S.Owner.Mark;

        // Two paid invites refused (each refusal is tried once more before it counts): two failures, one incident.
        Hs.Server.FailNext("/invite", 403, 4, "M_FORBIDDEN", "refused");
        for (var i = 0; i < 2; i++)
        {
            var memberMark = S.Member.Mark;
            await S.Lightning.PayAsync(await S.MemberAsksToJoinAsync(dm, alias));
            await S.Member.WaitForMessageAsync(dm, b => b.Contains("could not invite you", StringComparison.Ordinal), Scenario.Patience, memberMark);
        }
        var alert = await S.Owner.WaitForMessageAsync(ownerDm, b => b.Contains("needs your attention in " + alias, StringComparison.Ordinal), Scenario.Patience, ownerMark);
        Assert.Contains("could not invite", Player.BodyOf(alert), StringComparison.Ordinal);
        var showMark = S.Owner.Mark;
        await S.Owner.SayAsync(roomId, "!gate show");
        await S.Owner.WaitForMessageAsync(roomId, b => b.Contains("⚠ Since", StringComparison.Ordinal), Scenario.Patience, showMark);

        // The third invite goes through: the owners hear it is over (the control that the second failure told no one).
        await S.Lightning.PayAsync(await S.MemberAsksToJoinAsync(dm, alias));
        await S.Member.WaitForInviteAsync(roomId, Scenario.Patience);
        await S.Owner.WaitForMessageAsync(ownerDm, b => b.Contains("work again", StringComparison.Ordinal), Scenario.Patience, ownerMark);
        Assert.Single(S.Owner.Seen, e => e.RoomId == ownerDm && Player.BodyOf(e.Event).Contains("needs your attention", StringComparison.Ordinal));
        Assert.Equal(1, await QueryAsync(tx => tx.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM alerts WHERE resolved_at IS NOT NULL")));
    }
}
