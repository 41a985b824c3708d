using Doorman.Access;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Doorman.Payments.Lnd;

public static class LndServiceCollectionExtensions
{
    /// <summary>
    /// Binds <see cref="LndOptions"/> from <paramref name="lndSection"/> (normally <c>Payments:Lnd</c>), validates
    /// them when the host starts (every problem at once, each naming its key) and registers
    /// <see cref="LndPaymentBackend"/> as the singleton <see cref="IPaymentBackend"/>. Uses the registered
    /// <see cref="IPaymentState"/> (the node's key, pinned) and <see cref="TimeProvider"/>, or the system clock when
    /// there is none.
    /// </summary>
    public static IServiceCollection AddLndPaymentBackend(this IServiceCollection services, IConfiguration lndSection)
    {
        var sectionPath = lndSection is IConfigurationSection section ? section.Path : "Payments:Lnd";
        services.AddOptions<LndOptions>().Bind(lndSection).ValidateOnStart();
        services.AddSingleton<IValidateOptions<LndOptions>>(new LndOptionsValidator(sectionPath));
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<LndPaymentBackend>();
        services.AddSingleton<IPaymentBackend>(sp => sp.GetRequiredService<LndPaymentBackend>());
        return services;
    }
}
