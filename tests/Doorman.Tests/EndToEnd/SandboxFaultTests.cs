using Doorman.Matrix;
using Doorman.Matrix.Sync;
using Doorman.Sandbox.Players;
using Doorman.Storage;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace Doorman.Tests.EndToEnd;

/// <summary>The bot against a homeserver that fails under it: restarts, repeated batches.</summary>
public sealed class SandboxFaultTests(ITestOutputHelper output) : SandboxScenarioTests(output)
{
    [Fact]
    public async Task The_homeserver_restarting_mid_long_poll_loses_no_command()
    {
        await S.StartBotAsync();
        var (roomId, _) = await S.OwnerMakesRoomAsync();
        await Task.Delay(500); // the bot is now inside a 30 s long-poll

        await Hs.Server.RestartAsync();
        var mark = S.Owner.Mark;
        await S.Owner.SayAsync(roomId, "!gate set 12 sats per 12d");
        await S.Owner.WaitForMessageAsync(roomId, b => b.Contains("now costs 12 sats", StringComparison.Ordinal), Scenario.Patience, mark);
    }

    [Fact]
    public async Task A_batch_handled_twice_answers_once()
    {
        // As after a crash between handling a batch and storing its token: the same batch comes again.
        await S.StartBotAsync();
        var (roomId, _) = await S.OwnerMakesRoomAsync();
        await S.StopBotAsync();
        using var probe = MatrixClient.Create(Hs.Url, S.BotToken);
        var since = await new Database(S.DatabasePath).ReadAsync(tx => new Cursors().GetAsync(tx, Cursors.SyncSince), default);
        await S.Owner.SayAsync(roomId, "!gate set 3 sats per 3d");
        var batch = new SyncBatch(await probe.SyncAsync(since, null, TimeSpan.FromSeconds(5), default), IsInitial: false);

        await S.StartBotAsync(); // the bot syncs from its stored token and handles the command itself...
        var handler = S.Bot!.Services.GetRequiredService<ISyncHandler>();
        await handler.HandleAsync(batch, default); // ...and the same batch is handled again
        await handler.HandleAsync(batch, default);

        await S.Owner.WaitForMessageAsync(roomId, b => b.Contains("now costs 3 sats", StringComparison.Ordinal), Scenario.Patience);
        // A control the bot must answer after the repeats, in the same room: once it is answered, a second answer would be there.
        var control = S.Owner.Mark;
        await S.Owner.SayAsync(roomId, "!gate show");
        await S.Owner.WaitForMessageAsync(roomId, b => b.Contains("costs 3 sats", StringComparison.Ordinal) && !b.Contains("now costs", StringComparison.Ordinal),
            Scenario.Patience, control);
        Assert.Single(S.Owner.Seen, e => e.RoomId == roomId && Player.BodyOf(e.Event).Contains("now costs 3 sats", StringComparison.Ordinal));
        Assert.Equal(1, await new Database(S.DatabasePath).ReadAsync(
            tx => tx.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM outgoing_messages WHERE content LIKE '%now costs 3 sats%'"), default));
    }

    [Fact]
    public async Task A_token_revoked_while_running_stops_the_bot_with_the_reason()
    {
        await S.StartBotAsync();
        var (roomId, _) = await S.OwnerMakesRoomAsync();
        var lifetime = S.Bot!.Services.GetRequiredService<Microsoft.Extensions.Hosting.IHostApplicationLifetime>();
        var stopping = new TaskCompletionSource();
        using var _ = lifetime.ApplicationStopping.Register(() => stopping.TrySetResult());

        Hs.Server.InvalidateToken(S.BotToken, softLogout: true);
        await S.Owner.SayAsync(roomId, "hello"); // ends the bot's long-poll; the next request is refused
        await stopping.Task.WaitAsync(Scenario.Patience);
        var reason = S.Bot.Services.GetRequiredService<Doorman.Homeserver.Fatal>().Reason;
        Assert.Contains("no longer accepts the bot's access token", reason, StringComparison.Ordinal);
        Assert.Contains("soft logout", reason, StringComparison.Ordinal);
        Assert.DoesNotContain(S.BotToken, reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_encrypted_message_whose_key_never_comes_gets_one_plain_notice_an_hour_and_the_DM_goes_on()
    {
        // The inbox tries the event again while its key may still come; short waits keep the test quick.
        await S.StartBotAsync(settings =>
        {
            settings["Inbox:FirstRetry"] = "00:00:00.200";
            settings["Inbox:Attempts"] = "3";
        });
        var dm = await S.Member.Client.CreateRoomAsync(new Doorman.Matrix.Rooms.CreateRoomRequest
        {
            Preset = Doorman.Matrix.Rooms.CreateRoomRequest.TrustedPrivateChat,
            IsDirect = true,
            Invite = [S.BotUserId],
            InitialState = [new Doorman.Matrix.Rooms.InitialStateEvent
            {
                Type = "m.room.encryption",
                Content = System.Text.Json.JsonDocument.Parse("""{"algorithm":"m.megolm.v1.aes-sha2"}""").RootElement.Clone(),
            }],
        }, default);
        await S.Member.WaitForMembershipAsync(dm, S.BotUserId, Doorman.Matrix.Events.Membership.Join, Scenario.Patience);

        // A Megolm message under a session nobody shared with the bot (libolm output; its key is long gone).
        var ciphertext = System.Text.Json.JsonDocument.Parse(
            """{"algorithm":"m.megolm.v1.aes-sha2","ciphertext":"AwgAEnACgAkLmt6qF84IK++J7UDH2Za1YVchHyprqTqsg2yyOwAtHaZTwyNg37afzg8f3r9IsN9r4RNFg7MaZencUJe4qvELiDiopUjy5wYVDAtqdBzer5bWRD9ldxp1FLgbQvBcjkkywYjCsmsq6+hArLd9oAQZnGKn/qLsK+5uNX3PaWzDRC9wZPQvWYYPCTov3jCwXKTPsLKIiTrcCXDqMvnn8m+T3zF/I2zqxg158tnUwWWIw51UO","device_id":"RJYKSTBOIE","sender_key":"IlRMeOPX2e0MurIyfWEucYBRVOEEUMrOHqn/8mLqMjA","session_id":"X3lUlvLELLYxeTx4yOVu6UDpasGEVO0Jbu+QFnm0cKQ"}""").RootElement.Clone();
        await S.Member.Client.SendEventAsync(dm, "m.room.encrypted", "enc-1", ciphertext, default);
        var notice = await S.Member.WaitForMessageAsync(dm, b => b.Contains("could not read your encrypted message", StringComparison.Ordinal), Scenario.Patience);
        Assert.Equal("m.notice", notice.ContentString("msgtype"));
        Assert.Contains("its key never reached me", Player.BodyOf(notice), StringComparison.Ordinal);

        // No new DM: the talk stays where it is. A second undecryptable message within the hour is not told again;
        // a command after it, the control, is answered in the same room, encrypted (the player decrypts it).
        await S.Member.Client.SendEventAsync(dm, "m.room.encrypted", "enc-2", ciphertext, default);
        var control = S.Member.Mark;
        await S.Member.SayAsync(dm, "help");
        await S.Member.WaitForMessageAsync(dm, b => b.Contains("I sell access", StringComparison.Ordinal), Scenario.Patience, control);
        Assert.Single(S.Member.Seen, e => e.RoomId == dm && Player.BodyOf(e.Event).Contains("could not read your encrypted", StringComparison.Ordinal));
        Assert.DoesNotContain(S.Member.InvitedRooms, r => r != dm);
    }
}
