using Doorman.Access;

namespace Doorman.Messaging;

public static class MessagingSetup
{
    /// <summary>The message outbox (queued in transactions), the bot's DMs, and the wording of what members are told.</summary>
    public static IServiceCollection AddMessaging(this IServiceCollection services)
    {
        services.AddSingleton<MessageOutbox>();
        services.AddSingleton<DirectMessages>();
        services.AddSingleton<IMemberNotices, MemberNotices>();
        services.AddSingleton<IOwnerAlerts, OwnerAlerts>();
        return services;
    }
}
