using Doorman.Storage;

namespace Doorman.Outbox;

public static class OutboxSetup
{
    /// <summary>The workers that carry out what the outbox tables hold: messages, invites and kicks.</summary>
    public static IServiceCollection AddOutbox(this IServiceCollection services)
    {
        services.AddActivePart<MessageSender>();
        services.AddActivePart<MembershipWorker>();
        services.AddHealthChecks().AddCheck<OutboxHealthCheck>(OutboxHealthCheck.Name);
        return services;
    }
}
