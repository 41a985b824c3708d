using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Doorman.Access;

public static class AccessSetup
{
    /// <summary>The core's use cases. Their ports are registered by the parts that implement them.</summary>
    public static IServiceCollection AddAccess(this IServiceCollection services)
    {
        services.TryAddSingleton<IAccessMetrics, NoAccessMetrics>();
        services.AddSingleton<OutboxSignals>();
        services.AddSingleton<Settlements>();
        services.AddSingleton<Sweeper>();
        services.AddSingleton<Ordering>();
        services.AddSingleton<Terms>();
        services.AddSingleton<InvitesAwaitingPower>();
        return services;
    }
}
