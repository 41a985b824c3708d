using System.Data.Common;
using Doorman.Access;
using Doorman.Storage;
using Microsoft.Extensions.Options;
using Npgsql;
using Quartz;

namespace Doorman.Scheduling;

public static class SchedulingSetup
{
    /// <summary>
    /// The scheduler's name. On PostgreSQL it is the cluster's name (qrtz_*.sched_name): every instance of the bot
    /// pointing at one database joins the one cluster, whatever its host.
    /// </summary>
    public const string SchedulerName = "doorman";

    /// <summary>The service key of the PostgreSQL data source Quartz's job store takes its connections from.</summary>
    internal const string DataSourceKey = "doorman-quartz";

    /// <summary>
    /// Quartz, with the sweep (deadlines), the reconcile job and the prune job; Quartz takes its clock from the
    /// container's TimeProvider. With <c>Storage:Provider</c> Sqlite the schedule lives in memory, as one instance of the
    /// bot needs; with Postgres it lives in the database, in Quartz's clustered job store, so several instances share it
    /// and each firing (a sweep, a reconcile, a prune) runs on exactly one of them.
    /// </summary>
    public static IServiceCollection AddScheduling(this IServiceCollection services, IConfiguration configuration) =>
        services.AddScheduling(configuration, AddJobs);

    /// <summary>The bot's jobs and their periodic triggers, declared at every start (stored ones are replaced).</summary>
    private static void AddJobs(IQuartzBuilder quartz)
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
    }

    /// <summary>
    /// The scheduler and its store, with <paramref name="jobs"/> as what it runs: the bot's jobs, or a test's.
    /// <c>Storage:Provider</c> is read here, once, as the rest of the bot reads it; the connection string is read from
    /// <see cref="IOptions{StorageOptions}"/> when the store first connects, after <c>Storage:ConnectionStringFile</c>
    /// has been resolved into it.
    /// </summary>
    internal static IServiceCollection AddScheduling(this IServiceCollection services, IConfiguration configuration,
        Action<IQuartzBuilder> jobs)
    {
        var provider = configuration.GetSection(StorageOptions.Section).Get<StorageOptions>()?.Provider ?? StorageProvider.Sqlite;
        services.AddSingleton<QuartzSchemaGate>();
        services.AddSingleton<SweepScheduler>();
        services.AddSingleton<IDeadlineSignal>(sp => sp.GetRequiredService<SweepScheduler>());
        if (provider == StorageProvider.Postgres)
        {
            // Before the Quartz hosted service: its StartingAsync creates the tables before any hosted service starts.
            services.AddHostedService<QuartzSchemaService>();
            // Owned by the container, so its pooled connections are closed when the host is disposed.
            services.AddKeyedSingleton<DbDataSource>(DataSourceKey, (sp, _) =>
                NpgsqlDataSource.Create(sp.GetRequiredService<IOptions<StorageOptions>>().Value.ConnectionString));
        }

        services.AddQuartz(quartz =>
        {
            quartz.ConfigureScheduler(scheduler => scheduler.InstanceName = SchedulerName);
            if (provider == StorageProvider.Postgres)
            {
                // Quartz 4 configuration reference: https://www.quartz-scheduler.net/documentation/quartz-4.x/configuration/reference.html
                // (job store, clustering). UseClustering turns on row locks in qrtz_locks and gives this scheduler a
                // generated instance id (host name and start time, Quartz's SimpleInstanceIdGenerator), so instances
                // on one host still differ; a node that stops checking in has its firings recovered by another.
                quartz.UsePersistentStore(store =>
                {
                    store.UsePostgres(source => source.DataSourceServiceKey = DataSourceKey);
                    store.UseClustering(_ => { });
                    store.UseSystemTextJsonSerializer();
                });
            }

            jobs(quartz);
        });
        services.AddQuartzHostedService(options => options.WaitForJobsToComplete = true);
        return services;
    }
}
