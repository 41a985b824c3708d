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
        await Task.Delay(1000);
        await S.Owner.PumpAsync(TimeSpan.FromSeconds(1));
        Assert.Single(S.Owner.Seen, e => e.RoomId == roomId && Player.BodyOf(e.Event).Contains("now costs 3 sats", StringComparison.Ordinal));
        Assert.Equal(1, await new Database(S.DatabasePath).ReadAsync(
            tx => tx.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM outgoing_messages WHERE content LIKE '%now costs 3 sats%'"), default));
    }
}
