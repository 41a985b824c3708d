using Doorman.Access;
using Microsoft.Extensions.Options;

namespace Doorman.Storage;

/// <summary>Where the bot keeps its state: one SQLite file (the default), or a PostgreSQL database.</summary>
public enum StorageProvider
{
    Sqlite,
    Postgres,
}

/// <summary><c>Storage:*</c>: where the bot keeps its state.</summary>
public sealed class StorageOptions
{
    public const string Section = "Storage";

    /// <summary><c>Sqlite</c> (default) or <c>Postgres</c>.</summary>
    public StorageProvider Provider { get; set; } = StorageProvider.Sqlite;

    /// <summary>The SQLite file; its folder is created if missing. Also where the crypto key file is kept by default.</summary>
    public string Path { get; set; } = "data/doorman.db";

    /// <summary>
    /// For <c>Postgres</c>: an Npgsql connection string, e.g. <c>Host=db;Database=doorman;Username=doorman;Password=…</c>
    /// (https://www.npgsql.org/doc/connection-string-parameters.html). It holds the password, so it is a secret.
    /// </summary>
    public string ConnectionString { get; set; } = "";

    /// <summary>A file holding <see cref="ConnectionString"/> (README "Secrets").</summary>
    public string ConnectionStringFile { get; set; } = "";
}

public sealed class StorageOptionsValidator : IValidateOptions<StorageOptions>
{
    public ValidateOptionsResult Validate(string? name, StorageOptions options) => options.Provider switch
    {
        StorageProvider.Sqlite when string.IsNullOrWhiteSpace(options.Path) =>
            ValidateOptionsResult.Fail("Storage:Path must name the SQLite file, e.g. data/doorman.db"),
        StorageProvider.Postgres when string.IsNullOrWhiteSpace(options.ConnectionString) =>
            ValidateOptionsResult.Fail("Storage:ConnectionString (or Storage:ConnectionStringFile) is required with Storage:Provider Postgres, "
                + "e.g. Host=db;Database=doorman;Username=doorman;Password=…"),
        StorageProvider.Sqlite or StorageProvider.Postgres => ValidateOptionsResult.Success,
        _ => ValidateOptionsResult.Fail($"Storage:Provider must be Sqlite or Postgres, not {options.Provider}"),
    };
}

public static class StorageSetup
{
    /// <summary>The database (SQLite or PostgreSQL), its migrations, and the stores, each also as the core's interface it implements.</summary>
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
