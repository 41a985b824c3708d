using System.Text.Json;
using Doorman.Matrix;
using Doorman.Matrix.Events;
using Doorman.Matrix.Rooms;
using Doorman.Sandbox.Players;
using Doorman.Storage;
using Xunit.Abstractions;

namespace Doorman.Tests.EndToEnd;

/// <summary>The inbox on the sandbox: one event is one unit of failure, and no command is dropped silently.</summary>
public sealed class InboxTests(ITestOutputHelper output) : SandboxScenarioTests(output)
{
    private Task<T> QueryAsync<T>(Func<Tx, Task<T>> query) => new Database(S.DatabasePath).ReadAsync(query, default);

    private static bool Says(ClientEvent e, string text) => Player.BodyOf(e).Contains(text, StringComparison.Ordinal);

    [Fact]
    public async Task A_command_whose_remote_server_is_down_is_quarantined_while_everyone_else_is_answered()
    {
        await S.StartBotAsync(settings =>
        {
            settings["Inbox:Attempts"] = "3";
            settings["Inbox:FirstRetry"] = "00:00:01";
        });
        var (roomId, _) = await S.OwnerMakesRoomAsync();
        var dm = await S.MemberOpensDmAsync();

        // The other server is down: every lookup of its aliases fails with 502, as Synapse answers when federation fails.
        Hs.Server.FailNext("unreachable.example", 502, 1_000_000);
        var mark = S.Member.Mark;
        await S.Member.SayAsync(dm, "join #x:unreachable.example");

        // Meanwhile the owner is answered, while the member's command is still being tried.
        var ownerMark = S.Owner.Mark;
        await S.Owner.SayAsync(roomId, "!gate show");
        await S.Owner.WaitForMessageAsync(roomId, b => b.Contains("is not gated", StringComparison.Ordinal), Scenario.Patience, ownerMark);
        Assert.Equal(0, await QueryAsync(tx => tx.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM inbox WHERE status = 'quarantined'")));

        // Then the member is told, once, in one sentence, and the item is kept with its error.
        var told = await S.Member.WaitForMessageAsync(dm, b => b.Contains("try again", StringComparison.Ordinal), TimeSpan.FromSeconds(90), mark);
        Assert.DoesNotContain("unreachable", Player.BodyOf(told), StringComparison.Ordinal);
        var (status, attempts, error) = await QueryAsync(tx => tx.QuerySingleOrDefaultAsync<(string, long, string)>(
            "SELECT status, attempts, last_error FROM inbox WHERE kind = 'event' AND payload LIKE '%unreachable.example%'"));
        Assert.Equal("quarantined", status);
        Assert.Equal(3, attempts);
        Assert.Contains("502", error, StringComparison.Ordinal);

        // The member's DM is not stuck behind it: the next command there is answered.
        var next = S.Member.Mark;
        await S.Member.SayAsync(dm, "status");
        await S.Member.WaitForMessageAsync(dm, b => b.Contains("no paid rooms", StringComparison.Ordinal), Scenario.Patience, next);
    }

    [Fact]
    public async Task Commands_left_out_of_a_limited_timeline_are_fetched_and_answered()
    {
        await S.StartBotAsync();
        var (roomId, _) = await S.OwnerMakesRoomAsync();
        await S.OwnerGatesAsync(roomId, "21 sats per 30d");
        await S.StopBotAsync();

        // More than the bot's timeline limit (50) arrives while it is down: its next sync is limited, the command in the gap.
        await S.Owner.SayAsync(roomId, "!gate show");
        for (var i = 0; i < 60; i++)
            await S.Owner.SayAsync(roomId, $"chatter {i}");
        var mark = S.Owner.Mark;
        await S.StartBotAsync();

        var reply = await S.Owner.WaitForMessageAsync(roomId, b => b.Contains("costs", StringComparison.Ordinal) && b.Contains("21 sats", StringComparison.Ordinal),
            Scenario.Patience, mark);
        Assert.Equal(S.BotUserId, reply.Sender);
        Assert.Contains(S.BotLog, line => line.Contains("Fetched a gap", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_change_of_the_bots_display_name_does_not_hide_the_commands_before_it()
    {
        await S.StartBotAsync();
        var (roomId, _) = await S.OwnerMakesRoomAsync();
        await S.StopBotAsync();

        await S.Owner.SayAsync(roomId, "!gate set 9 sats per 7d");
        // The bot's own member event, still "join": a new display name (CS API §"m.room.member"), after the command.
        using var bot = MatrixClient.Create(S.Homeserver.Url, S.BotToken);
        await bot.SetStateAsync(roomId, EventTypes.Member, S.BotUserId,
            JsonSerializer.SerializeToElement(new { membership = "join", displayname = "Doorman (renamed)" }), default);
        var mark = S.Owner.Mark;
        await S.StartBotAsync();

        await S.Owner.WaitForMessageAsync(roomId, b => b.Contains("now costs 9 sats", StringComparison.Ordinal), Scenario.Patience, mark);
    }

    [Fact]
    public async Task A_DM_invite_to_a_room_with_others_in_it_is_left_with_a_word_and_is_no_DM()
    {
        await S.StartBotAsync();
        // The owner claims a DM (is_direct), but the member is in the room too.
        var roomId = await S.Owner.Client.CreateRoomAsync(new CreateRoomRequest
        {
            Preset = CreateRoomRequest.TrustedPrivateChat,
            IsDirect = true,
            Invite = [S.Member.UserId, S.BotUserId],
        }, default);

        var said = await S.Owner.WaitForMessageAsync(roomId, b => b.Contains("one to one", StringComparison.Ordinal), Scenario.Patience);
        Assert.Equal(S.BotUserId, said.Sender);
        await S.Owner.WaitForMembershipAsync(roomId, S.BotUserId, Membership.Leave, Scenario.Patience);
        Assert.Null(await QueryAsync(tx => tx.QuerySingleOrDefaultAsync<long?>("SELECT left_at FROM dm_rooms WHERE room_id = @roomId AND left_at IS NULL", new { roomId })));
    }

    [Fact]
    public async Task A_DM_that_gains_a_third_member_is_left_once()
    {
        await S.StartBotAsync();
        var dm = await S.MemberOpensDmAsync();
        var mark = S.Member.Mark;
        await S.Member.Client.InviteAsync(dm, S.Owner.UserId, null, default);

        await S.Member.WaitForMessageAsync(dm, b => b.Contains("one to one", StringComparison.Ordinal), Scenario.Patience, mark);
        await S.Member.WaitForMembershipAsync(dm, S.BotUserId, Membership.Leave, Scenario.Patience);

        // The member's next request opens a new DM; the old one is not used again.
        var next = await S.Member.OpenDirectMessageAsync(S.BotUserId);
        await S.Member.WaitForMembershipAsync(next, S.BotUserId, Membership.Join, Scenario.Patience);
        await S.Member.SayAsync(next, "status");
        await S.Member.WaitForMessageAsync(next, b => b.Contains("no paid rooms", StringComparison.Ordinal), Scenario.Patience);
        Assert.Single(S.Member.Seen, e => e.RoomId == dm && e.Event.Sender == S.BotUserId && Says(e.Event, "one to one"));
    }

    [Fact]
    public async Task Status_asked_in_a_group_room_is_answered_in_the_DM()
    {
        await S.StartBotAsync();
        var (roomId, _) = await S.OwnerMakesRoomAsync();
        var dm = await S.MemberOpensDmAsync();
        await S.Owner.Client.InviteAsync(roomId, S.Member.UserId, null, default);
        await S.Member.WaitForInviteAsync(roomId, Scenario.Patience);
        await S.Member.Client.JoinAsync(roomId, null, null, default);

        var mark = S.Member.Mark;
        await S.Member.SayAsync(roomId, "!gate status");
        await S.Member.WaitForMessageAsync(roomId, b => b.Contains("in a direct message", StringComparison.Ordinal), Scenario.Patience, mark);
        await S.Member.WaitForMessageAsync(dm, b => b.Contains("no paid rooms", StringComparison.Ordinal), Scenario.Patience, mark);
        Assert.DoesNotContain(S.Member.Seen.Skip(mark), e => e.RoomId == roomId && Says(e.Event, "no paid rooms"));
    }
}
