using Microsoft.Extensions.Options;

namespace Doorman.Commands;

public static class CommandsSetup
{
    /// <summary>Chat commands and knocks, and <c>Limits:*</c>, the per-person command limit applied as they arrive.</summary>
    public static IServiceCollection AddCommands(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<LimitsOptions>().Bind(configuration.GetSection(LimitsOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<LimitsOptions>, LimitsOptionsValidator>();
        services.AddSingleton<CommandLimiter>();
        services.AddSingleton<CommandHandler>();
        return services;
    }
}
