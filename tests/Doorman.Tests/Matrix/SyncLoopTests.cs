using Doorman.Matrix;
using Doorman.Matrix.Events;
using Doorman.Matrix.Rooms;
using Doorman.Matrix.Sync;
using Doorman.Sandbox.Homeserver;
using Microsoft.Extensions.Logging.Abstractions;

namespace Doorman.Tests.Matrix;

/// <summary>The sync loop: the token is stored only after the handler finishes; failures and refusals are survived.</summary>
public sealed class SyncLoopTests : IAsyncLifetime
{
    private SandboxHomeserver _hs = null!;
    private SandboxUser _bot = null!;
    private SandboxUser _alice = null!;
    private MatrixClient _botClient = null!;
    private MatrixClient _aliceClient = null!;

    public async Task InitializeAsync()
    {
        _hs = await SandboxHomeserver.StartAsync();
        _bot = _hs.RegisterUser("bot");
        _alice = _hs.RegisterUser("alice");
        _botClient = MatrixClient.Create(_hs.Url, _bot.AccessToken);
        _aliceClient = MatrixClient.Create(_hs.Url, _alice.AccessToken);
    }

    public async Task DisposeAsync()
    {
        _botClient.Dispose();
        _aliceClient.Dispose();
        await _hs.DisposeAsync();
    }

    private SyncLoop Loop(ISyncStateStore store, ISyncHandler handler) =>
        new(_botClient, store, handler, new SyncLoopOptions { LongPollTimeout = TimeSpan.FromSeconds(2), MinBackoff = TimeSpan.FromMilliseconds(20) },
            TimeProvider.System, NullLogger<SyncLoop>.Instance);

    private async Task<string> RoomWithBotAsync()
    {
        var room = await _aliceClient.CreateRoomAsync(new CreateRoomRequest { Preset = CreateRoomRequest.PublicChat }, default);
        await _botClient.JoinAsync(room, null, null, default);
        return room;
    }

    private Task<string> SayAsync(string room, string text) =>
        _aliceClient.SendMessageAsync(room, Guid.NewGuid().ToString("N"), new MessageContent { MsgType = MessageContent.Text, Body = text }, default);

    [Fact]
    public async Task The_first_batch_is_initial_and_later_ones_carry_new_messages()
    {
        var room = await RoomWithBotAsync();
        await SayAsync(room, "old");
        var store = new MemorySyncStateStore();
        var handler = new Recorder();
        using var stop = new CancellationTokenSource();
        var running = Loop(store, handler).RunAsync(_bot.UserId, stop.Token);

        await handler.WaitAsync(b => b.IsInitial);
        await SayAsync(room, "new");
        var batch = await handler.WaitAsync(b => !b.IsInitial && Bodies(b).Contains("new"));
        Assert.DoesNotContain("old", Bodies(batch));
        Assert.NotNull(store.State.FilterId);
        await stop.CancelAsync();
        await running;
    }

    [Fact]
    public async Task A_failing_handler_keeps_the_token_so_the_batch_comes_again()
    {
        var room = await RoomWithBotAsync();
        var store = new MemorySyncStateStore();
        var handler = new Recorder();
        using var stop = new CancellationTokenSource();
        var running = Loop(store, handler).RunAsync(_bot.UserId, stop.Token);
        await handler.WaitAsync(b => b.IsInitial);
        var tokenBefore = store.State.Since;

        handler.FailNext = 2;
        await SayAsync(room, "important");
        var delivered = await handler.WaitAsync(b => Bodies(b).Contains("important"));
        Assert.Equal(2, handler.Failures);
        Assert.NotEqual(tokenBefore, store.State.Since);
        Assert.Equal(delivered.Response.NextBatch, store.State.Since);
        await stop.CancelAsync();
        await running;
    }

    [Fact]
    public async Task A_refused_token_starts_a_fresh_session_that_replays_nothing()
    {
        await RoomWithBotAsync();
        var store = new MemorySyncStateStore(new SyncState("garbage-token", null, null));
        var handler = new Recorder();
        using var stop = new CancellationTokenSource();
        var running = Loop(store, handler).RunAsync(_bot.UserId, stop.Token);
        var first = await handler.WaitAsync(_ => true);
        Assert.True(first.IsInitial);
        await stop.CancelAsync();
        await running;
    }

