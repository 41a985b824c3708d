using Doorman.Matrix;
using Doorman.Matrix.Sync;
using Doorman.Sandbox.Homeserver;
using Doorman.Tests.Sandbox.Homeserver;
using Microsoft.Extensions.Logging.Abstractions;

namespace Doorman.Tests.Peers;

/// <summary>
/// The homeserver a peer scenario runs on, and everything the scenario starts on it: a fresh sandbox (rate-limited
/// like our test Synapse) or the real Synapse named by <c>DOORMAN_SYNAPSE_URL</c>. Users are registered through
/// the shared-secret admin API, which both speak. Disposing stops the peers, sync loops and clients, then the sandbox.
/// </summary>
public sealed class PeerHomeserver : IAsyncDisposable
{
    private readonly SandboxHomeserver? _sandbox;
    private readonly Action<string>? _log;
    private readonly List<object> _owned = [];

    private PeerHomeserver(string name, SandboxHomeserver? sandbox, Uri url, string sharedSecret, Action<string>? log)
    {
        Name = name;
        _sandbox = sandbox;
        _log = log;
        Url = url;
        Admin = new MatrixTestClient(url, sharedSecret);
    }

    /// <summary>"sandbox" or "Synapse", for messages.</summary>
    public string Name { get; }

    public Uri Url { get; }

    /// <summary>Raw HTTP calls (registration, direct checks) against this server.</summary>
    public MatrixTestClient Admin { get; }

    public static async Task<PeerHomeserver> StartSandboxAsync(Action<string>? log = null)
    {
        var sandbox = await SandboxHomeserver.StartAsync(new SandboxHomeserverOptions
        {
            MessageRateLimit = new RateLimit(PerSecond: 0.5, Burst: 5), // our test Synapse's rc_message
            RegistrationSharedSecret = TestHomeserver.SharedSecret,
        });
        return new PeerHomeserver("sandbox", sandbox, sandbox.Url, TestHomeserver.SharedSecret, log);
    }

    /// <summary>The real Synapse of <see cref="SynapseEnvironment"/>; the caller's attribute has already skipped when there is none.</summary>
    public static PeerHomeserver Synapse(Action<string>? log = null) =>
        new("Synapse", null, SynapseEnvironment.Url ?? throw new InvalidOperationException(SynapseEnvironment.NotConfigured), SynapseEnvironment.Secret, log);

    /// <summary>A fresh user whose localpart starts with <paramref name="prefix"/>.</summary>
    public Task<TestUser> RegisterAsync(string prefix) => Admin.RegisterAsync(prefix);

    /// <summary>Our own client (the library under test) for that user.</summary>
    public MatrixClient Client(TestUser user)
    {
        var client = MatrixClient.Create(Url, user.AccessToken);
        _owned.Add(client);
        return client;
    }

    /// <summary>A matrix-js-sdk peer logged in as that user, its first sync done.</summary>
    public async Task<JsPeer> PeerAsync(TestUser user)
    {
        var peer = await JsPeer.StartAsync(user.Localpart, _log);
        _owned.Add(peer);
        await peer.LoginAsync(Url, user.UserId, user.AccessToken);
        return peer;
    }

    /// <summary>Our <see cref="SyncLoop"/> for that user, recording every batch it hands over.</summary>
    public SyncRecorder StartSync(MatrixClient client, TestUser user)
    {
        var recorder = new SyncRecorder();
        recorder.Start(new SyncLoop(client, recorder, recorder,
            new SyncLoopOptions { LongPollTimeout = TimeSpan.FromSeconds(5), MinBackoff = TimeSpan.FromMilliseconds(100) },
            TimeProvider.System, NullLogger<SyncLoop>.Instance), user.UserId);
        _owned.Add(recorder);
        return recorder;
    }

    public async ValueTask DisposeAsync()
    {
        for (var i = _owned.Count - 1; i >= 0; i--)
        {
            switch (_owned[i])
            {
                case IAsyncDisposable a:
                    await a.DisposeAsync();
                    break;
                case IDisposable d:
                    d.Dispose();
                    break;
            }
        }

        Admin.Dispose();
        if (_sandbox is not null)
        {
            await _sandbox.DisposeAsync();
        }
    }
}

/// <summary>
/// Runs a <see cref="SyncLoop"/> in the background as the bot would (it is both the loop's handler and its
/// in-memory token store) and lets a test wait for a batch that shows something.
/// </summary>
public sealed class SyncRecorder : ISyncHandler, ISyncStateStore, IAsyncDisposable
{
    private readonly List<SyncBatch> _batches = [];
    private readonly CancellationTokenSource _stop = new();
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private SyncState _state = new(null, null, null);
    private Task _running = Task.CompletedTask;

    public void Start(SyncLoop loop, string userId) => _running = Task.Run(() => loop.RunAsync(userId, _stop.Token));

    public IReadOnlyList<SyncBatch> Batches
    {
        get
        {
            lock (_batches)
            {
                return [.. _batches];
            }
        }
    }

    /// <summary>
    /// The first non-null value <paramref name="find"/> returns for a batch handled so far or arriving within
    /// <paramref name="timeout"/>; fails naming <paramref name="what"/>, and fails at once if the loop died.
    /// </summary>
    public async Task<T> WaitForAsync<T>(Func<SyncResponse, T?> find, string what, TimeSpan? timeout = null)
        where T : class
    {
        var deadline = Task.Delay(timeout ?? TimeSpan.FromSeconds(20));
        var seen = 0;
        while (true)
        {
            Task changed;
            lock (_batches)
            {
                for (; seen < _batches.Count; seen++)
                {
                    if (find(_batches[seen].Response) is { } found)
                    {
                        return found;
                    }
                }

                changed = _changed.Task;
            }

            var first = await Task.WhenAny(changed, deadline, _running);
            if (first == _running)
            {
                await _running; // surfaces why the loop stopped, if it threw
                throw new InvalidOperationException($"our sync loop stopped before it saw {what}");
            }

            if (first == deadline)
            {
                throw new TimeoutException($"our sync loop did not see {what} within {timeout ?? TimeSpan.FromSeconds(20)} ({seen} batches)");
            }
        }
    }

    Task ISyncHandler.HandleAsync(SyncBatch batch, CancellationToken cancellationToken)
    {
        lock (_batches)
        {
            _batches.Add(batch);
            _changed.TrySetResult();
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        return Task.CompletedTask;
    }

    Task<SyncState> ISyncStateStore.LoadAsync(CancellationToken cancellationToken) => Task.FromResult(_state);

    Task ISyncStateStore.SaveSinceAsync(string? since, CancellationToken cancellationToken)
    {
        _state = _state with { Since = since };
        return Task.CompletedTask;
    }

    Task ISyncStateStore.SaveFilterAsync(string filterId, string filterJson, CancellationToken cancellationToken)
    {
        _state = _state with { FilterId = filterId, FilterJson = filterJson };
        return Task.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _running.WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (Exception e) when (e is OperationCanceledException or TimeoutException)
        {
            // Stopping is all that matters here.
        }

        _stop.Dispose();
    }
}
