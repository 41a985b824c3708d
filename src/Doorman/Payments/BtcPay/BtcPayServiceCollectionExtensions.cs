using System.Net;
using Doorman.Access;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using Polly.Timeout;
using Polly;

namespace Doorman.Payments.BtcPay;

public static class BtcPayServiceCollectionExtensions
{
    internal const string HttpClientName = "Doorman.BtcPay";

    /// <summary>Per attempt; Greenfield answers in milliseconds unless BTCPay waits on its Lightning node.</summary>
    internal static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Binds <see cref="BtcPayOptions"/> from <paramref name="btcPaySection"/> (normally <c>Payments:BtcPay</c>),
    /// validates them when the host starts (every problem at once, each naming its key), and registers
    /// <see cref="BtcPayPaymentBackend"/> as the singleton <see cref="IPaymentBackend"/>, its Greenfield HTTP client
    /// and what <see cref="BtcPayWebhookEndpoint.MapBtcPayWebhook"/> needs. Uses the registered
    /// <see cref="Storage.Database"/> (webhook delivery ids) and <see cref="IPaymentState"/> (the registered webhook),
    /// and the registered <see cref="TimeProvider"/>, or the system clock when there is none.
    /// </summary>
    public static IServiceCollection AddBtcPayPaymentBackend(this IServiceCollection services, IConfiguration btcPaySection)
    {
        var sectionPath = btcPaySection is IConfigurationSection section ? section.Path : "Payments:BtcPay";
        services.AddOptions<BtcPayOptions>().Bind(btcPaySection).ValidateOnStart();
        services.AddSingleton<IValidateOptions<BtcPayOptions>>(new BtcPayOptionsValidator(sectionPath));
        services.TryAddSingleton(TimeProvider.System);

        services.AddHttpClient(HttpClientName, (sp, http) =>
            {
                http.BaseAddress = new Uri(sp.GetRequiredService<IOptions<BtcPayOptions>>().Value.Url!.Trim().TrimEnd('/') + "/");
                http.Timeout = Timeout.InfiniteTimeSpan; // per-attempt timeouts come from the pipeline
            })
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler
            {
                PooledConnectionLifetime = TimeSpan.FromMinutes(5),
                ConnectTimeout = TimeSpan.FromSeconds(15),
            })
            .AddHttpMessageHandler(sp => new GreenfieldApiKeyHandler(sp.GetRequiredService<IOptions<BtcPayOptions>>().Value.ApiKey!.Trim()))
            .AddResilienceHandler("btcpay", ConfigureResilience);

        services.AddSingleton(sp => new GreenfieldClient(
            sp.GetRequiredService<IHttpClientFactory>().CreateClient(HttpClientName),
            sp.GetRequiredService<IOptions<BtcPayOptions>>().Value.StoreId!.Trim()));
        services.AddSingleton<BtcPayWebhookInbox>();
        services.AddSingleton<BtcPayWebhookSecret>();
        services.AddSingleton<BtcPayWebhookDeliveries>();
        services.AddSingleton<BtcPayWebhookReceiver>();
        services.AddSingleton(sp => new BtcPayPaymentBackend(
            sp.GetRequiredService<GreenfieldClient>(),
            sp.GetRequiredService<IOptions<BtcPayOptions>>(),
            sp.GetRequiredService<IPaymentState>(),
            sp.GetRequiredService<BtcPayWebhookInbox>(),
            sp.GetRequiredService<BtcPayWebhookSecret>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<BtcPayPaymentBackend>>()));
        services.AddSingleton<IPaymentBackend>(sp => sp.GetRequiredService<BtcPayPaymentBackend>());
        return services;
    }

    /// <summary>
    /// Reads (GET) are retried twice on network errors, timeouts, 5xx, 408 and 429, honouring Retry-After; writes
    /// never are: a POST that BTCPay carried out but whose answer was lost would make a second invoice or webhook.
    /// </summary>
    private static void ConfigureResilience(ResiliencePipelineBuilder<HttpResponseMessage> pipeline)
    {
        pipeline.AddRetry(new HttpRetryStrategyOptions
        {
            MaxRetryAttempts = 2,
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            Delay = TimeSpan.FromMilliseconds(500),
            ShouldHandle = args => ValueTask.FromResult(
                args.Context.GetRequestMessage()?.Method == HttpMethod.Get
                && (args.Outcome.Exception is HttpRequestException or TimeoutRejectedException
                    || args.Outcome.Result?.StatusCode is >= HttpStatusCode.InternalServerError or HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests)),
        });
        pipeline.AddTimeout(RequestTimeout);
    }
}
