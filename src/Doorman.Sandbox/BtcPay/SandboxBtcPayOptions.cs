using Doorman.Payments.Bolt11;

namespace Doorman.Sandbox.BtcPay;

/// <summary>How a <see cref="SandboxBtcPayServer"/> is started.</summary>
public sealed class SandboxBtcPayOptions
{
    /// <summary>Clock for invoice times, auto-expiry and webhook retry waits; tests pass a FakeTimeProvider.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Port on 127.0.0.1; 0 picks a free one.</summary>
    public int Port { get; set; }

    public ILoggerFactory? LoggerFactory { get; set; }

    /// <summary>The first store's name (BTCPay puts it in each Lightning invoice's description).</summary>
    public string StoreName { get; set; } = "Doorman sandbox store";

    /// <summary>
    /// Waits before each automatic redelivery of a failed webhook delivery. BTCPay's WebhookSender: 10 s, 1 min, then
    /// 6 × 10 min. Tests shorten it.
    /// </summary>
    public IReadOnlyList<TimeSpan> RedeliverySchedule { get; set; } =
    [
        TimeSpan.FromSeconds(10), TimeSpan.FromMinutes(1),
        TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(10),
        TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(10),
    ];

    /// <summary>
    /// Plays a server that leaves Lightning unactivated (empty destination) until <c>…/activate</c> is called,
    /// whatever the request's <c>lazyPaymentMethods</c> says (payments.md B3).
    /// </summary>
    public bool ForceLazyPaymentMethods { get; set; }

    /// <summary>
    /// Plays BTCPay 1.x: payment methods come as <c>{paymentMethod: "BTC-LightningNetwork", cryptoCode, networkFee}</c>
    /// instead of <c>{paymentMethodId: "BTC-LN", currency, paymentMethodFee}</c> (payments.md B4). Not valid against
    /// the v2.4.1 document, by design.
    /// </summary>
    public bool LegacyPaymentMethods { get; set; }

    /// <summary>
    /// Test hook: rewrites each Lightning invoice's content before it is signed, to play a buggy or compromised
    /// server (e.g. a different amount). The BTCPay invoice keeps what was asked.
    /// </summary>
    public Func<Bolt11InvoiceDraft, Bolt11InvoiceDraft>? TamperWithInvoices { get; set; }
}
