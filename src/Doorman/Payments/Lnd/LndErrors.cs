using System.Security.Authentication;
using Doorman.Access;
using Grpc.Core;

namespace Doorman.Payments.Lnd;

/// <summary>Turns gRPC failures into <see cref="PaymentBackendException"/>s that say what happened. Never quotes the macaroon.</summary>
internal static class LndErrors
{
    // lnd returns macaroon failures as plain Go errors, so they arrive with status Unknown
    // (rpcperms/interceptor.go checkMacaroon; macaroons/service.go ValidateMacaroon; bakery's "permission denied").
    private static readonly string[] MacaroonPhrases =
        ["macaroon", "permission denied", "verification failed", "root key with id", "unknown permissions required"];

    public static bool IsAuthFailure(RpcException e) =>
        e.StatusCode is StatusCode.Unauthenticated or StatusCode.PermissionDenied
        || (e.StatusCode == StatusCode.Unknown && MacaroonPhrases.Any(p => e.Status.Detail.Contains(p, StringComparison.OrdinalIgnoreCase)));

    /// <summary>The macaroon is valid but lacks the permission (e.g. invoice.macaroon calling GetInfo).</summary>
    public static bool IsPermissionDenied(RpcException e) =>
        e.StatusCode == StatusCode.PermissionDenied
        || (e.StatusCode == StatusCode.Unknown && e.Status.Detail.Contains("permission denied", StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// Unknown payment hash. Current lnd says NotFound; older releases answered ErrInvoiceNotFound or
    /// ErrNoInvoicesCreated as status Unknown, with these messages.
    /// </summary>
    public static bool IsNotFound(RpcException e) =>
        e.StatusCode == StatusCode.NotFound
        || (e.StatusCode == StatusCode.Unknown
            && (e.Status.Detail.Contains("unable to locate invoice", StringComparison.Ordinal)
                || e.Status.Detail.Contains("there are no existing invoices", StringComparison.Ordinal)));

    public static PaymentBackendException Map(RpcException e, string operation, Uri address, LndCertificatePin? pin)
    {
        if (IsAuthFailure(e))
        {
            return new PaymentBackendException(
                $"LND refused the macaroon ({e.Status.Detail}) when {operation}; check Payments:Lnd:MacaroonPath "
                + "(or MacaroonHex) and that the macaroon has invoices:read and invoices:write", isTransient: false, e);
        }

        if (Find<AuthenticationException>(e.Status.DebugException) is { } tls)
        {
            // lnd regenerates tls.cert on expiry or an IP change, so a broken pin can heal: transient.
            return pin is { LastRefusedThumbprint: { } presented }
                ? new PaymentBackendException(
                    $"LND's TLS certificate does not match the pinned certificate: {address} presented SHA-256 {presented}, "
                    + $"pinned {pin.PinnedThumbprint}. If LND regenerated tls.cert, update Payments:Lnd:TlsCertPath", isTransient: true, e)
                : new PaymentBackendException(
                    $"cannot reach LND at {address}: TLS failed ({tls.Message}); to trust LND's self-signed certificate set "
                    + "Payments:Lnd:TlsCertPath to its tls.cert", isTransient: true, e);
        }

        return e.StatusCode switch
        {
            // A transport failure carries the HttpRequestException/SocketException that says what went wrong.
            StatusCode.Unavailable or StatusCode.Internal when e.Status.DebugException is not null =>
                new PaymentBackendException($"cannot reach LND at {address}: {Innermost(e.Status.DebugException).Message}", isTransient: true, e),
            StatusCode.Unavailable or StatusCode.DeadlineExceeded or StatusCode.ResourceExhausted or StatusCode.Aborted
                or StatusCode.Cancelled or StatusCode.Internal =>
                new PaymentBackendException($"LND at {address} is unavailable ({e.StatusCode}: {e.Status.Detail}) when {operation}", isTransient: true, e),
            // lnd's plain errors arrive as Unknown; those a node recovers from ("wallet locked, unlock it…", "the RPC
            // server is in the process of starting up…", "invoice registry shutting down") are the common ones.
            StatusCode.Unknown =>
                new PaymentBackendException($"LND failed when {operation}: {e.Status.Detail}", isTransient: true, e),
            _ => new PaymentBackendException($"LND rejected the request when {operation}: {e.StatusCode}: {e.Status.Detail}", isTransient: false, e),
        };
    }

    private static T? Find<T>(Exception? e) where T : Exception
    {
        for (; e is not null; e = e.InnerException)
        {
            if (e is T found)
                return found;
        }
        return null;
    }

    private static Exception Innermost(Exception e)
    {
        while (e.InnerException is not null)
            e = e.InnerException;
        return e;
    }
}