    [Fact]
    public async Task Server_errors_are_survived_with_backoff()
    {
        var room = await RoomWithBotAsync();
        var store = new MemorySyncStateStore();
        var handler = new Recorder();
        using var stop = new CancellationTokenSource();
        var loop = Loop(store, handler);
        var running = loop.RunAsync(_bot.UserId, stop.Token);
        await handler.WaitAsync(b => b.IsInitial);

        _hs.FailNext("/sync", 502, 3);
        await SayAsync(room, "after the outage");
        await handler.WaitAsync(b => Bodies(b).Contains("after the outage"));
        // The loop leaves its outage once the batch's token is stored, just after the handler returns.
        for (var i = 0; i < 100 && loop.IsFailing; i++)
            await Task.Delay(50);
        Assert.False(loop.IsFailing);
        await stop.CancelAsync();
        await running;
    }

    [Fact]
    public async Task An_invalidated_token_ends_the_loop_with_the_reason()
    {
        var store = new MemorySyncStateStore();
        var handler = new Recorder();
        var running = Loop(store, handler).RunAsync(_bot.UserId, CancellationToken.None);
        await handler.WaitAsync(b => b.IsInitial);
        _hs.InvalidateToken(_bot.AccessToken, softLogout: true);
        var e = await Assert.ThrowsAsync<MatrixException>(() => running.WaitAsync(TimeSpan.FromSeconds(20)));
        Assert.True(e.IsUnknownToken);
        Assert.True(e.SoftLogout);
    }

    [Fact]
    public async Task A_batch_being_handled_when_the_loop_is_stopped_is_finished_and_its_token_stored()
    {
        var store = new MemorySyncStateStore();
        var handler = new Holding();
        using var stop = new CancellationTokenSource();
        var running = Loop(store, handler).RunAsync(_bot.UserId, stop.Token);

        var batch = await handler.Started.WaitAsync(TimeSpan.FromSeconds(15)); // the session's first batch, held
        await stop.CancelAsync();
        await Task.Delay(200);
        Assert.False(running.IsCompleted);
        handler.Release.SetResult();
        await running.WaitAsync(TimeSpan.FromSeconds(15));

        Assert.True(batch.IsInitial);
        Assert.False(handler.SawCancellation);
        Assert.Equal(batch.Response.NextBatch, store.State.Since);
    }

    [Fact]
    public async Task A_batch_that_outlasts_the_stop_grace_is_cancelled_and_its_token_not_stored()
    {
        var store = new MemorySyncStateStore();
        var handler = new Holding();
        using var stop = new CancellationTokenSource();
        var loop = new SyncLoop(_botClient, store, handler, new SyncLoopOptions { StopGrace = TimeSpan.FromMilliseconds(300) },
            TimeProvider.System, NullLogger<SyncLoop>.Instance);
        var running = loop.RunAsync(_bot.UserId, stop.Token);

        await handler.Started.WaitAsync(TimeSpan.FromSeconds(15));
        await stop.CancelAsync();
        await running.WaitAsync(TimeSpan.FromSeconds(15)); // returns, without an exception, once the grace is over

        Assert.True(handler.SawCancellation);
        Assert.Null(store.State.Since);
    }

    private static List<string> Bodies(SyncBatch batch) =>
        (batch.Response.Rooms?.Join ?? []).Values.SelectMany(r => r.Timeline?.Events ?? []).Select(e => e.ContentString("body") ?? "").ToList();

    /// <summary>Holds the first batch until <see cref="Release"/> is set, or until it is cancelled.</summary>
    private sealed class Holding : ISyncHandler
    {
        private readonly TaskCompletionSource<SyncBatch> _started = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<SyncBatch> Started => _started.Task;

        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool SawCancellation { get; private set; }

        public async Task HandleAsync(SyncBatch batch, CancellationToken cancellationToken)
        {
            if (!_started.TrySetResult(batch))
                return;
            try
            {
                await Release.Task.WaitAsync(cancellationToken);
            }
            catch (OperationCanceledException)
            {
                SawCancellation = true;
                throw;
            }
        }
    }

    private sealed class Recorder : ISyncHandler
    {
        private readonly List<SyncBatch> _batches = [];

        public int FailNext { get; set; }

        public int Failures { get; private set; }

        public Task HandleAsync(SyncBatch batch, CancellationToken cancellationToken)
        {
            lock (_batches)
            {
                if (FailNext > 0 && Bodies(batch).Count > 0)
                {
                    FailNext--;
                    Failures++;
                    throw new InvalidOperationException("the database is locked (simulated)");
                }
                _batches.Add(batch);
            }
            return Task.CompletedTask;
        }

        public async Task<SyncBatch> WaitAsync(Func<SyncBatch, bool> match)
        {
            for (var i = 0; i < 300; i++)
            {
                lock (_batches)
                    if (_batches.FirstOrDefault(match) is { } found)
                        return found;
                await Task.Delay(50);
            }
            throw new TimeoutException("no matching sync batch within 15 s");
        }
    }
}
