using Doorman.Access;
using Quartz;

namespace Doorman.Scheduling;

public static class SchedulingSetup
{
    /// <summary>Quartz, with the sweep (deadlines), the reconcile job and the prune job; Quartz takes its clock from the container's TimeProvider.</summary>
    public static IServiceCollection AddScheduling(this IServiceCollection services)
    {
        services.AddSingleton<SweepScheduler>();
        services.AddSingleton<IDeadlineSignal>(sp => sp.GetRequiredService<SweepScheduler>());
        services.AddQuartz(quartz =>
        {
            quartz.AddJob<SweepJob>(job => job.WithIdentity(SweepScheduler.Job).StoreDurably());
            quartz.AddTrigger(t => t.WithIdentity(SweepScheduler.Periodic).ForJob(SweepScheduler.Job).StartNow()
                .WithSchedule(SimpleScheduleBuilder.Create().WithInterval(TimeSpan.FromMinutes(1)).RepeatForever()));
            quartz.AddJob<ReconcileJob>(job => job.WithIdentity(ReconcileJob.Key).StoreDurably());
            quartz.AddTrigger(t => t.WithIdentity("reconcile-periodic", "doorman").ForJob(ReconcileJob.Key).StartNow()
                .WithSchedule(SimpleScheduleBuilder.Create().WithInterval(TimeSpan.FromMinutes(1)).RepeatForever()));
            quartz.AddJob<PruneJob>(job => job.WithIdentity(PruneJob.Key).StoreDurably());
            quartz.AddTrigger(t => t.WithIdentity("prune-periodic", "doorman").ForJob(PruneJob.Key).StartNow()
                .WithSchedule(SimpleScheduleBuilder.Create().WithInterval(TimeSpan.FromHours(1)).RepeatForever()));
        });
        services.AddQuartzHostedService(options => options.WaitForJobsToComplete = true);
        return services;
    }
}
