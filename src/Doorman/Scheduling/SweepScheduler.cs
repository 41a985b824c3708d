using Doorman.Access;
using Quartz;

namespace Doorman.Scheduling;

/// <summary>
/// Keeps the sweep's one-shot trigger at the earliest known deadline. The sweep job also runs every minute
/// as a safety net; this trigger is what makes a removal happen within seconds of its deadline.
/// </summary>
public sealed class SweepScheduler(ISchedulerFactory schedulers, QuartzSchemaGate schema) : IDeadlineSignal, IDisposable
{
    public static readonly JobKey Job = new("sweep", "doorman");
    public static readonly TriggerKey Periodic = new("sweep-periodic", "doorman");
    public static readonly TriggerKey Next = new("sweep-next", "doorman");

    // Serializes the read-then-replace below within this process. On PostgreSQL (clustered store, SchedulingSetup) two
    // instances can still interleave it, and the later deadline may replace an earlier one: that sweep then runs with
    // the periodic trigger, within a minute, and schedules the exact next deadline again.
    private readonly SemaphoreSlim _lock = new(1, 1);

    /// <summary>
    /// Makes the sweep run at <paramref name="deadline"/> unless it already runs earlier. Callers that just set an
    /// expiry pass it (without the room's grace: the sweep then finds the exact deadline and schedules it).
    /// </summary>
    public async Task ScheduleAtAsync(DateTimeOffset deadline, CancellationToken cancellationToken)
    {
        await _lock.WaitAsync(cancellationToken);
        try
        {
            await schema.ReadyAsync(cancellationToken); // the clustered store validates its tables when it is first used
            var scheduler = await schedulers.GetScheduler(cancellationToken);
            var existing = await scheduler.GetTrigger(Next, cancellationToken);
            if (existing?.NextFireTimeUtc is { } planned && planned <= deadline)
                return;
            var trigger = TriggerBuilder.Create().WithIdentity(Next).ForJob(Job).StartAt(deadline)
                .WithSimpleSchedule(s => s.WithMisfireInstruction(SimpleTriggerMisfireInstruction.FireNow)).Build();
            await scheduler.ScheduleJob(trigger, ScheduleJobOptions.Replacing, cancellationToken);
        }
        finally
        {
            _lock.Release();
        }
    }

    public void Dispose() => _lock.Dispose();
}
