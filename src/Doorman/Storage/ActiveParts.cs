namespace Doorman.Storage;

/// <summary>
/// What this instance is (docs/operators.md, "Two instances"). On SQLite there is one instance and it runs everything:
/// <see cref="Single"/>. On PostgreSQL one instance is <see cref="Active"/> — it holds the leader lock and runs the
/// <see cref="ActivePart"/>s — and any other is <see cref="Standby"/>, serving <c>/healthz</c>, <c>/metrics</c>
/// and the BTCPay webhook, and taking over when the active one is gone. An active instance that lost the lock is
/// <see cref="Lost"/>: it writes nothing more and stops.
/// </summary>
public enum InstanceRole
{
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1720", Justification = "The role's name in /healthz (\"single\"), not a type")]
    Single,
    Active,
    Standby,
    Lost,
}

/// <summary>The instance's role, for the parts that act differently on a standby (the BTCPay webhook, /healthz).</summary>
public interface IInstanceRole
{
    InstanceRole Role { get; }
}

/// <summary>
/// A background part only the active instance runs: the sync loop, the inbox, the payment listener and poller, the
/// outbox workers. Registered with <see cref="ActivePartsSetup.AddActivePart{T}"/> instead of as a hosted service;
/// the leadership (Hosting/Leadership.cs) starts them, in registration order, when this instance becomes active.
/// </summary>
public sealed record ActivePart(Type Service);

public static class ActivePartsSetup
{
    public static IServiceCollection AddActivePart<T>(this IServiceCollection services)
        where T : class, IHostedService
    {
        services.AddSingleton<T>();
        services.AddSingleton(new ActivePart(typeof(T)));
        return services;
    }
}
