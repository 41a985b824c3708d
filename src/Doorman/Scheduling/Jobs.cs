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
/// settlement the feed missed is still applied, and forgets handled event ids old enough never to come back.
/// </summary>
[DisallowConcurrentExecution]
public sealed partial class ReconcileJob(Reconciler reconciler, Database database, HandledEvents handled, TimeProvider time,
    ILogger<ReconcileJob> logger) : IJob
{
    public static readonly JobKey Key = new("reconcile", "doorman");

    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        try
        {
            await reconciler.ReconcileAsync(onlyOverdue: true, cancellationToken);
            await database.WriteAsync(tx => handled.PruneAsync(tx, time.GetUtcNow() - TimeSpan.FromDays(30)), cancellationToken);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            LogFailed(e, e.Message);
        }
    }

    [LoggerMessage(LogLevel.Warning, "Reconciling pending orders failed ({Reason}); trying again in a minute")]
    private partial void LogFailed(Exception exception, string reason);
}
