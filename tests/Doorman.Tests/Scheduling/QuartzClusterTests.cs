using System.Collections.Concurrent;
using Doorman.Scheduling;
using Doorman.Storage;
using Doorman.Tests.Support;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using Quartz;
using Xunit.Abstractions;

namespace Doorman.Tests.Scheduling;

/// <summary>
/// Quartz's clustered job store on a real PostgreSQL (Storage:Provider Postgres): the schema the bot provisions, and
/// two schedulers built by <see cref="SchedulingSetup.AddScheduling(IServiceCollection, IConfiguration)"/>'s own code
/// sharing one database, each firing run on exactly one of them. Each test gets a database of its own, dropped after.
/// Runs when DOORMAN_POSTGRES names a server (<see cref="TestPostgres"/>).
/// </summary>
public sealed class QuartzClusterTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private readonly Firings _firings = new();
    private readonly List<IHost> _hosts = [];
    private TestPostgres? _postgres;
    private string _connectionString = "";

    public async Task InitializeAsync()
    {
        if (TestPostgres.Server is null)
            return;
        _postgres = await TestPostgres.CreateAsync();
        _connectionString = _postgres.ConnectionString;
    }

    public async Task DisposeAsync()
    {
        foreach (var host in _hosts)
        {
            await host.StopAsync();
            host.Dispose();
        }

        if (_postgres is not null)
            await _postgres.DisposeAsync();
    }

    [PostgresFact]
    public async Task Provisioning_the_schema_is_idempotent_and_safe_when_two_instances_start_at_once()
    {
        await Task.WhenAll(QuartzSchema.EnsureAsync(_connectionString, CancellationToken.None),
            QuartzSchema.EnsureAsync(_connectionString, CancellationToken.None));
        await QuartzSchema.EnsureAsync(_connectionString, CancellationToken.None);

        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync();
        await using var count = new NpgsqlCommand(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name LIKE 'qrtz!_%' ESCAPE '!'", connection);
        Assert.Equal(15L, (long)(await count.ExecuteScalarAsync())!);
    }

    [PostgresFact]
    public async Task Two_nodes_fire_each_trigger_exactly_once_and_both_take_part()
    {
        var a = await StartNodeAsync("a");
        var b = await StartNodeAsync("b");
        Assert.NotEqual(await InstanceIdAsync(a), await InstanceIdAsync(b));

        const int N = 20;
        var keys = await ScheduleShotsAsync(a, "shot", N, TimeSpan.FromSeconds(2), TimeSpan.FromMilliseconds(150));

        await Eventually.UntilAsync(() => Task.FromResult(_firings.CountOf(keys) >= N), $"{N} firings", Patience);
        // The control: a last trigger, scheduled after the N, fired once. Any second run of one of the N would have
        // happened by then (they were all due earlier), so the counts below are final.
        var control = await ScheduleShotsAsync(b, "control", 1, TimeSpan.Zero, TimeSpan.Zero);
        await Eventually.UntilAsync(() => Task.FromResult(_firings.CountOf(control) == 1), "the control firing", Patience);

        Assert.All(keys, key => Assert.Single(_firings.Of(key)));
        var nodes = keys.SelectMany(_firings.Of).GroupBy(f => f.Node).ToDictionary(g => g.Key, g => g.Count());
        output.WriteLine(string.Join(", ", nodes.Select(n => $"{n.Key}: {n.Value}")));
        Assert.Equal(["a", "b"], nodes.Keys.Order());
    }

    [PostgresFact]
    public async Task When_one_node_stops_the_other_fires_what_it_scheduled()
    {
        var a = await StartNodeAsync("a");
        await StartNodeAsync("b");

        const int N = 10;
        var keys = await ScheduleShotsAsync(a, "shot", N, TimeSpan.FromSeconds(2), TimeSpan.FromMilliseconds(100));
        await a.StopAsync();
        var stopped = TimeProvider.System.GetUtcNow();

        await Eventually.UntilAsync(() => Task.FromResult(_firings.CountOf(keys) >= N), $"{N} firings", Patience);
        var control = await ScheduleShotsAsync(_hosts[1], "control", 1, TimeSpan.Zero, TimeSpan.Zero);
        await Eventually.UntilAsync(() => Task.FromResult(_firings.CountOf(control) == 1), "the control firing", Patience);

        Assert.All(keys, key => Assert.Single(_firings.Of(key)));
        Assert.All(keys.SelectMany(_firings.Of), f => Assert.True(f.Node == "b" && f.At > stopped, $"{f.Node} fired at {f.At:HH:mm:ss.fff}"));
    }

    [PostgresFact]
    public async Task A_job_that_disallows_concurrent_execution_runs_one_firing_at_a_time_across_the_cluster()
    {
        var a = await StartNodeAsync("a");
        await StartNodeAsync("b");

        // Six firings due at the same instant: without the cluster-wide block both nodes would run them side by side.
        const int N = 6;
        var scheduler = await SchedulerAsync(a);
        var at = TimeProvider.System.GetUtcNow() + TimeSpan.FromSeconds(2);
        for (var i = 0; i < N; i++)
            await scheduler.ScheduleJob(TriggerBuilder.Create().WithIdentity($"slow-{i}", "test").ForJob(SlowJob.Key).StartAt(at).Build(),
                new ScheduleJobOptions(), CancellationToken.None);

        await Eventually.UntilAsync(() => Task.FromResult(_firings.Slow.Finished == N), $"{N} slow firings", Patience);
        Assert.Equal(1, _firings.Slow.MostAtOnce);
    }

    [PostgresFact]
    public async Task A_deadline_scheduled_through_one_node_fires_once_and_a_later_one_does_not_push_it_back()
    {
        var a = await StartNodeAsync("a");
        var b = await StartNodeAsync("b");
        var sweeps = a.Services.GetRequiredService<SweepScheduler>();
        var deadline = TimeProvider.System.GetUtcNow() + TimeSpan.FromSeconds(3);

        await sweeps.ScheduleAtAsync(deadline, CancellationToken.None);
        await b.Services.GetRequiredService<SweepScheduler>().ScheduleAtAsync(deadline.AddHours(1), CancellationToken.None);

        var planned = await (await SchedulerAsync(b)).GetTrigger(SweepScheduler.Next, CancellationToken.None);
        Assert.Equal(deadline.ToUnixTimeMilliseconds(), planned?.NextFireTimeUtc?.ToUnixTimeMilliseconds());
        await Eventually.UntilAsync(() => Task.FromResult(_firings.Of(SweepScheduler.Next.Name).Count >= 1), "the sweep at the deadline", Patience);
        var control = await ScheduleShotsAsync(b, "control", 1, TimeSpan.Zero, TimeSpan.Zero);
        await Eventually.UntilAsync(() => Task.FromResult(_firings.CountOf(control) == 1), "the control firing", Patience);
        Assert.Single(_firings.Of(SweepScheduler.Next.Name));
    }

    [PostgresFact]
    public async Task A_restarted_node_and_a_second_node_start_with_the_declared_jobs_already_stored()
    {
        var first = await StartNodeAsync("a");
        await first.StopAsync();
        var again = await StartNodeAsync("a");
        var second = await StartNodeAsync("b");

        // Both replaced the declared job and trigger rather than failing on "already exists"; one row each remains.
        foreach (var node in new[] { again, second })
        {
            var scheduler = await SchedulerAsync(node);
            // The hosted service starts the scheduler once the host reports it has started (AwaitApplicationStarted).
            await Eventually.UntilAsync(() => Task.FromResult(scheduler.Status == SchedulerStatus.Running), "the scheduler running", Patience);
            Assert.NotNull(await scheduler.GetJobDetail(CountingJob.Key));
        }

        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync();
        await using var rows = new NpgsqlCommand(
            "SELECT (SELECT count(*) FROM qrtz_job_details WHERE job_name = 'counting') * 10 + (SELECT count(*) FROM qrtz_triggers WHERE trigger_name = 'declared')", connection);
        Assert.Equal(11L, (long)(await rows.ExecuteScalarAsync())!);
    }

    private async Task<IHost> StartNodeAsync(string node)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Storage:Provider"] = nameof(StorageProvider.Postgres),
            ["Storage:ConnectionString"] = _connectionString,
        });
        builder.Logging.AddProvider(new XunitLoggerProvider(output, LogLevel.Warning));
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddOptions<StorageOptions>().Bind(builder.Configuration.GetSection(StorageOptions.Section));
        builder.Services.AddSingleton(_firings);
        builder.Services.AddSingleton(new Node(node));
        builder.Services.AddScheduling(builder.Configuration, quartz =>
        {
            // A node that has nothing due asks the database again after this long (Quartz's default is 30 s); a
            // trigger scheduled through another node reaches it no later than that.
            quartz.ConfigureScheduler(scheduler => scheduler.IdleWaitTime = TimeSpan.FromSeconds(1));
            quartz.AddJob<CountingJob>(job => job.WithIdentity(CountingJob.Key).StoreDurably());
            // The sweep's key, so SweepScheduler's one-shot trigger has a job to fire here; counted like the others.
            quartz.AddJob<CountingJob>(job => job.WithIdentity(SweepScheduler.Job).StoreDurably());
            quartz.AddJob<SlowJob>(job => job.WithIdentity(SlowJob.Key).StoreDurably());
            quartz.AddTrigger(t => t.WithIdentity("declared", "test").ForJob(CountingJob.Key)
                .StartAt(TimeProvider.System.GetUtcNow().AddDays(1)));
        });
        var host = builder.Build();
        _hosts.Add(host);
        await host.StartAsync();
        return host;
    }

    private static Task<IScheduler> SchedulerAsync(IHost node) =>
        node.Services.GetRequiredService<ISchedulerFactory>().GetScheduler(CancellationToken.None).AsTask();

    private static async Task<string> InstanceIdAsync(IHost node) => (await SchedulerAsync(node)).SchedulerInstanceId;

    /// <summary>One-shot triggers of the counting job, due from <paramref name="first"/> on, <paramref name="apart"/> apart.</summary>
    private static async Task<IReadOnlyList<string>> ScheduleShotsAsync(IHost through, string name, int count, TimeSpan first, TimeSpan apart)
    {
        var scheduler = await SchedulerAsync(through);
        var start = TimeProvider.System.GetUtcNow() + first;
        var keys = new List<string>();
        for (var i = 0; i < count; i++)
        {
            var key = $"{name}-{i}";
            await scheduler.ScheduleJob(TriggerBuilder.Create().WithIdentity(key, "test").ForJob(CountingJob.Key).StartAt(start + apart * i).Build(),
                new ScheduleJobOptions(), CancellationToken.None);
            keys.Add(key);
        }

        return keys;
    }
}

