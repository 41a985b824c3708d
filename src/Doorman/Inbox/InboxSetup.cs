using Doorman.Storage;
using Doorman.Matrix.Sync;
using Microsoft.Extensions.Options;

namespace Doorman.Inbox;

public static class InboxSetup
{
    /// <summary>What each sync batch brings: recorded with the batch's token, then handled item by item.</summary>
    public static IServiceCollection AddInbox(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<InboxOptions>().Bind(configuration.GetSection(InboxOptions.Section));
        services.AddSingleton<IValidateOptions<InboxOptions>, InboxOptionsValidator>();
        services.AddSingleton<ISyncHandler, BotSyncHandler>();
        services.AddSingleton<InboxDispatcher>();
        services.AddActivePart<InboxWorker>();
        return services;
    }
}

public sealed class InboxOptionsValidator : IValidateOptions<InboxOptions>
{
    public ValidateOptionsResult Validate(string? name, InboxOptions options)
    {
        var problems = new List<string>();
        if (options.Attempts is < 1 or > 20)
            problems.Add("Inbox:Attempts must be between 1 and 20");
        if (options.FirstRetry < TimeSpan.FromMilliseconds(100) || options.FirstRetry > TimeSpan.FromMinutes(10))
            problems.Add("Inbox:FirstRetry must be between 00:00:00.1 and 00:10:00 (hh:mm:ss)");
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
