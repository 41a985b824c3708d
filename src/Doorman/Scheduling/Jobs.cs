using Doorman.Access;
using Doorman.Payments;
using Doorman.Storage;
using Quartz;

namespace Doorman.Scheduling;

/// <summary>Runs the sweep, then schedules the next run at the next deadline.</summary>
[DisallowConcurrentExecution]
public sealed partial class SweepJob(Sweeper sweeper, SweepScheduler scheduler, ILogger<SweepJob> logger) : IJob
{
    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        try
        {
            if (await sweeper.SweepAsync(cancellationToken) is { } next)
                await scheduler.ScheduleAtAsync(next, cancellationToken);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            // The periodic trigger runs us again within a minute; the database is the truth, nothing is lost.
            LogFailed(e);
        }
    }

    [LoggerMessage(LogLevel.Error, "The expiry sweep failed; it runs again within a minute")]
    private partial void LogFailed(Exception exception);
}

/// <summary>
/// The second job (DESIGN §3): looks up orders whose invoices are overdue, so expired ones are closed and a
/// settlement the feed missed is still applied.
/// </summary>
[DisallowConcurrentExecution]
public sealed partial class ReconcileJob(Reconciler reconciler, ILogger<ReconcileJob> logger) : IJob
{
    public static readonly JobKey Key = new("reconcile", "doorman");

    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        try
        {
            await reconciler.ReconcileAsync(onlyOverdue: true, cancellationToken);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            LogFailed(e, e.Message);
        }
    }

    [LoggerMessage(LogLevel.Warning, "Reconciling pending orders failed ({Reason}); trying again in a minute")]
    private partial void LogFailed(Exception exception, string reason);
}

/// <summary>
/// Keeps the tables that grow with use small (README "Retention"): handled event ids, sent messages, finished
/// invites and kicks, and finished inbox items are forgotten after a while; pending work never is, and orders,
/// subscriptions and the audit log are the record and are kept.
/// </summary>
[DisallowConcurrentExecution]
public sealed partial class PruneJob(Database database, HandledEvents handled, MessageStore messages, MembershipActionStore actions,
    InboxStore inbox, TimeProvider time, ILogger<PruneJob> logger) : IJob
{
    public static readonly JobKey Key = new("prune", "doorman");

    /// <summary>Handled event ids, sent messages, finished invites and kicks, quarantined inbox items.</summary>
    public static readonly TimeSpan Keep = TimeSpan.FromDays(30);

    /// <summary>Inbox items handled without trouble.</summary>
    public static readonly TimeSpan KeepDone = TimeSpan.FromDays(7);

    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        try
        {
            var now = time.GetUtcNow();
            var pruned = await database.WriteAsync(async tx =>
                await handled.PruneAsync(tx, now - Keep) + await messages.PruneAsync(tx, now - Keep)
                + await actions.PruneAsync(tx, now - Keep) + await inbox.PruneAsync(tx, now - KeepDone, now - Keep), cancellationToken);
            if (pruned > 0)
                LogPruned(pruned);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            LogFailed(e, e.Message);
        }
    }

    [LoggerMessage(LogLevel.Information, "Pruned {Count} finished row(s) past their retention")]
    private partial void LogPruned(int count);

    [LoggerMessage(LogLevel.Warning, "Pruning failed ({Reason}); trying again in an hour")]
    private partial void LogFailed(Exception exception, string reason);
}