internal sealed record Node(string Name);

internal sealed record Firing(string Node, DateTimeOffset At);

/// <summary>Every firing of <see cref="CountingJob"/>, by trigger name, shared by the nodes of one test.</summary>
internal sealed class Firings
{
    private readonly ConcurrentDictionary<string, ConcurrentQueue<Firing>> _byTrigger = new();

    public void Record(string trigger, Firing firing) => _byTrigger.GetOrAdd(trigger, _ => new()).Enqueue(firing);

    public IReadOnlyCollection<Firing> Of(string trigger) => _byTrigger.TryGetValue(trigger, out var firings) ? [.. firings] : [];

    public int CountOf(IEnumerable<string> triggers) => triggers.Sum(t => Of(t).Count);

    public Overlap Slow { get; } = new();
}

/// <summary>How many <see cref="SlowJob"/> firings ran at once, at most, on all nodes together.</summary>
internal sealed class Overlap
{
    private int _running;
    private int _mostAtOnce;
    private int _finished;

    public int MostAtOnce => Volatile.Read(ref _mostAtOnce);

    public int Finished => Volatile.Read(ref _finished);

    public void Enter()
    {
        var now = Interlocked.Increment(ref _running);
        int most;
        while (now > (most = Volatile.Read(ref _mostAtOnce)) && Interlocked.CompareExchange(ref _mostAtOnce, now, most) != most)
        {
        }
    }

    public void Leave()
    {
        Interlocked.Decrement(ref _running);
        Interlocked.Increment(ref _finished);
    }
}

/// <summary>Like the sweep: [DisallowConcurrentExecution], and long enough that a second node would overlap it.</summary>
[DisallowConcurrentExecution]
internal sealed class SlowJob(Firings firings) : IJob
{
    public static readonly JobKey Key = new("slow", "test");

    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        firings.Slow.Enter();
        try
        {
            await Task.Delay(TimeSpan.FromMilliseconds(300), cancellationToken);
        }
        finally
        {
            firings.Slow.Leave();
        }
    }
}

internal sealed class CountingJob(Firings firings, Node node) : IJob
{
    public static readonly JobKey Key = new("counting", "test");

    public ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        firings.Record(context.Trigger.Key.Name, new Firing(node.Name, TimeProvider.System.GetUtcNow()));
        return ValueTask.CompletedTask;
    }
}
