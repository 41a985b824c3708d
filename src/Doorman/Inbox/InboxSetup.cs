using Doorman.Matrix.Sync;

namespace Doorman.Inbox;

public static class InboxSetup
{
    /// <summary>What the bot does with each sync batch.</summary>
    public static IServiceCollection AddInbox(this IServiceCollection services) => services.AddSingleton<ISyncHandler, BotSyncHandler>();
}
