using System.Globalization;
using System.Net;
using Doorman.Access;
using Polly.Timeout;

namespace Doorman.Payments.BtcPay;

/// <summary>
/// Turns Greenfield failures into <see cref="PaymentBackendException"/>s that say what happened and what to do.
/// Transient: the network, timeouts, 5xx, 408 and 429. Not transient: 401, 403 and rejected requests, which
/// only a configuration change fixes. Never quotes the API key (BTCPay's messages do not contain it).
/// </summary>
internal static class BtcPayErrors
{
    public static PaymentBackendException Map(Exception e, string operation, Uri server, string sectionPath = "Payments:BtcPay") => e switch
    {
        GreenfieldException { Status: HttpStatusCode.Unauthorized } g => new PaymentBackendException(
            $"BTCPay at {server} does not accept {sectionPath}:ApiKey when {operation} ({Describe(g)}); create an API key "
            + "in BTCPay (Account → API keys) and configure it", isTransient: false, g),
        GreenfieldException { Status: HttpStatusCode.Forbidden } g => new PaymentBackendException(
            $"BTCPay refused the API key when {operation} ({Describe(g)}); give the key the permissions the bot needs "
            + $"for store {sectionPath}:StoreId", isTransient: false, g),
        GreenfieldException { IsTransient: true } g => new PaymentBackendException(
            $"BTCPay at {server} is unavailable when {operation} ({Describe(g)}); try again later", isTransient: true, g),
        GreenfieldException { Status: HttpStatusCode.NotFound } g => new PaymentBackendException(
            $"BTCPay at {server} has no such resource when {operation} ({Describe(g)}); check {sectionPath}:Url and {sectionPath}:StoreId",
            isTransient: false, g),
        GreenfieldException g => new PaymentBackendException(
            $"BTCPay rejected the request when {operation} ({Describe(g)})", isTransient: false, g),
        HttpRequestException h => new PaymentBackendException(
            $"cannot reach BTCPay at {server} when {operation}: {Innermost(h).Message}; try again later", isTransient: true, h),
        TimeoutRejectedException or OperationCanceledException or TimeoutException => new PaymentBackendException(
            $"BTCPay at {server} did not answer in time when {operation}; try again later", isTransient: true, e),
        _ => new PaymentBackendException($"BTCPay failed when {operation}: {e.Message}", isTransient: true, e),
    };

    public static bool IsMappable(Exception e) =>
        e is GreenfieldException or HttpRequestException or TimeoutRejectedException or TimeoutException;

    private static string Describe(GreenfieldException e) =>
        string.Create(CultureInfo.InvariantCulture, $"HTTP {(int)e.Status} {e.Code}: {e.Message}");

    private static Exception Innermost(Exception e)
    {
        while (e.InnerException is not null)
            e = e.InnerException;
        return e;
    }
}
