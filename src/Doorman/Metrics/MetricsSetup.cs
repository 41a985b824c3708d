using Doorman.Access;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Doorman.Metrics;

public static class MetricsSetup
{
    /// <summary>The bot's counters; the core counts through them in place of its no-op default.</summary>
    public static IServiceCollection AddDoormanMetrics(this IServiceCollection services)
    {
        services.AddSingleton<DoormanMetrics>();
        services.Replace(ServiceDescriptor.Singleton<IAccessMetrics>(sp => sp.GetRequiredService<DoormanMetrics>()));
        return services;
    }
}
