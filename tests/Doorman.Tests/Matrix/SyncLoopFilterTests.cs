using Doorman.Matrix;
using Doorman.Matrix.Events;
using Doorman.Matrix.Rooms;
using Doorman.Matrix.Sync;
using Doorman.Sandbox.Homeserver;
using Microsoft.Extensions.Logging.Abstractions;

namespace Doorman.Tests.Matrix;

/// <summary>
/// A stored filter id the server no longer knows. Synapse answers 400 <c>M_INVALID_PARAM</c> "No such filter"
/// (checked on Synapse 1.160, and the sandbox answers the same) — the same status as a refused <c>since</c>
/// (400 <c>M_UNKNOWN</c> "Invalid stream token"), so the loop must tell them apart by errcode.
/// </summary>
public sealed class SyncLoopFilterTests : IAsyncLifetime
{
    private SandboxHomeserver _hs = null!;

    public async Task InitializeAsync() => _hs = await SandboxHomeserver.StartAsync();

    public async Task DisposeAsync() => await _hs.DisposeAsync();

    // Synapse answers an unknown filter id with 400 M_INVALID_PARAM "No such filter", and a bad token with 400
    // M_UNKNOWN "Invalid stream token": only the second may throw our position away (a fresh session's first
    // batch is never taken for commands, so a lost position loses the commands sent meanwhile).
    [Fact]
    public async Task An_unknown_filter_id_is_uploaded_again_without_losing_the_sync_position()
    {
        var bot = _hs.RegisterUser("bot");
        var alice = _hs.RegisterUser("alice");
        using var botClient = MatrixClient.Create(_hs.Url, bot.AccessToken);
        using var aliceClient = MatrixClient.Create(_hs.Url, alice.AccessToken);
        var room = await aliceClient.CreateRoomAsync(new CreateRoomRequest { Preset = CreateRoomRequest.PublicChat }, default);
        await botClient.JoinAsync(room, null, null, default);
        var since = (await botClient.SyncAsync(null, null, TimeSpan.Zero, default)).NextBatch;

        // While the bot is away a command arrives; its stored filter id is one the server does not know.
        await aliceClient.SendMessageAsync(room, "t1", new MessageContent { MsgType = MessageContent.Text, Body = "!gate status" }, default);
        var options = new SyncLoopOptions { LongPollTimeout = TimeSpan.FromSeconds(1), MinBackoff = TimeSpan.FromMilliseconds(20) };
        var store = new MemorySyncStateStore(new SyncState(since, "9999", options.FilterJson));
        var handler = new FirstBatch();
        using var stop = new CancellationTokenSource();
        var running = new SyncLoop(botClient, store, handler, options, TimeProvider.System, NullLogger<SyncLoop>.Instance).RunAsync(bot.UserId, stop.Token);

        var batch = await handler.Batch.Task.WaitAsync(TimeSpan.FromSeconds(15));
        await stop.CancelAsync();
        await running;

        Assert.False(batch.IsInitial, "the loop threw its sync position away over a refused filter");
        Assert.Contains(batch.Response.Rooms?.Join?[room].Timeline?.Events ?? [], e => e.ContentString("body") == "!gate status");
        Assert.NotEqual("9999", store.State.FilterId);
    }

    private sealed class FirstBatch : ISyncHandler
    {
        public TaskCompletionSource<SyncBatch> Batch { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task HandleAsync(SyncBatch batch, CancellationToken cancellationToken)
        {
            Batch.TrySetResult(batch);
            return Task.CompletedTask;
        }
    }
}
