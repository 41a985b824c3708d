using System.Security.Cryptography;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Doorman.Sandbox.Lightning;

/// <summary>
/// The node's two macaroons and what each may do. These are random bytes compared for equality, not real
/// macaroons (no HMAC chain, caveats or root keys): enough to exercise a client's handling of the header and
/// of refusals, which is all Doorman's tests need.
/// </summary>
internal sealed class SandboxMacaroons(byte[] admin, byte[] invoice, bool failuresAsUnknown)
{
    /// <summary>rpcserver.go MainRPCServerPermissions for the calls we serve.</summary>
    private static readonly Dictionary<string, string> RequiredPermission = new(StringComparer.Ordinal)
    {
        ["/lnrpc.Lightning/GetInfo"] = "info:read",
        ["/lnrpc.Lightning/AddInvoice"] = "invoices:write",
        ["/lnrpc.Lightning/LookupInvoice"] = "invoices:read",
        ["/lnrpc.Lightning/ListInvoices"] = "invoices:read",
        ["/lnrpc.Lightning/SubscribeInvoices"] = "invoices:read",
    };

    /// <summary>lnd's invoice.macaroon (lnd.go invoicePermissions) minus what we do not serve: no info:read.</summary>
    private static readonly HashSet<string> InvoicePermissions = ["invoices:read", "invoices:write", "address:read", "address:write", "onchain:read"];

    public byte[] Admin { get; } = admin;
    public byte[] Invoice { get; } = invoice;

    /// <summary>Throws the RpcException lnd's macaroon check would, or returns when the call is allowed.</summary>
    public void Check(ServerCallContext context)
    {
        // macaroons/service.go ValidateMacaroon and rpcperms/interceptor.go checkMacaroon, message for message.
        var values = context.RequestHeaders.Where(h => h.Key == "macaroon" && !h.IsBinary).ToList();
        if (values.Count != 1)
            throw Refused(StatusCode.Unauthenticated, $"expected 1 macaroon, got {values.Count}");
        byte[] presented;
        try
        {
            presented = Convert.FromHexString(values[0].Value);
        }
        catch (FormatException)
        {
            throw Refused(StatusCode.Unauthenticated, "encoding/hex: invalid byte in macaroon");
        }
        if (!RequiredPermission.TryGetValue(context.Method, out var permission))
            throw Refused(StatusCode.PermissionDenied, $"{context.Method}: unknown permissions required for method");

        if (CryptographicOperations.FixedTimeEquals(presented, Admin))
            return;
        if (CryptographicOperations.FixedTimeEquals(presented, Invoice))
        {
            if (InvoicePermissions.Contains(permission))
                return;
            throw Refused(StatusCode.PermissionDenied, "permission denied");
        }
        throw Refused(StatusCode.Unauthenticated, "verification failed: signature mismatch after caveat verification");
    }

    private RpcException Refused(StatusCode code, string message) =>
        new(new Status(failuresAsUnknown ? StatusCode.Unknown : code, message));
}

/// <summary>Runs the macaroon check before every call, as lnd's interceptor chain does.</summary>
internal sealed class SandboxMacaroonInterceptor(SandboxMacaroons macaroons) : Interceptor
{
    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        macaroons.Check(context);
        return continuation(request, context);
    }

    public override Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        macaroons.Check(context);
        return continuation(request, responseStream, context);
    }
}
