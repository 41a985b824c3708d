using Doorman.Storage;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Doorman.Scheduling;

/// <summary>
/// Provisions the tables of Quartz's clustered job store on PostgreSQL (<c>QuartzSchema.sql</c> beside this file, Quartz
/// 4.7.3's own script). Idempotent, and safe when several instances start at once: the whole script runs in one
/// transaction after a transaction-scoped advisory lock, so a second instance waits for the first and then finds every
/// table there (https://www.postgresql.org/docs/15/explicit-locking.html#ADVISORY-LOCKS). Only ever creates; Quartz
/// checks the result when its scheduler starts (SchemaProvisioning.Validate, its default).
/// </summary>
public static class QuartzSchema
{
    /// <summary>The advisory lock's key, fixed so every instance of the bot takes the same one: "qrtz" in ASCII.</summary>
    public const long AdvisoryLockKey = 0x7172_747A;

    private const string Resource = "Doorman.Scheduling.QuartzSchema.sql";

    public static async Task EnsureAsync(string connectionString, CancellationToken cancellationToken)
    {
        var script = await ReadScriptAsync(cancellationToken);
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var take = new NpgsqlCommand("SELECT pg_advisory_xact_lock(@key)", connection, transaction))
        {
            take.Parameters.AddWithValue("key", AdvisoryLockKey);
            await take.ExecuteNonQueryAsync(cancellationToken);
        }

        // No parameters, so Npgsql sends the statements as one batch.
        await using (var create = new NpgsqlCommand(script, connection, transaction))
            await create.ExecuteNonQueryAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    private static async Task<string> ReadScriptAsync(CancellationToken cancellationToken)
    {
        await using var stream = typeof(QuartzSchema).Assembly.GetManifestResourceStream(Resource)
            ?? throw new InvalidOperationException($"the embedded resource {Resource} is missing from the build");
        using var reader = new StreamReader(stream);
        return await reader.ReadToEndAsync(cancellationToken);
    }
}

/// <summary>
/// The Quartz tables, made once per process before the scheduler is first used (on SQLite the store is in memory: nothing
/// to make). The host makes them as it starts (<see cref="QuartzSchemaService"/>); a deadline scheduled without a host
/// (a command-line tool, a service graph of the tests) makes them first (<see cref="SweepScheduler"/>). A failed attempt
/// (the database away for a moment) is tried again by the next caller.
/// </summary>
public sealed class QuartzSchemaGate(IOptions<StorageOptions> storage)
{
    private readonly Lock _lock = new();
    private Task? _ready;

    public Task ReadyAsync(CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (_ready is null || _ready.IsFaulted || _ready.IsCanceled)
            {
                _ready = storage.Value.Provider == StorageProvider.Postgres
                    ? QuartzSchema.EnsureAsync(storage.Value.ConnectionString, CancellationToken.None)
                    : Task.CompletedTask;
            }
            return _ready.WaitAsync(cancellationToken);
        }
    }
}

/// <summary>
/// Makes the Quartz tables when the host is starting: in <see cref="IHostedLifecycleService.StartingAsync"/>, which the
/// host calls before it starts any hosted service, so they exist before the Quartz hosted service starts the scheduler.
/// </summary>
internal sealed class QuartzSchemaService(QuartzSchemaGate schema) : IHostedLifecycleService
{
    public Task StartingAsync(CancellationToken cancellationToken) => schema.ReadyAsync(cancellationToken);

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
