using Doorman.Access;
using Microsoft.Extensions.Options;

namespace Doorman.Storage;

/// <summary><c>Storage:*</c>: where the bot keeps its state.</summary>
public sealed class StorageOptions
{
    public const string Section = "Storage";

    /// <summary>The SQLite file; its folder is created if missing.</summary>
    public string Path { get; set; } = "data/doorman.db";
}

public sealed class StorageOptionsValidator : IValidateOptions<StorageOptions>
{
    public ValidateOptionsResult Validate(string? name, StorageOptions options) =>
        string.IsNullOrWhiteSpace(options.Path)
            ? ValidateOptionsResult.Fail("Storage:Path must name the SQLite file, e.g. data/doorman.db")
            : ValidateOptionsResult.Success;
}

public static class StorageSetup
{
    /// <summary>The SQLite database, its migrations, and the stores, each also as the core's interface it implements.</summary>
    public static IServiceCollection AddStorage(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<StorageOptions>().Bind(configuration.GetSection(StorageOptions.Section));
        services.AddSingleton<IValidateOptions<StorageOptions>, StorageOptionsValidator>();
        services.AddSingleton<Database>();
        services.AddSingleton<IDatabase>(sp => sp.GetRequiredService<Database>());
        services.AddSingleton<Migrator>();
        services.AddStore<GateStore, IGateStore>();
        services.AddStore<OrderStore, IOrderStore>();
        services.AddStore<SubscriptionStore, ISubscriptionStore>();
        services.AddStore<MembershipActionStore, IMembershipActions>();
        services.AddStore<Cursors, ICursorStore>();
        services.AddStore<ExemptionStore, IExemptionStore>();
        services.AddSingleton<MessageStore>();
        services.AddSingleton<HandledEvents>();
        services.AddSingleton<DirectRooms>();
        services.AddSingleton<InboxStore>();
        services.AddSingleton<AuditLog>();
        services.AddSingleton<ReportStore>();
        services.AddSingleton<AlertStore>();
        services.AddHealthChecks().AddCheck<DatabaseHealthCheck>(DatabaseHealthCheck.Name);
        return services;
    }

    private static void AddStore<TStore, TPort>(this IServiceCollection services)
        where TStore : class, TPort
        where TPort : class
    {
        services.AddSingleton<TStore>();
        services.AddSingleton<TPort>(sp => sp.GetRequiredService<TStore>());
    }
}
