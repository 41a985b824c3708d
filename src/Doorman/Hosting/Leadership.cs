using Dapper;
using Doorman.Homeserver;
using Doorman.Storage;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Doorman.Hosting;

/// <summary>
/// One active instance among several on one PostgreSQL database (docs/operators.md, "Two instances"); on SQLite the
/// one instance is simply active (<see cref="InstanceRole.Single"/>).
/// <para>
/// The active instance holds a session-level advisory lock (<c>pg_try_advisory_lock</c>,
/// https://www.postgresql.org/docs/15/explicit-locking.html#ADVISORY-LOCKS) on a connection of its own, and runs the
/// <see cref="ActivePart"/>s: sync loop, inbox, payment listener and poller, outbox workers. A standby tries for the
/// lock every <see cref="TryEvery"/>. PostgreSQL frees a session lock when its session ends: at once when the active
/// process dies (its socket closes), and within <see cref="IdleSessionTimeout"/> when its machine or network is gone
/// (the lock connection pings every <see cref="PingEvery"/>, and the server ends a session idle for longer,
/// <c>idle_session_timeout</c>). So a standby takes over within a few seconds, and resumes from the stored sync token
/// and payment cursors, as a restarted single instance does.
/// </para>
/// <para>
/// Fencing: every write transaction of the active instance checks, after taking the database's write lock
/// (Storage/Database.cs), that its lock connection still holds the leader lock (<see cref="CheckAsync"/>), and is
/// refused otherwise. A new active instance first commits one write transaction of its own, so every write the last
/// one made has committed before, and none it tries later can commit: the database's writes of two active instances
/// never interleave. What the old one may still have in flight outside the database — an invite, a message — is
/// repeated safely by the new one: a message's transaction id is chosen and stored before it is sent, and the
/// homeserver deduplicates it (both instances use the one access token); an invite or kick of someone already
/// invited or removed changes nothing. An instance that loses the lock stops its parts and exits (code 1), to be
/// restarted by its supervisor as a standby.
/// </para>
/// </summary>
public sealed partial class Leadership(
    IOptions<StorageOptions> storage,
    IServiceProvider services,
    Fatal fatal,
    TimeProvider time,
    ILogger<Leadership> logger) : IHostedService, IWriteFence, IInstanceRole, IAsyncDisposable
{
    /// <summary>The leader lock's key, "DOORMAN\x02" read as a number (the write lock is \x01).</summary>
    public const long LockKey = 0x444F4F524D414E02;

    internal static TimeSpan TryEvery { get; set; } = TimeSpan.FromSeconds(1);

    internal static TimeSpan PingEvery { get; set; } = TimeSpan.FromSeconds(1);

    internal static readonly TimeSpan IdleSessionTimeout = TimeSpan.FromSeconds(5);

    private static readonly TimeSpan StopPartsWithin = TimeSpan.FromSeconds(10);

    private readonly CancellationTokenSource _stopping = new();
    private readonly List<IHostedService> _started = [];
    private volatile InstanceRole _role = InstanceRole.Standby;
    private NpgsqlConnection? _lock;
    private int _lockPid;
    private Task? _watch;
    private bool _unreachableLogged;

    public InstanceRole Role => _role;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (storage.Value.Provider != StorageProvider.Postgres)
        {
            _role = InstanceRole.Single;
            await StartPartsAsync(cancellationToken);
            return;
        }
        if (await TryTakeAsync(cancellationToken))
            await BecomeActiveAsync(cancellationToken);
        else
            LogStandby();
        _watch = WatchAsync(_stopping.Token);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        if (_watch is not null)
            await _watch;
        await StopPartsAsync(cancellationToken);
        await ReleaseAsync(); // a standby takes over at once, not after the idle timeout
    }

    public async ValueTask DisposeAsync()
    {
        await ReleaseAsync();
        _stopping.Dispose();
    }

    /// <summary>The fence (Storage/IWriteFence): an active instance writes only while its lock connection holds the lock.</summary>
    public async Task CheckAsync(Tx tx)
    {
        switch (_role)
        {
            case InstanceRole.Active:
                // pg_locks names a bigint key by its high and low 32 bits (classid, objid) with objsubid 1.
                var held = await tx.ExecuteScalarAsync<bool>(
                    """
                    SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = @pid AND granted
                                   AND classid::bigint = @high AND objid::bigint = @low AND objsubid = 1)
                    """, new { pid = _lockPid, high = LockKey >>> 32, low = LockKey & 0xFFFFFFFF });
                if (!held)
                {
                    _role = InstanceRole.Lost;
                    throw new LeadershipLostException();
                }
                break;
            case InstanceRole.Lost:
                throw new LeadershipLostException();
        }
    }

    private async Task WatchAsync(CancellationToken stopping)
    {
        try
        {
            while (!stopping.IsCancellationRequested)
            {
                if (_role == InstanceRole.Standby)
                {
                    await Task.Delay(TryEvery, time, stopping);
                    if (await TryTakeAsync(stopping))
                        await BecomeActiveAsync(stopping);
                }
                else if (_role == InstanceRole.Active)
                {
                    await Task.Delay(PingEvery, time, stopping);
                    if (!await PingAsync(stopping))
                        _role = InstanceRole.Lost;
                }
                else
                {
                    await LoseAsync();
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
        catch (StartupException e)
        {
            // A part would not start for a reason a restart does not mend (the crypto store's key, Homeserver/BotCrypto.cs).
            LogTakeOverFailed(e);
            _role = InstanceRole.Lost;
            await LoseAsync("this instance took over but cannot start: " + e.Message);
        }
        catch (Exception e)
        {
            // The take-over's barrier failed (the database went away in that moment), or a part would not start.
            LogTakeOverFailed(e);
            _role = InstanceRole.Lost;
            await LoseAsync();
        }
    }

    /// <summary>True when this instance now holds the lock; false when another does or the database cannot be reached.</summary>
    private async Task<bool> TryTakeAsync(CancellationToken cancellationToken)
    {
        try
        {
            if (_lock is null)
            {
                // Its own connection, outside the pool: the lock lives and dies with this session.
                var builder = new NpgsqlConnectionStringBuilder(storage.Value.ConnectionString) { Pooling = false, ApplicationName = "doorman-leader" };
                _lock = new NpgsqlConnection(builder.ConnectionString);
                await _lock.OpenAsync(cancellationToken);
                await _lock.ExecuteAsync($"SET idle_session_timeout = {(int)IdleSessionTimeout.TotalMilliseconds}");
                _lockPid = _lock.ProcessID;
            }
            var taken = await _lock.ExecuteScalarAsync<bool>(new CommandDefinition(
                "SELECT pg_try_advisory_lock(@key)", new { key = LockKey }, cancellationToken: cancellationToken));
            if (_unreachableLogged)
                LogReachable();
            _unreachableLogged = false;
            return taken;
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException)
        {
            if (!_unreachableLogged)
                LogUnreachable(e.Message);
            _unreachableLogged = true;
            await ReleaseAsync();
            return false;
        }
    }

    private async Task<bool> PingAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await _lock!.ExecuteScalarAsync<int>(new CommandDefinition("SELECT 1", commandTimeout: 3, cancellationToken: cancellationToken)) == 1;
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException or InvalidOperationException)
        {
            LogPingFailed(e.Message);
            return false;
        }
    }

    private async Task BecomeActiveAsync(CancellationToken cancellationToken)
    {
        _role = InstanceRole.Active;
        // The barrier (class comment): one write transaction, after every write the last active instance committed.
        await services.GetRequiredService<Database>().WriteAsync(_ => Task.CompletedTask, cancellationToken);
        LogActive(_lockPid);
        await StartPartsAsync(cancellationToken);
    }

    private async Task LoseAsync(string? reason = null)
    {
        LogLost();
        using var within = new CancellationTokenSource(StopPartsWithin);
        await StopPartsAsync(within.Token);
        await ReleaseAsync();
        fatal.Stop(reason ?? "this instance lost the leader lock on the database (its connection failed or was ended); it stopped its work and exits, "
            + "to be restarted as a standby");
    }

    private async Task StartPartsAsync(CancellationToken cancellationToken)
    {
        foreach (var part in services.GetServices<ActivePart>())
        {
            var service = (IHostedService)services.GetRequiredService(part.Service);
            await service.StartAsync(cancellationToken);
            _started.Add(service);
        }
    }

    private async Task StopPartsAsync(CancellationToken cancellationToken)
    {
        for (var i = _started.Count - 1; i >= 0; i--)
            await _started[i].StopAsync(cancellationToken);
        _started.Clear();
    }

    private async Task ReleaseAsync()
    {
        if (_lock is { } connection)
        {
            _lock = null;
            await connection.DisposeAsync();
        }
    }

    [LoggerMessage(LogLevel.Information, "Standby: another instance holds the leader lock; this one serves /healthz, /metrics and the BTCPay webhook, and takes over when it is gone")]
    private partial void LogStandby();

    [LoggerMessage(LogLevel.Warning, "Active: this instance holds the leader lock (database session {Pid}) and runs the sync loop, payments and outbox")]
    private partial void LogActive(int pid);

    [LoggerMessage(LogLevel.Warning, "Cannot reach the database for the leader lock ({Reason}); trying again")]
    private partial void LogUnreachable(string reason);

    [LoggerMessage(LogLevel.Information, "The database is reachable again for the leader lock")]
    private partial void LogReachable();

    [LoggerMessage(LogLevel.Error, "The leader lock's connection failed ({Reason})")]
    private partial void LogPingFailed(string reason);

    [LoggerMessage(LogLevel.Error, "Taking over as the active instance failed")]
    private partial void LogTakeOverFailed(Exception exception);

    [LoggerMessage(LogLevel.Critical, "Lost the leader lock: stopping this instance's work; no write of it commits from now on")]
    private partial void LogLost();
}

/// <summary>A write refused because this instance is no longer the active one (<see cref="Leadership"/>).</summary>
public sealed class LeadershipLostException() : Exception("this instance is no longer the active one: the write was refused");

public static class LeadershipSetup
{
    /// <summary>The leadership: the hosted service that starts the active parts, the write fence, and the role.</summary>
    public static IServiceCollection AddLeadership(this IServiceCollection services)
    {
        services.AddSingleton<Leadership>();
        services.AddSingleton<IWriteFence>(sp => sp.GetRequiredService<Leadership>());
        services.AddSingleton<IInstanceRole>(sp => sp.GetRequiredService<Leadership>());
        services.AddHostedService(sp => sp.GetRequiredService<Leadership>());
        return services;
    }
}
