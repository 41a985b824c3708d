namespace Doorman.Commands;

public static class CommandsSetup
{
    public static IServiceCollection AddCommands(this IServiceCollection services) => services.AddSingleton<CommandHandler>();
}
