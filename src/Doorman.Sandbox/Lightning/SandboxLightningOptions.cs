using Doorman.Payments.Bolt11;

namespace Doorman.Sandbox.Lightning;

public sealed class SandboxLightningOptions
{
    /// <summary>Clock for invoice timestamps and the expiry watcher; tests pass a FakeTimeProvider.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Port on 127.0.0.1; 0 picks a free one.</summary>
    public int Port { get; set; }

    public ILoggerFactory? LoggerFactory { get; set; }

    /// <summary>
    /// Test hook: rewrites each invoice's BOLT11 content before the node signs it, to play a buggy or compromised
    /// node (e.g. <c>d => d with { AmountMsat = d.AmountMsat + 1000 }</c>). The stored invoice keeps what was asked.
    /// </summary>
    public Func<Bolt11InvoiceDraft, Bolt11InvoiceDraft>? TamperWithInvoices { get; set; }

    /// <summary>
    /// Real lnd answers macaroon failures ("expected 1 macaroon, got 0", "permission denied", "verification failed…")
    /// with gRPC status Unknown: its macaroon service returns plain Go errors (rpcperms/interceptor.go checkMacaroon,
    /// macaroons/service.go ValidateMacaroon). By default the sandbox uses the clearer Unauthenticated and
    /// PermissionDenied with the same messages; set this to get lnd's exact status.
    /// </summary>
    public bool AuthFailuresAsUnknown { get; set; }
}
