using Doorman.Storage;
using Doorman.Access;
using Doorman.Payments.BtcPay;
using Doorman.Payments.Lnd;
using Microsoft.Extensions.Options;

namespace Doorman.Payments;

public static class PaymentsSetup
{
    public static bool IsBtcPay(IConfiguration configuration) =>
        string.Equals(configuration["Payments:Backend"], "BtcPay", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// <c>Payments:*</c>, the configured <see cref="IPaymentBackend"/> (<c>Payments:Backend</c>: <c>Lnd</c> or
    /// <c>BtcPay</c>; any other value is refused at start, naming the key), and what watches it: the listener, the
    /// poller and the reconciler.
    /// </summary>
    public static IServiceCollection AddPayments(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<PaymentsOptions>().Bind(configuration.GetSection(PaymentsOptions.Section));
        services.AddSingleton<IValidateOptions<PaymentsOptions>, PaymentsOptionsValidator>();
        services.AddSingleton<IPaymentState, PaymentState>();
        services.AddSingleton<Reconciler>();
        services.AddActivePart<PaymentListener>();
        services.AddActivePart<PaymentPoller>();
        services.AddHealthChecks().AddCheck<PaymentsHealthCheck>(PaymentsHealthCheck.Name);
        if (IsBtcPay(configuration))
            services.AddBtcPayPaymentBackend(configuration.GetSection("Payments:BtcPay"));
        else
            services.AddLndPaymentBackend(configuration.GetSection("Payments:Lnd"));
        return services;
    }
}
